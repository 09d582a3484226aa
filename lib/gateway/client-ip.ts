import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';

/**
 * The client's address: the socket's peer or, behind `trustProxy` proxies, the X-Forwarded-For entry
 * the outermost trusted proxy appended (behind a load balancer every socket has the balancer's
 * address). Each proxy appends the address it saw, so only the rightmost entries are trustworthy:
 * whatever a client wrote itself stands to their left.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean | number): string {
  let ip = req.socket.remoteAddress ?? 'unknown';
  const hops = trustProxy === true ? 1 : trustProxy === false ? 0 : trustProxy;
  if (hops <= 0) return ip;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return ip;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let i = list.length - 1, n = 0; i >= 0 && n < hops; i--, n++) {
    const entry = list[i].trim();
    if (entry === '') break;
    ip = entry;
  }
  return ip;
}

/**
 * Open connections per address, against maxConnectionsPerIp (0 = no limit, nothing counted): checked
 * by the WebSocket adapter at the upgrade and counted by the gateway on accept.
 */
@Injectable()
export class IpLimit {
  private readonly open = new Map<string, number>();
  private readonly max: number;

  constructor(@Inject(BROADCAST_OPTIONS) options: Pick<BroadcastOptions, 'maxConnectionsPerIp'>) {
    this.max = options.maxConnectionsPerIp;
  }

  /** Whether one more connection from `ip` is allowed (checked at the upgrade, before counting). */
  allows(ip: string): boolean {
    return this.max <= 0 || (this.open.get(ip) ?? 0) < this.max;
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
