import type { ChannelGate, Client, Codec, ConnectionState, SharedFrame } from '../../lib/core/client.js';
import type { StreamPosition } from '../../lib/port/stream.js';
import { nativeCodec } from '../../lib/protocols/native.codec.js';

/** A Client without a socket: records what the hub and the protocol handlers send it. */
export class FakeClient implements Client {
  readonly channels = new Set<string>();
  userId: string | undefined;
  readonly eventRate = { start: 0, count: 0 };
  readonly subscribeTokens = { tokens: 0, at: 0 };
  /** Set by the hub (the Client interface's own fields, declared here so tests can read them). */
  state?: ConnectionState;
  queue?: Promise<void>;
  gates?: Map<string, ChannelGate>;
  readonly written: SharedFrame[] = [];
  readonly sent: string[] = [];
  /** Binary frames (native `sendRaw` with bytes). */
  readonly binary: Buffer[] = [];
  /** Every close the server asked for, in order (the hub must ask once). */
  readonly ends: Array<{ code: number; reason: string }> = [];
  constructor(
    readonly id: string,
    readonly codec: Codec = nativeCodec,
  ) {}
  send(text: string) {
    // As a socket refuses it (and jest's toEqual would not see an undefined item in `sent`).
    if (typeof text !== 'string') throw new TypeError(`send(${String(text)}): a frame is a string`);
    this.sent.push(text);
  }
  write(frame: SharedFrame) {
    this.written.push(frame);
  }
  sendBinary(data: Buffer) {
    this.binary.push(data);
  }
  /** An SSE stream's resume point (Last-Event-ID), when a test acts as one. */
  resumeAt?: (channel: string) => StreamPosition | undefined;
  /** Told each recovery channel's position (SSE keeps it for its event ids), when a test listens. */
  positioned?: (channel: string, position: StreamPosition) => void;
  /** Whether the transport is over its backlog (a test sets it to act as a slow reader). */
  overBacklog?: () => boolean;
  /** The close the server decided, if any. */
  ended?: { code: number; reason: string };
  end(code: number, reason: string) {
    this.ended = { code, reason };
    this.ends.push({ code, reason });
  }
}
