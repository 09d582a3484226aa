import { isDeepStrictEqual } from 'node:util';

/** A broadcast as the memory driver recorded it. @publicApi */
export interface RecordedBroadcast {
  /** Event name (empty for `sendRaw`). */
  event: string;
  /** Channels it was broadcast on (empty for direct sends). */
  channels: string[];
  /**
   * The payload as subscribers receive it: the data after a JSON round trip (so `Date`s are strings
   * and `toJSON()` has run); for `sendRaw`, the text or the bytes as given.
   */
  data: unknown;
  /** The socket left out (`toOthers`). */
  except?: string;
  /** `toUser(…)` targets. */
  userIds?: string[];
  /** `sendTo` / `sendToMany` / `sendRaw` targets. */
  socketIds?: string[];
  /** `broadcastToAll`. */
  all?: boolean;
  kind: 'event' | 'whisper' | 'raw';
}

/**
 * What to look for among recorded broadcasts; every field given must match. `channel`, `userId`
 * and `socketId` match when the broadcast targets them (among others).
 *
 * `data` matches partially, like jest's `toMatchObject`: every key given must be there and match,
 * nested objects partially too, arrays element by element (same length), anything else by
 * `Object.is`; so `{ id: '1' }` matches `{ id: '1', shipped: true }`. With `exact: true`, `data`
 * must equal the recorded data deeply (strict: no extra key anywhere). A predicate decides alone.
 * @publicApi
 */
export interface BroadcastMatch {
  event?: string;
  channel?: string;
  userId?: string;
  socketId?: string;
  all?: boolean;
  data?: string | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown } | DataPredicate;
  /** `data` must equal the recorded data deeply, with no extra key (default: partial match). */
  exact?: boolean;
}

/** Decides whether recorded data matches. @publicApi */
export type DataPredicate = (data: unknown) => boolean;

/** A plain object (what JSON gives): compared key by key; anything else with a prototype of its own is not. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** jest's toMatchObject rule: `expected` is a subset of `actual`, arrays in full. */
export function matchesPartially(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matchesPartially(actual[i], e))
    );
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return false;
    for (const key of Object.keys(expected)) {
      if (!Object.hasOwn(actual, key) || !matchesPartially(actual[key], expected[key])) return false;
    }
    return true;
  }
  // Primitives by Object.is; bytes, dates and other class instances as a whole.
  return typeof expected === 'object' && expected !== null
    ? isDeepStrictEqual(actual, expected)
    : Object.is(actual, expected);
}

export function matches(b: RecordedBroadcast, m: BroadcastMatch): boolean {
  if (m.event !== undefined && b.event !== m.event) return false;
  if (m.channel !== undefined && !b.channels.includes(m.channel)) return false;
  if (m.userId !== undefined && !b.userIds?.includes(m.userId)) return false;
  if (m.socketId !== undefined && !b.socketIds?.includes(m.socketId)) return false;
  if (m.all !== undefined && (b.all === true) !== m.all) return false;
  if ('data' in m) {
    const d = m.data;
    if (typeof d === 'function') return Boolean((d as DataPredicate)(b.data));
    return m.exact ? isDeepStrictEqual(b.data, d) : matchesPartially(b.data, d);
  }
  return true;
}

export function toMatch(match: string | BroadcastMatch, channel?: string): BroadcastMatch {
  const m = typeof match === 'string' ? { event: match } : { ...match };
  if (channel !== undefined) m.channel = channel;
  return m;
}

const DATA_SHOWN = 200;

/** Data as a failure message shows it: compact JSON, cut at about 200 characters; bytes as their count. */
export function describeData(data: unknown): string {
  if (data instanceof Uint8Array) return `<${data.length} bytes>`;
  let json: string;
  try {
    json = JSON.stringify(data) ?? String(data);
  } catch {
    json = String(data);
  }
  return json.length > DATA_SHOWN ? `${json.slice(0, DATA_SHOWN)}…` : json;
}

export function describeMatch(m: BroadcastMatch): string {
  const parts = Object.entries(m).map(
    ([k, v]) => `${k}=${typeof v === 'function' ? '<predicate>' : k === 'data' ? describeData(v) : JSON.stringify(v)}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'anything';
}

/** One line of a failure message's listing: event, targets and data. */
export function describeBroadcast(b: RecordedBroadcast): string {
  const targets = [
    ...b.channels,
    ...(b.userIds ?? []).map((u) => `user ${u}`),
    ...(b.socketIds ?? []).map((s) => `socket ${s}`),
    ...(b.all ? ['everyone'] : []),
  ];
  return `${b.kind === 'raw' ? '(raw)' : b.event} → ${targets.join(', ')} ${describeData(b.data)}`;
}
