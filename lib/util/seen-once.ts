/**
 * Remembers the keys it was shown, up to `max` of them (the oldest forgotten first), so that
 * "once per key" stays bounded whatever a client sends: `first(key)` is true the first time a key
 * is seen since it was last forgotten.
 */
export class SeenOnce {
  private readonly keys = new Set<string>();

  constructor(private readonly max = 1000) {}

  first(key: string): boolean {
    if (this.keys.has(key)) return false;
    if (this.keys.size >= this.max) {
      const oldest = this.keys.values().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    this.keys.add(key);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
