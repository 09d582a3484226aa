// The C++ reference: uWebSockets.js (the npm package `uwebsockets`, a republication of its
// binaries) through its JS API, with its built-in pub/sub: a subscribe is `ws.subscribe(channel)`,
// a publish is `app.publish(channel, text)` (uWS queues what a topic gets and writes each
// subscriber's share at once, in C++). It speaks the raw ws servers' subset of the native
// protocol (connected / subscribe / subscribed / event) and serves the same publish API
// (common.mjs's publishHandler: POST /publish, POST /publish/batch; 204, or 400 on a bad body),
// all on one port, with uWS's own HTTP server.
//
// Where the package does not load (no binary for this platform or Node ABI), it tells run.mjs,
// which skips the server with a note.
import { createRequire } from 'node:module';
import { readyOnPort, unavailable } from './common.mjs';

let uWS;
try {
  // Installed in bench/peers (run.mjs runs npm ci there on first use), not among the devDependencies.
  uWS = createRequire(new URL('../peers/package.json', import.meta.url))('uwebsockets');
} catch (err) {
  // uws.js says which Node versions it has binaries for, then require()'s error and its stack.
  const why = String(err.message ?? err)
    .split('\nRequire stack')[0]
    .replace(/\s+/g, ' ')
    .replace(/\.$/, '')
    .trim();
  unavailable(
    `the package uwebsockets does not load on node ${process.version} (ABI ${process.versions.modules}, ${process.platform} ${process.arch}): ${why}`,
  );
}

if (uWS) {
  let nextId = 1;
  const app = uWS.App();

  const publish = (channel, event, data) => {
    app.publish(
      channel,
      `{"type":"event","event":${JSON.stringify(event)},"channel":${JSON.stringify(channel)},"data":${JSON.stringify(data)}}`,
      false,
    );
  };

  app.ws('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: 16 * 1024,
    // uWS drops what a publish would add to a socket past this (ws buffers without a limit): high
    // enough never to drop in the bench.
    maxBackpressure: 64 * 1024 * 1024,
    open: (ws) => {
      ws.send(`{"type":"connected","socket_id":"1.${nextId++}"}`, false);
    },
    message: (ws, message) => {
      let m;
      try {
        m = JSON.parse(Buffer.from(message).toString());
      } catch {
        return;
      }
      if (m.type !== 'subscribe' || typeof m.channel !== 'string') return;
      ws.subscribe(m.channel);
      ws.send(`{"type":"subscribed","channel":${JSON.stringify(m.channel)}}`, false);
    },
  });

  /** POST /publish {channel, event, data}, POST /publish/batch {events: [...]}, as publishHandler. */
  const publishRoute = (batch) => (res) => {
    let aborted = false;
    const chunks = [];
    res.onAborted(() => {
      aborted = true;
    });
    res.onData((chunk, isLast) => {
      // uWS reuses the chunk's memory after this call: copy all but a body's only chunk.
      if (!isLast) {
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        return;
      }
      if (aborted) return;
      let status = '204 No Content';
      let body;
      try {
        const last = Buffer.from(chunk);
        const json = JSON.parse((chunks.length ? Buffer.concat([...chunks, last]) : last).toString());
        for (const e of batch ? json.events : [json]) publish(e.channel, e.event, e.data);
      } catch (err) {
        status = '400 Bad Request';
        body = String(err);
      }
      res.cork(() => {
        res.writeStatus(status);
        if (body === undefined) res.endWithoutBody();
        else res.end(body);
      });
    });
  };
  app.post('/publish', publishRoute(false));
  app.post('/publish/batch', publishRoute(true));
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  });

  app.listen('127.0.0.1', 0, (listenSocket) => {
    if (!listenSocket) throw new Error('uwebsockets: listen failed');
    readyOnPort(uWS.us_socket_local_port(listenSocket));
  });
}
