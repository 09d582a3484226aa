import type { IncomingMessage } from 'node:http';

/**
 * The client's address: the socket's peer, or with `trustProxy` the first X-Forwarded-For entry
 * (behind a load balancer every socket has the balancer's address; without a proxy you trust the
 * header is whatever the client wrote).
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Open connections per address, against maxConnectionsPerIp (0 = no limit, nothing counted). */
export class IpLimit {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

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
