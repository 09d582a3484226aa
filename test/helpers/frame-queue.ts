/** One decoded frame a test client received. */
export type Frame = Record<string, unknown> & { type?: string; event?: string };

/** Frames as they arrive, and tests awaiting the next one (a WebSocket's, or an SSE stream's). */
export class FrameQueue {
  readonly frames: Frame[] = [];
  private waiters: Array<(f: Frame) => void> = [];

  push(f: Frame): void {
    const w = this.waiters.shift();
    if (w) w(f);
    else this.frames.push(f);
  }

  /** The next frame, in arrival order. */
  next(timeoutMs = 5000): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== settle);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push(settle);
    });
  }
}
