import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { AddressRanges, plainAddress } from '../util/address-ranges.js';

/**
 * The client's address: the socket's peer or, when the peer is one of the `trusted` proxies, the
 * X-Forwarded-For entry the outermost trusted proxy appended (behind a load balancer every socket
 * has the balancer's address). Each proxy appends the address it saw, so the header is read from
 * the right, past the entries that are trusted proxies too: the first other entry is the client.
 * Whatever a client wrote itself stands to its left, and is never read.
 */
export function clientIp(req: IncomingMessage, trusted: AddressRanges | undefined): string {
  let ip = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted === undefined || !trusted.has(ip)) return ip;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return ip;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = plainAddress(list[i].trim());
    if (isIP(entry) === 0) break; // not an address a proxy wrote: the last good hop stands
    ip = entry;
    if (!trusted.has(entry)) break;
  }
  return ip;
}

/** The `trustProxy` ranges (validated when the options were resolved); undefined when off. */
export function trustedProxies(trustProxy: false | readonly string[]): AddressRanges | undefined {
  if (trustProxy === false) return undefined;
  const ranges = AddressRanges.parse(trustProxy);
  if (typeof ranges === 'string') throw new Error(`trustProxy: ${ranges}`);
  return ranges;
}

/**
 * Refusals of one address per second answered inside the protocol (a WebSocket that is told why, so
 * that pusher-js stops retrying); past them the address is flooding and gets HTTP 429 at the upgrade,
 * which costs the server nothing.
 */
export const POLITE_REFUSALS_PER_SECOND = 10;

/**
 * Client addresses and the open connections per address, against maxConnectionsPerIp (0 = no limit,
 * nothing counted): checked by the WebSocket adapter at the upgrade and counted by the gateway on
 * accept.
 */
@Injectable()
export class IpLimit {
  private readonly open = new Map<string, number>();
  private readonly max: number;
  private readonly trusted: AddressRanges | undefined;
  /** Refusals per address in the current one-second window (cleared with it). */
  private readonly refused = new Map<string, number>();
  private refusedSince = 0;

  constructor(@Inject(BROADCAST_OPTIONS) options: Pick<BroadcastOptions, 'maxConnectionsPerIp' | 'trustProxy'>) {
    this.max = options.maxConnectionsPerIp;
    this.trusted = trustedProxies(options.trustProxy);
  }

  /** The client address of an upgrade request (see {@link clientIp}). */
  addressOf(req: IncomingMessage): string {
    return clientIp(req, this.trusted);
  }

  /** Whether one more connection from `ip` is allowed (checked at the upgrade, before counting). */
  allows(ip: string): boolean {
    return this.max <= 0 || (this.open.get(ip) ?? 0) < this.max;
  }

  /**
   * Counts one refusal of `ip`; true while it may still be answered inside the protocol, false once
   * the address has been refused more than {@link POLITE_REFUSALS_PER_SECOND} times this second.
   */
  politeRefusal(ip: string, now = Date.now()): boolean {
    if (now - this.refusedSince >= 1000) {
      this.refused.clear();
      this.refusedSince = now;
    }
    const n = (this.refused.get(ip) ?? 0) + 1;
    this.refused.set(ip, n);
    return n <= POLITE_REFUSALS_PER_SECOND;
  }

  /** Counts a connection; false (and not counted) when the address is at the limit. */
  take(ip: string): boolean {
    if (this.max <= 0) return true;
    const n = this.open.get(ip) ?? 0;
    if (n >= this.max) return false;
    this.open.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    if (this.max <= 0) return;
    const n = (this.open.get(ip) ?? 1) - 1;
    if (n <= 0) this.open.delete(ip);
    else this.open.set(ip, n);
  }

  get size(): number {
    return this.open.size;
  }
}
