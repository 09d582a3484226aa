import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** A frame the server sent: a text message, or its close frame. */
export type RawFrame = { text: string } | { close: number; reason: string };

/**
 * A WebSocket client over a plain TCP socket, for what a well-behaved library never does: several
 * frames in one write, frames written after the server's close frame, a peer that stops reading.
 * It answers nothing by itself (no pong, no close reply).
 */
export class RawWebSocket {
  readonly frames: RawFrame[] = [];
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  /** Resolves when the TCP connection is gone. */
  readonly gone: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.gone = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** Opens `ws://host:port{path}` and completes the handshake. */
  static async connect(url: string): Promise<RawWebSocket> {
    const u = new URL(url);
    const socket = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) reject(new Error(`handshake refused: ${status}`));
        else resolve(head.subarray(end + 4));
      };
      socket.on('data', onData);
    });
    const ws = new RawWebSocket(socket);
    socket.on('data', (chunk: Buffer) => ws.read(chunk));
    if (rest.length > 0) ws.read(rest);
    return ws;
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      const opcode = b[0] & 0x0f;
      const payload = b.subarray(at, at + len);
      this.buffer = b.subarray(at + len);
      if (opcode === 1) this.frames.push({ text: payload.toString() });
      else if (opcode === 8) {
        this.frames.push({
          close: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString(),
        });
      }
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Resolves with the first frame received (or to come) that matches. */
  async waitFor(match: (f: RawFrame) => boolean, timeoutMs = 5000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('no matching frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The server's close frame, when it comes. */
  closeFrame(timeoutMs = 5000): Promise<{ close: number; reason: string }> {
    return this.waitFor((f) => 'close' in f, timeoutMs) as Promise<{ close: number; reason: string }>;
  }

  /** Writes these frames (objects are sent as JSON text; `{ close }` as a close frame) in one TCP write. */
  write(...frames: Array<unknown | { close: number }>): void {
    const parts = frames.map((f) =>
      typeof f === 'object' && f !== null && 'close' in f && Object.keys(f).length === 1
        ? frame(8, closePayload((f as { close: number }).close))
        : frame(1, Buffer.from(typeof f === 'string' ? f : JSON.stringify(f))),
    );
    this.socket.write(Buffer.concat(parts));
  }

  /** Stops reading: the server's writes pile up in its buffers (a stalled reader). */
  stopReading(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function closePayload(code: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return b;
}

/** One masked client frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}
