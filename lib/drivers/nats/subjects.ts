/** Bytes a subject token keeps as they are; every other UTF-8 byte is written `=XX`. */
const PLAIN = /^[A-Za-z0-9_-]$/;

/**
 * A channel name as ONE subject token, reversibly: every UTF-8 byte outside `[A-Za-z0-9_-]` (dots,
 * `*`, `>`, spaces, `=` itself, non-ASCII) becomes `=` and two uppercase hex digits. The empty name
 * is `=` alone (no escape has that form). The result is also a valid KV key.
 */
export function escapeToken(name: string): string {
  if (name === '') return '=';
  let out = '';
  for (const ch of name) {
    if (PLAIN.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The channel name of a token written by {@link escapeToken}; throws on a token it did not write. */
export function unescapeToken(token: string): string {
  if (token === '=') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i];
    if (ch === '=') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`bad escape in subject token ${token}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (PLAIN.test(ch)) bytes.push(ch.charCodeAt(0));
    else throw new Error(`bad character in subject token ${token}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A subject-safe prefix from an app id: tokens of `[A-Za-z0-9_-]`. */
export const defaultNatsPrefix = (appId: string): string =>
  `nestjs-broadcasting.${appId.replace(/[^A-Za-z0-9_-]/g, '_') || 'app'}`;

/**
 * Subjects, KV buckets and the history stream under the driver's prefix P (B: P with every
 * character a bucket name refuses written `_`):
 *
 * - `P.ch.<channel>`: a broadcast channel's events and member changes (nodes with subscribers only);
 * - `P.node.<id>`: one node (direct sends, control messages); `P.all`: every node;
 * - `P.rec.<channel>`: a recovery channel's numbered events, kept in the stream `B_history`;
 * - buckets `B_nodes` (heartbeats), `B_subs` (channel → node → subscriptions), `B_presence`
 *   (channel → user → info and sockets per node), `B_cache` (last event of cache channels),
 *   `B_epochs` (a recovery channel's epoch while it has no stored event).
 */
export class Names {
  readonly bucketPrefix: string;

  constructor(readonly prefix: string) {
    this.bucketPrefix = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  channel(channel: string): string {
    return `${this.prefix}.ch.${escapeToken(channel)}`;
  }

  /** The broadcast channel of a `P.ch.<token>` subject. */
  channelOf(subject: string): string {
    return unescapeToken(subject.slice(this.prefix.length + 4));
  }

  node(id: string): string {
    return `${this.prefix}.node.${escapeToken(id)}`;
  }

  all(): string {
    return `${this.prefix}.all`;
  }

  recovery(channel: string): string {
    return `${this.prefix}.rec.${escapeToken(channel)}`;
  }

  /** Subjects of the history stream. */
  recoveryAll(): string {
    return `${this.prefix}.rec.>`;
  }

  bucket(kind: 'nodes' | 'subs' | 'presence' | 'cache' | 'epochs'): string {
    return `${this.bucketPrefix}_${kind}`;
  }

  stream(): string {
    return `${this.bucketPrefix}_history`;
  }
}
