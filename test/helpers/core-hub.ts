import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import type { BroadcastModuleOptions } from '../../lib/config/options.interface.js';
import { resolveBroadcastOptions } from '../../lib/config/resolve-options.js';
import type { WebhookEvent } from '../../lib/config/webhook-events.js';
import { BroadcastHub } from '../../lib/core/broadcast-hub.js';
import type { Client, Codec } from '../../lib/core/client.js';
import { signChannel, signUser } from '../../lib/crypto/signature.js';
import { LocalDriver } from '../../lib/drivers/local.driver.js';
import { type AuthFailureSource, BroadcastMetrics, type MetricsProtocol } from '../../lib/metrics/broadcast-metrics.js';
import type { BroadcastDriver, DriverNode } from '../../lib/port/driver.interface.js';
import { handleNativeFrame } from '../../lib/protocols/native.handler.js';
import { handlePusherFrame } from '../../lib/protocols/pusher.handler.js';
import { Webhooks } from '../../lib/webhooks/webhooks.js';
import { FakeClient } from './fake-client.js';

/** The development credentials resolveBroadcastOptions falls back to (tokens are signed with them). */
export const KEY = 'app-key';
export const SECRET = 'app-secret';

/** The local driver, keeping the node it is attached to (to act as a cluster driver would). */
export class NodeCapture extends LocalDriver {
  attached?: DriverNode;
  override attach(node: DriverNode): void {
    super.attach(node);
    this.attached = node;
  }
}

/**
 * A BroadcastHub on the socket-free Client seam: the local driver (unless `driver` is given), options
 * resolved as the module resolves them, FakeClients, and frames fed to the real protocol handlers.
 */
export function coreHub(
  options: BroadcastModuleOptions = {},
  { driver, webhooks, metrics }: { driver?: BroadcastDriver; webhooks?: Webhooks; metrics?: BroadcastMetrics } = {},
) {
  const resolved = resolveBroadcastOptions(options, { nodeEnv: 'test' });
  const d = driver ?? new NodeCapture();
  const hub = new BroadcastHub(resolved, d, webhooks, metrics);
  const connect = (id: string, codec?: Codec, gated = false) => {
    const c = new FakeClient(id, codec);
    hub.connect(c, gated);
    return c;
  };
  return {
    hub,
    driver: d,
    options: resolved,
    connect,
    /** The DriverNode the hub attached to its (capturing) driver. */
    node: () => (d as NodeCapture).attached as DriverNode,
    /** One native frame, handled as the gateway hands it over (without the connection's queue). */
    native: (c: FakeClient, frame: Record<string, unknown>) => handleNativeFrame(hub, c, JSON.stringify(frame)),
    /** One Pusher frame, likewise. */
    pusher: (c: FakeClient, frame: Record<string, unknown>) => handlePusherFrame(hub, c, JSON.stringify(frame)),
  };
}

/** Metrics that record what the protocol handlers and the hub report, as `kind:detail` lines. */
export class RecordingMetrics extends BroadcastMetrics {
  readonly calls: string[] = [];
  override messageIn(protocol: MetricsProtocol): void {
    this.calls.push(`in:${protocol}`);
  }
  override subscription(r: { readonly ok: boolean; readonly channel: string; readonly status?: number }): void {
    this.calls.push(`subscription:${r.channel}:${r.ok ? 'ok' : r.status}`);
  }
  override authFailure(source: AuthFailureSource): void {
    this.calls.push(`authFailure:${source}`);
  }
}

/**
 * A hub for a protocol handler's spec: client events allowed, metrics recorded, every client on
 * `codec`, and a first client `a`. `text(t, c)` hands the raw text frame `t` of `c` (default: a) to
 * the codec's handler, as the gateway does.
 */
export function protocolHub(codec: Codec, options: BroadcastModuleOptions = {}) {
  const metrics = new RecordingMetrics();
  const h = coreHub({ allowClientEvents: true, ...options }, { metrics });
  const connect = (id: string) => h.connect(id, codec);
  const a = connect('1.1');
  const handle = codec.name === 'pusher' ? handlePusherFrame : handleNativeFrame;
  const text = (t: string, c: FakeClient = a) => handle(h.hub, c, t);
  return { ...h, connect, metrics, a, text };
}

