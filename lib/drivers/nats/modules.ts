import type { KV } from './client.js';

export type { NatsModules } from './client.js';

/** The key-value buckets of the driver (see Names). */
export interface Buckets {
  nodes: KV;
  subs: KV;
  presence: KV;
  cache: KV;
  epochs: KV;
}

/** Whether a JetStream error is a compare-and-set conflict (wrong last sequence). */
export function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown; api_error?: { err_code?: unknown } })?.code;
  const apiCode = (err as { api_error?: { err_code?: unknown } })?.api_error?.err_code;
  return (
    code === 10071 ||
    code === 10164 ||
    apiCode === 10071 ||
    apiCode === 10164 ||
    /wrong last sequence/i.test(String((err as Error)?.message))
  );
}

/** Reads a KV entry's JSON; null for a missing or deleted key. */
export function entryValue<T>(entry: { operation: string; length: number; json<U>(): U } | null): T | null {
  return entry !== null && entry.operation === 'PUT' && entry.length > 0 ? entry.json<T>() : null;
}

/** What a compare-and-set changed: the value before and after, and the revision that decided it. */
export interface Mutation<T> {
  before: T | null;
  after: T | null;
  /**
   * The write's revision. A delete's revision is not returned by the client: `revision + 0.5` of
   * the entry it replaced is above every earlier write of the key and below every later one, which
   * is all member events compare revisions for.
   */
  revision: number;
  changed: boolean;
}

/**
 * Changes a key's JSON with compare-and-set on its revision, retrying on conflict. `change` gets a
 * fresh copy of the current value (null when missing) and returns the new one, null to delete, or
 * undefined to leave it as it is.
 */
export async function mutate<T>(
  kv: KV,
  key: string,
  change: (current: T | null) => T | null | undefined,
): Promise<Mutation<T>> {
  for (let attempt = 0; ; attempt++) {
    const entry = await kv.get(key);
    const before = entryValue<T>(entry);
    const after = change(entryValue<T>(entry));
    const revision = entry?.revision ?? 0;
    if (after === undefined || (after === null && before === null)) {
      return { before, after: before, revision, changed: false };
    }
    try {
      if (after === null) {
        await kv.delete(key, { previousSeq: revision });
        return { before, after, revision: revision + 0.5, changed: true };
      }
      const data = JSON.stringify(after);
      const written = entry === null ? await kv.create(key, data) : await kv.update(key, data, revision);
      return { before, after, revision: written, changed: true };
    } catch (err) {
      if (!isConflict(err) || attempt >= 100) throw err;
    }
  }
}
