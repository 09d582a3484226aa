import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Client, ConnectionState, SharedFrame } from '../core/client.js';
import type { TransportHost } from '../gateway/transport-host.js';
import { type Corkable, corkForTurn } from '../gateway/turn-flush.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';
import type { StreamPosition } from '../port/stream.js';
import { nativeCodec } from '../protocols/native.codec.js';
import { idLine, SSE_HEARTBEAT, sseClosed, sseMessage } from './sse-frames.js';

/** How long a stream's reader has to take its last message before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** Shared by every stream of the transport (see gateway/transport-host.ts). */
export type SseHost = TransportHost<SseConnection>;

/**
 * One Server-Sent Events stream: the native protocol's frames as SSE messages, written straight to
 * the response's socket (the body is delimited by the connection's close: no chunked framing), in
 * the same corked turns as WebSocket frames. Shared frames are made into SSE bytes once per event.
 */
export class SseConnection implements Client, BroadcastClient, Corkable {
  readonly codec = nativeCodec;
  readonly channels = new Set<string>();
  userId: string | undefined = undefined;
  readonly eventRate = { start: 0, count: 0 };
  readonly subscribeTokens = { tokens: 0, at: 0 };
  state?: ConnectionState;
  queue?: Promise<void>;
  gates?: Client['gates'];
  inTurn = false;
  corked = false;
  /** Something was written since the last heartbeat check. */
  wrote = false;
  /** The close code the server decided on; undefined while it has not closed the stream. */
  closedWith?: number;
  /** The last position delivered on each recovery channel: the `id:` line. */
  private positions?: Map<string, StreamPosition>;
  /** A position changed since the last `id:` line. */
  private idChanged = false;
  private readonly token: Buffer;

  constructor(
    readonly id: string,
    token: string,
    readonly socket: Socket,
    readonly remoteAddress: string | undefined,
    private readonly host: SseHost,
    /** Positions from the stream's `Last-Event-ID`: where its channels resume (once each). */
    private readonly resume?: Map<string, StreamPosition>,
  ) {
    this.token = Buffer.from(token);
  }

  get protocol(): 'native' {
    return 'native';
  }

  get transport(): 'sse' {
    return 'sse';
  }

  /** Whether `token` is this stream's command token (constant time for a token of the right length). */
  holds(token: string): boolean {
    const given = Buffer.from(token);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  emit(event: string, data?: unknown): void {
    this.send(nativeCodec.encode({ kind: 'event', event, json: JSON.stringify(data) ?? 'null' }));
  }

  /** A frame for this client only (replies, errors). */
  send(text: string): void {
    if (!this.writable()) return;
    this.wrote = true;
    this.socket.write(this.idChanged ? this.idLine() + sseMessage(text) : sseMessage(text));
  }

  /** A frame shared by every recipient of one delivery: its SSE bytes are made once. */
  write(frame: SharedFrame): void {
    if (!this.writable()) return;
    this.wrote = true;
    const m = frame.message;
    if (m?.position !== undefined && m.channel !== undefined) this.positioned(m.channel, m.position);
    if (this.idChanged) this.socket.write(this.idLine());
    if (frame.sse === undefined) frame.sse = Buffer.from(sseMessage(frame.text));
    this.socket.write(frame.sse);
  }

  /** A heartbeat comment, when nothing was written since the last check. */
  beat(): void {
    if (!this.wrote && this.writable()) this.socket.write(SSE_HEARTBEAT);
    this.wrote = false;
  }

  resumeAt(channel: string): StreamPosition | undefined {
    const p = this.resume?.get(channel);
    if (p !== undefined) this.resume?.delete(channel);
    return p;
  }

  positioned(channel: string, position: StreamPosition): void {
    if (this.positions === undefined) this.positions = new Map();
    this.positions.set(channel, position);
    this.idChanged = true;
  }

  /** The `id:` line for what changed: only channels this stream is still subscribed to. */
  private idLine(): string {
    this.idChanged = false;
    const positions = this.positions as Map<string, StreamPosition>;
    for (const channel of positions.keys()) if (!this.channels.has(channel)) positions.delete(channel);
    return idLine(positions);
  }

  /** Corked for this turn and under the backlog limit, and the stream not ended. */
  private writable(): boolean {
    return this.closedWith === undefined && !this.socket.destroyed && corkForTurn(this, this.socket);
  }

  checkBacklog(bytes: number): boolean {
    const max = this.host.maxBufferedBytes;
    if (max <= 0 || bytes <= max || this.closedWith !== undefined) return false;
    this.host.onSlow(this);
    return true;
  }

  overBacklog(): boolean {
    return this.checkBacklog(this.socket.writableLength);
  }

  /** App code closing the connection (BroadcastClient): the server's decision, like any other. */
  close(code = 1000, reason = ''): void {
    this.host.close(this, code, reason);
  }

  /**
   * The last message says why the stream ends (what a WebSocket's close frame says), then the
   * response ends; a reader that does not take it (a stalled one) is cut off a second later.
   */
  end(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    const socket = this.socket;
    const max = this.host.maxBufferedBytes;
    if (!socket.destroyed && (max <= 0 || socket.writableLength <= max)) {
      socket.write(sseMessage(sseClosed(code, reason)));
    }
    this.closedWith = code;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}
