// Helpers shared by the bench servers. Each server is a child process of bench/run.mjs: it listens
// on 127.0.0.1 with a random port, reports it over IPC, and exits when the parent goes away.
import 'reflect-metadata';

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

/** Tells bench/run.mjs which port the server listens on. */
export function ready(httpServer) {
  readyOnPort(httpServer.address().port);
}

export function readyOnPort(port) {
  process.send?.({ ready: true, port });
}

/**
 * Tells bench/run.mjs that this server cannot run on this machine (a package that does not load),
 * and exits: run.mjs skips the server with `reason` as a note.
 */
export function unavailable(reason) {
  if (!process.send) {
    console.error(reason);
    process.exit(1);
  }
  process.send({ unavailable: reason }, () => process.exit(0));
}

/** Reads a JSON request body (node:http servers only; Nest apps use @Body()). */
export function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

/**
 * A node:http handler for the bench's publish API:
 *   POST /publish        {"channel","event","data"}
 *   POST /publish/batch  {"events":[{"channel","event","data"}, …]}
 * `publish(channel, event, data)` does the delivery.
 */
export function publishHandler(publish) {
  return async (req, res) => {
    if (req.method !== 'POST' || (req.url !== '/publish' && req.url !== '/publish/batch')) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readJson(req);
      const events = req.url === '/publish' ? [body] : body.events;
      for (const e of events) publish(e.channel, e.event, e.data);
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  };
}

/** Applies decorators from plain JavaScript (no decorator syntax in Node 20). */
export function decorateClass(cls, ...decorators) {
  Reflect.decorate(decorators, cls);
}

export function decorateMethod(cls, name, ...decorators) {
  const proto = cls.prototype;
  const desc = Reflect.decorate(decorators, proto, name, Object.getOwnPropertyDescriptor(proto, name));
  Object.defineProperty(proto, name, desc);
}

/** A parameter decorator bound to its position, for decorateMethod / constructor injection. */
export const param = (index, decorator) => (target, key) => decorator(target, key, index);
