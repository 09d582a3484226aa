import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Client, Codec, ConnectionState, SharedFrame } from '../core/client.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';
import { continues, runBytes } from './frame-run.js';
import type { TransportHost } from './transport-host.js';
import { type Corkable, corkForTurn, enlist } from './turn-flush.js';
import { senderBusy } from './ws-internals.js';

const OPEN = 1;

/** How long a closing peer has to answer the close frame. */
const CLOSE_GRACE_MS = 1000;

/** Shared by every connection of the gateway (see transport-host.ts). */
export type ConnectionHost = TransportHost<Connection>;

/** One WebSocket client, as the hub, the protocols and app hooks see it. The only socket code is here. */
export class Connection implements Client, BroadcastClient, Corkable {
  readonly channels = new Set<string>();
  /** Set by native sign-in or Pusher sign-in. */
  userId: string | undefined = undefined;
  readonly eventRate = { start: 0, count: 0 };
  readonly subscribeTokens = { tokens: 0, at: 0 };
  state?: ConnectionState;
  queue?: Promise<void>;
  gates?: Client['gates'];
  /** Milliseconds timestamp of the last inbound frame or pong. */
  lastSeen = Date.now();
  inTurn = false;
  corked = false;
  /** Shared frames of this turn not written yet: a run of `held` linked frames from `head` (frame-run.ts). */
  private head: SharedFrame | undefined = undefined;
  private tail: SharedFrame | undefined = undefined;
  private held = 0;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly codec: Codec,
    /** Raw socket for shared frames; undefined when frames cannot be shared (compression). */
    readonly socket: Socket | undefined,
    readonly remoteAddress: string | undefined,
    private readonly host: ConnectionHost,
  ) {}

  get transport(): 'websocket' {
    return 'websocket';
  }

  get protocol(): 'native' | 'pusher' {
    return this.codec.name;
  }

  emit(event: string, data?: unknown): void {
    this.send(this.codec.encode({ kind: 'event', event, json: JSON.stringify(data) ?? 'null' }));
  }

  sendBinary(data: Buffer): void {
    this.own(data, true);
  }

  /** A frame for this client only (replies, errors): corked with the turn's other writes. */
  send(text: string): void {
    this.own(text, false);
  }

  /** A frame of this connection's own, framed by ws: after the shared frames held before it. */
  private own(data: string | Buffer, binary: boolean): void {
    if (this.ws.readyState !== OPEN) return;
    const socket = this.socket;
    if (socket === undefined) {
      this.ws.send(data, { binary });
      this.checkBacklog(this.ws.bufferedAmount);
    } else if (corkForTurn(this, socket)) {
      this.release();
      this.ws.send(data, { binary });
    }
  }

  /**
   * Unsent bytes, measured on the socket itself (shared frames bypass ws's own counters). Past the
   * limit the gateway closes the connection: a slow reader must not grow the server's memory.
   * True when it is over.
   */
  checkBacklog(bytes: number): boolean {
    const max = this.host.maxBufferedBytes;
    if (max <= 0 || bytes <= max || this.ws.readyState !== OPEN) return false;
    this.host.onSlow(this);
    return true;
  }

  /**
   * A frame shared by every recipient of one delivery. It is held until the end of the turn (or the
   * next frame of this connection's own), joined with the shared frames that follow it here: a
   * connection that got only a channel's events in a turn gets them in one write of one Buffer, the
   * same Buffer as every other subscriber of that channel.
   */
  write(frame: SharedFrame): void {
    if (this.ws.readyState !== OPEN) return;
    const socket = this.socket;
    if (socket === undefined || senderBusy(this.ws)) {
      this.send(frame.text);
      return;
    }
    if (!enlist(this, socket)) return;
    const tail = this.tail;
    if (tail !== undefined) {
      if (continues(tail, frame)) {
        this.tail = frame;
        this.held++;
        return;
      }
      // Left out of the run (an event it did not get): what it holds goes first, in order.
      if (!corkForTurn(this, socket)) return;
      this.release();
    }
    this.head = frame;
    this.tail = frame;
    this.held = 1;
  }

  /** Writes the held run (the turn's end, or before anything else is written to the socket). */
  release(): void {
    const head = this.head;
    if (head === undefined) return;
    const length = this.held;
    this.head = undefined;
    this.tail = undefined;
    this.held = 0;
    const socket = this.socket;
    if (socket === undefined || this.ws.readyState !== OPEN) return;
    if (senderBusy(this.ws)) {
      let f: SharedFrame | undefined = head;
      for (let i = 0; i < length && f !== undefined; i++, f = f.next) this.ws.send(f.text);
      return;
    }
    socket.write(runBytes(head, length));
  }

  /** Whether the unsent backlog is over maxBufferedBytes (then the connection is being closed as too slow). */
  overBacklog(): boolean {
    return this.checkBacklog(this.socket?.writableLength ?? this.ws.bufferedAmount);
  }

  /** App code closing the connection (BroadcastClient): the server's decision, like any other. */
  close(code = 1000, reason = ''): void {
    this.host.close(this, code, reason);
  }

  /**
   * Sends the close frame; a peer that does not answer it (a stalled reader never reads it) is
   * terminated a second later.
   */
  end(code: number, reason: string): void {
    if (this.ws.readyState !== OPEN && this.ws.readyState !== 0) return;
    this.release(); // what it got before the close, then the close frame
    this.ws.close(code, reason && closeReason(reason));
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455 §5.5): longer ones are cut, never thrown on. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 123);
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  return cut;
}
