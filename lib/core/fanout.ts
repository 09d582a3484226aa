import type { DeliveryCounter } from '../metrics/broadcast-metrics.js';
import type { Client, Outbound, SharedFrame } from './client.js';
import { stopsAtGate } from './gates.js';

/**
 * The hot path: one message → every recipient (a channel's subscribers, a user's sockets, …). Each
 * protocol present encodes the message once; every recipient of that protocol is written the same
 * frame object (the gateway frames its bytes once, on first write). Nothing is allocated per
 * recipient; a recipient with a gate on the channel (subscribing, being replayed to) is asked one
 * map lookup more.
 */
export function fanout(
  recipients: Iterable<Client>,
  message: Outbound,
  exceptId?: string,
  counter?: DeliveryCounter,
): number {
  let native: SharedFrame | undefined;
  let pusher: SharedFrame | undefined;
  let nativeSent = 0;
  let pusherSent = 0;
  for (const client of recipients) {
    if (client.id === exceptId) continue;
    if (client.gates !== undefined && message.channel !== undefined && stopsAtGate(client, client.gates, message)) {
      continue;
    }
    const codec = client.codec;
    if (codec.slot === 0) {
      if (native === undefined) native = { text: codec.encode(message), message };
      client.write(native);
      nativeSent++;
    } else {
      if (pusher === undefined) pusher = { text: codec.encode(message), message };
      client.write(pusher);
      pusherSent++;
    }
  }
  // Metrics: counted once per delivery, not per recipient.
  if (counter !== undefined) {
    if (native !== undefined) count(counter, 0, nativeSent, native.text);
    if (pusher !== undefined) count(counter, 1, pusherSent, pusher.text);
  }
  return nativeSent + pusherSent;
}

function count(counter: DeliveryCounter, slot: number, frames: number, text: string): void {
  counter.frames[slot] += frames;
  counter.bytes[slot] += frames * Buffer.byteLength(text);
}
