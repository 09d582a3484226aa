import type { SharedFrame } from '../core/client.js';

/**
 * Shared frames that follow each other on a connection within one event-loop turn, joined into one
 * Buffer once for every connection that got the same ones (all subscribers of a channel that got a
 * batch of events), so that each socket gets one write of one Buffer instead of a writev of many.
 *
 * The first connection to write frame B right after frame A links them (`A.next = B`); a link, once
 * made, never changes, so a run is named by its first frame and its length, and its bytes are made
 * once per (first frame, length). A connection whose next frame is not the linked one (it was left
 * out of an event: `except`, a gate) ends its run there and starts another. The links live on the
 * frames (SharedFrame.next / joined / joinedLength), which live for the turn.
 */

/** Whether `frame` continues the run that ends at `tail` (and links it if nobody did yet). */
export function continues(tail: SharedFrame, frame: SharedFrame): boolean {
  const next = tail.next;
  if (next === undefined) {
    tail.next = frame;
    return true;
  }
  return next === frame;
}

/** The bytes of the run of `length` frames that starts at `head`: made once, then shared. */
export function runBytes(head: SharedFrame, length: number): Buffer {
  if (length === 1) {
    if (head.bytes === undefined) head.bytes = frameText(head.text);
    return head.bytes;
  }
  if (head.joinedLength === length) return head.joined as Buffer;
  const joined = joinFrames(head, length);
  head.joined = joined;
  head.joinedLength = length;
  return joined;
}

/** Unmasked text frames (RFC 6455 §5.2) of `length` linked frames, written into one Buffer. */
function joinFrames(head: SharedFrame, length: number): Buffer {
  let total = 0;
  let f: SharedFrame | undefined = head;
  for (let i = 0; i < length; i++) {
    const frame = f as SharedFrame;
    if (frame.bytes === undefined) {
      const payload = Buffer.byteLength(frame.text);
      total += headerSize(payload) + payload;
    } else total += frame.bytes.length;
    f = frame.next;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  f = head;
  for (let i = 0; i < length; i++) {
    const frame = f as SharedFrame;
    if (frame.bytes !== undefined) at += frame.bytes.copy(out, at);
    else at = writeFrame(out, at, frame.text, Buffer.byteLength(frame.text));
    f = frame.next;
  }
  return out;
}

/** One unmasked text frame (RFC 6455 §5.2), header and payload in one Buffer. */
export function frameText(text: string): Buffer {
  const payload = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(headerSize(payload) + payload);
  writeFrame(out, 0, text, payload);
  return out;
}

function headerSize(payload: number): number {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

function writeFrame(out: Buffer, at: number, text: string, payload: number): number {
  out[at] = 0x81; // FIN, text
  if (payload < 126) {
    out[at + 1] = payload;
    at += 2;
  } else if (payload < 65536) {
    out[at + 1] = 126;
    out.writeUInt16BE(payload, at + 2);
    at += 4;
  } else {
    out[at + 1] = 127;
    out.writeUInt32BE(Math.floor(payload / 2 ** 32), at + 2);
    out.writeUInt32BE(payload >>> 0, at + 6);
    at += 10;
  }
  return at + out.write(text, at, 'utf8');
}