/** A channel token for `socketId` as the auth endpoint signs it. */
export const channelAuth = (socketId: string, channel: string, channelData?: string) =>
  signChannel(KEY, SECRET, socketId, channel, channelData);

/** `auth` and `channel_data` of a presence subscribe for `userId`. */
export function presenceAuth(socketId: string, channel: string, userId: string, info: unknown = null) {
  const channel_data = JSON.stringify({ user_id: userId, user_info: info });
  return { auth: channelAuth(socketId, channel, channel_data), channel_data };
}

/** `auth` and `user_data` of a sign-in as `userId`. */
export function signInAuth(socketId: string, userId: string) {
  const user_data = JSON.stringify({ id: userId });
  return { auth: signUser(KEY, SECRET, socketId, user_data), user_data };
}

type Frame = Record<string, unknown>;

/** Frames sent to the client alone (replies, errors, replays), parsed. */
export const sentFrames = (c: FakeClient): Frame[] => c.sent.map((t) => JSON.parse(t) as Frame);

/** Shared frames written by a fan-out (channel events, member events, direct sends), parsed. */
export const writtenFrames = (c: FakeClient): Frame[] => c.written.map((f) => JSON.parse(f.text) as Frame);

/** A promise and its resolver: an operation the test lets finish when it wants. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One turn of the event loop (lets promise chains and setImmediate work run; not a sleep). */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once every operation queued on the connection so far has run (and the queue is forgotten). */
export async function drained(hub: BroadcastHub, c: Client): Promise<void> {
  await new Promise<void>((resolve) => hub.enqueue(c, () => resolve()));
  await nextTurn();
}

/**
 * The real Webhooks, recording each event it is asked to emit (Webhooks itself merges a repeated
 * delayed vacated/removed, so what arrives cannot tell whether the core reported a fact twice).
 */
export class RecordingWebhooks extends Webhooks {
  readonly emitted: WebhookEvent[] = [];
  override emit(event: WebhookEvent): void {
    this.emitted.push(event);
    super.emit(event);
  }
}

/**
 * The real Webhooks (recording), posting to a real HTTP receiver on loopback. `received()` sends what
 * is batched or delayed (Webhooks.close), waits for it to arrive, closes the receiver, and returns
 * every event received — so a test asserts exactly what was sent, without waiting for a timer.
 */
export async function webhooksToReceiver(options: BroadcastModuleOptions = {}) {
  const receiver = await bodyReceiver();
  const resolved = resolveBroadcastOptions(
    { ...options, webhooks: { ...options.webhooks, urls: [receiver.url] } },
    { nodeEnv: 'test' },
  );
  const webhooks = new RecordingWebhooks(resolved);
  const received = async (): Promise<WebhookEvent[]> => {
    await webhooks.close();
    await receiver.close();
    return receiver.bodies.flatMap(({ rawBody }) => (JSON.parse(rawBody) as { events: WebhookEvent[] }).events);
  };
  return { webhooks, received, receiver, options: resolved };
}

/**
 * A webhook receiver on loopback that records every body (with its headers) and answers 200 — like
 * test/helpers/webhooks.ts, without the Pusher client libraries that helper's Inbox comes with.
 */
async function bodyReceiver() {
  const bodies: Array<{ headers: http.IncomingHttpHeaders; rawBody: string }> = [];
  const server = http.createServer((req, res) => {
    let rawBody = '';
    req.on('data', (chunk) => {
      rawBody += chunk;
    });
    req.on('end', () => {
      bodies.push({ headers: req.headers, rawBody });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url, bodies, close };
}

/**
 * Routes the Nest logger of this test file to a list (the hub logs what it survives): returns the
 * lines, so a test can assert what was logged and the run stays quiet. With `context`, each line is
 * `[context] message` (the Logger's context, its last argument, is what users filter logs by).
 */
export function captureLogs({ context = false }: { context?: boolean } = {}): string[] {
  const lines: string[] = [];
  const push = (message: unknown, ...rest: unknown[]) => {
    lines.push(context ? `[${String(rest.at(-1))}] ${String(message)}` : String(message));
  };
  Logger.overrideLogger({ log: push, error: push, warn: push, debug: push, verbose: push, fatal: push });
  return lines;
}
