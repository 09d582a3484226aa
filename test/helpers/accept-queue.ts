import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { unavailable } from './availability.js';

/**
 * The accept-queue limit the kernel holds for a TCP socket listening on `port`: `ss -ltn`'s Send-Q
 * column (for a listening socket, the backlog it listens with, as capped by net.core.somaxconn).
 */
export function acceptQueueLimit(port: number): number {
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const lines = out.split('\n').filter(Boolean);
  if (lines.length !== 1) throw new Error(`ss: expected one listening socket on port ${port}, got:\n${out}`);
  return Number(lines[0].trim().split(/\s+/)[2]);
}

/** The kernel's cap on any backlog (Linux). */
export function somaxconn(): number {
  return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
}

/** Whether `ss` (iproute2, Linux) can be used; under CI its absence fails the run. */
export function canReadAcceptQueues(): boolean {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return process.platform === 'linux' || unavailable('ss on Linux', 'the backlog is read with `ss -ltn`');
  } catch {
    return unavailable('ss (Linux iproute2)', 'the backlog is read with `ss -ltn`; apt-get install iproute2');
  }
}
