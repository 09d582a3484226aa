import type { MemberInfo } from '../../port/envelope.js';

/** How long a subscribe waits for Redis to confirm while Redis is unreachable (then it goes on locally). */
export const WATCH_TIMEOUT = 1000;

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `[user, infoJson, user, infoJson, …]` → members. */
export function pairs(flat: string[]): MemberInfo[] {
  const out: MemberInfo[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    let info: unknown = null;
    try {
      info = JSON.parse(flat[i + 1]);
    } catch {
      flat[i + 1] = 'null';
    }
    out.push({ userId: flat[i], info, infoJson: flat[i + 1] });
  }
  return out;
}
