/**
 * What the webhook specs (test/unit/webhooks/) drive the senders with: a receiver on loopback that
 * holds each request until the test answers it (or answers by itself), and the Nest log lines with
 * their level and context. Both work under jest's fake timers: waits are for events (a request
 * arriving, a line logged), never for time, and only fail, with what was awaited, when the event has
 * not come in 10 s of real time (a broken sender, not a slow machine: the events take milliseconds).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import type { WebhookEvent } from '../../lib/config/webhook-events.js';

/** One request a receiver got, waiting for the test's answer (unless the receiver answers itself). */
export interface HeldRequest {
  headers: IncomingHttpHeaders;
  /** The raw body. */
  body: string;
  events: WebhookEvent[];
  /** Answers with this status. */
  answer(status: number): void;
  /** Closes the connection without an answer (a receiver that goes away). */
  hangUp(): void;
}

/** The real clock's timers, taken before a spec installs jest's fake ones. */
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
const GIVE_UP_MS = 10_000;

/** Resolves waiters once their condition holds, checked each time something happens. */
class Waiters {
  private readonly list: Array<{ holds: () => boolean; resolve: () => void }> = [];

  wait(holds: () => boolean, what: string): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = realSetTimeout(() => {
        this.list.splice(this.list.indexOf(waiter), 1);
        reject(new Error(`waited ${GIVE_UP_MS} ms for ${what}`));
      }, GIVE_UP_MS);
      timer.unref();
      const waiter = {
        holds,
        resolve: () => {
          realClearTimeout(timer);
          resolve();
        },
      };
      this.list.push(waiter);
    });
  }

  check(): void {
    for (const w of [...this.list]) {
      if (!w.holds()) continue;
      this.list.splice(this.list.indexOf(w), 1);
      w.resolve();
    }
  }
}

/**
 * A webhook receiver on loopback that records every request in arrival order. With `status` it
 * answers each at once with it; without, each waits for `answer` or `hangUp` (or `answerAll`).
 */
export async function heldReceiver(status?: number) {
  let auto = status;
  const requests: HeldRequest[] = [];
  const answered = new WeakSet<HeldRequest>();
  const waiters = new Waiters();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const request: HeldRequest = {
        headers: req.headers,
        body,
        events: (JSON.parse(body) as { events: WebhookEvent[] }).events,
        answer: (s) => {
          answered.add(request);
          res.writeHead(s).end();
        },
        hangUp: () => {
          answered.add(request);
          req.socket.destroy();
        },
      };
      requests.push(request);
      if (auto !== undefined) request.answer(auto);
      waiters.check();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    host: `127.0.0.1:${port}`,
    requests,
    /** The n-th request (from 1), once it has arrived. */
    async request(n: number): Promise<HeldRequest> {
      await waiters.wait(() => requests.length >= n, `request ${n} (${requests.length} arrived)`);
      return requests[n - 1];
    },
    /** Answers what it holds with `s`, and from now on every request at once. */
    answerAll(s = 200): void {
      auto = s;
      for (const r of requests) if (!answered.has(r)) r.answer(s);
    },
    /** Every event received so far, in arrival order. */
    events: () => requests.flatMap((r) => r.events),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  /** The Logger's context (its last argument). */
  context: unknown;
}

/** Collects what Nest's Logger is given from now on in this spec file (Logger.overrideLogger). */
export function collectLogs() {
  const lines: LogLine[] = [];
  const waiters = new Waiters();
  const record =
    (level: LogLine['level']) =>
    (message: unknown, ...params: unknown[]) => {
      lines.push({ level, message: String(message), context: params.at(-1) });
      waiters.check();
    };
  Logger.overrideLogger({
    log: record('log'),
    error: record('error'),
    warn: record('warn'),
    debug: record('debug'),
    verbose: record('verbose'),
    fatal: record('fatal'),
  });
  const matching = (pattern: RegExp) => lines.filter((l) => pattern.test(l.message)).length;
  return {
    lines,
    /** `[level, message]` of every line, the shape most assertions want. */
    messages: () => lines.map((l) => [l.level, l.message]),
    /** Resolves once `count` lines in all match `pattern`. */
    waitFor: (pattern: RegExp, count = 1) =>
      waiters.wait(
        () => matching(pattern) >= count,
        `${count} line(s) matching ${pattern} (${matching(pattern)} so far)`,
      ),
    clear: () => {
      lines.length = 0;
    },
  };
}
