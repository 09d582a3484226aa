/** A set of callbacks. A callback that throws does not stop the others nor the client: it is rethrown asynchronously. */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  add(cb: (...args: A) => void): () => void {
    this.set.add(cb);
    return () => this.set.delete(cb);
  }

  delete(cb?: (...args: A) => void): void {
    if (cb) this.set.delete(cb);
    else this.set.clear();
  }

  get size(): number {
    return this.set.size;
  }

  emit(...args: A): void {
    for (const cb of [...this.set]) {
      try {
        cb(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** Listeners by name (event names, whisper names). */
export class NamedListeners<A extends unknown[]> {
  private readonly byName = new Map<string, Listeners<A>>();

  add(name: string, cb: (...args: A) => void): void {
    let l = this.byName.get(name);
    if (!l) {
      l = new Listeners<A>();
      this.byName.set(name, l);
    }
    l.add(cb);
  }

  delete(name: string, cb?: (...args: A) => void): void {
    const l = this.byName.get(name);
    if (!l) return;
    l.delete(cb);
    if (l.size === 0) this.byName.delete(name);
  }

  emit(name: string, ...args: A): void {
    this.byName.get(name)?.emit(...args);
  }
}
