/** `p`, or a rejection with `message` after `ms` (the timer is cleared either way). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** How long a cluster driver's subscribe waits for its backend while it is unreachable (then it goes on locally). */
export const WATCH_TIMEOUT = 1000;
