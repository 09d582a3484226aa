/**
 * Why a `request()` failed: the message of the server's `error` frame and, when the server's
 * handler refused it with an HTTP exception (a guard's 403, a ValidationPipe's 400), its `status`
 * and, for a validation failure, the list of `errors`.
 * @publicApi
 */
export class RequestError extends Error {
  readonly status?: number;
  readonly errors?: unknown[];

  constructor(message: string, details: { status?: number; errors?: unknown[] } = {}) {
    super(message);
    this.name = 'RequestError';
    if (details.status !== undefined) this.status = details.status;
    if (details.errors !== undefined) this.errors = details.errors;
  }
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> };

/** `request()`s awaiting their `reply` (or `error`), by `ref`. */
export class Requests {
  private readonly pending = new Map<number, Pending>();
  private nextRef = 1;

  constructor(private readonly send: (frame: Record<string, unknown>) => boolean) {}

  /** Sends an app frame with a fresh `ref` and resolves with the `reply`'s data. */
  start<T>(type: string, payload: Record<string, unknown>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const ref = this.nextRef++;
      if (!this.send({ ...payload, type, ref })) {
        reject(new Error('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Error(`no reply to "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(ref, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  /** A `reply`: false when no request waits for this ref. */
  resolve(ref: number, data: unknown): boolean {
    const p = this.take(ref);
    p?.resolve(data);
    return p !== undefined;
  }

  /** An `error` naming a ref: false when no request waits for it. */
  reject(ref: number, message: string, details?: { status?: number; errors?: unknown[] }): boolean {
    const p = this.take(ref);
    p?.reject(new RequestError(message, details));
    return p !== undefined;
  }

  /** The connection closed: no reply can come any more. */
  rejectAll(): void {
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('connection closed'));
      this.pending.delete(ref);
    }
  }

  private take(ref: number): Pending | undefined {
    const p = this.pending.get(ref);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(ref);
    return p;
  }
}
