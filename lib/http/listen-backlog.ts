import type { Server } from 'node:net';
import { Logger } from '@nestjs/common';

/** Marks a server whose `listen` passes the configured backlog (set once, however often setup runs). */
const WRAPPED = Symbol('nestjs-broadcasting.backlog');

type Listen = (...args: unknown[]) => unknown;

/**
 * The arguments of a `server.listen(...)` call with `backlog` added, or undefined when the caller
 * gave one (an options object's `backlog`, or a number after the port, path or handle). Every form
 * of `net.Server#listen` keeps its meaning:
 * - `(options[, cb])` with `port` or `path`: `backlog` goes into a copy of the options;
 * - `(handle[, cb])`, `({ fd }[, cb])`: `(handle, backlog[, cb])`;
 * - `(port, host[, cb])`: `(port, host, backlog[, cb])`;
 * - `(port[, cb])`, `(path[, cb])`, `([cb])`: `(port, backlog[, cb])`.
 */
export function listenArgsWithBacklog(args: readonly unknown[], backlog: number): unknown[] | undefined {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? [last] : [];
  const rest = cb.length > 0 ? args.slice(0, -1) : [...args];
  const first = rest[0];
  if (first !== null && typeof first === 'object') {
    const o = first as Record<string, unknown>;
    if (o.backlog !== undefined || typeof rest[1] === 'number') return undefined;
    if (o.port !== undefined || o.path !== undefined) return [{ ...o, backlog }, ...cb];
    return [first, backlog, ...cb];
  }
  if (rest.slice(1).some((a) => typeof a === 'number')) return undefined;
  if (typeof rest[1] === 'string') return [first, rest[1], backlog, ...cb];
  return [first, backlog, ...cb];
}

/**
 * Makes `server` listen with `backlog` (the kernel's accept queue: connections the kernel has
 * accepted and the process has not picked up yet; Node's default is 511, and the kernel caps it at
 * `net.core.somaxconn`) when its `listen` is called without one — as Nest's `app.listen(port)`
 * does. A backlog the caller passes wins. 0 leaves `listen` as it is. A server that listens
 * already keeps its queue: logged.
 */
export function applyListenBacklog(server: Server, backlog: number, logger = new Logger('Broadcast')): void {
  if (backlog <= 0) return;
  if (server.listening) {
    logger.warn(
      `backlog ${backlog} not applied: the HTTP server listens already (call setupBroadcasting(app) before app.listen())`,
    );
    return;
  }
  const s = server as unknown as { [WRAPPED]?: true; listen: Listen };
  if (s[WRAPPED]) return;
  s[WRAPPED] = true;
  const listen = s.listen;
  s.listen = function listenWithBacklog(this: unknown, ...args: unknown[]) {
    return listen.apply(this, listenArgsWithBacklog(args, backlog) ?? args);
  };
}
