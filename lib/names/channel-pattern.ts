import { channelNameError } from './channel-name.js';

/** A compiled @ChannelAuth pattern. */
export interface ChannelPattern {
  readonly source: string;
  readonly regex: RegExp;
  readonly params: readonly string[];
  /**
   * The pattern with its parameter names erased (`private-orders.{}` for `private-orders.{id}` and
   * `private-orders.<orderId>`): two patterns match the same channels when their shapes are equal.
   */
  readonly shape: string;
  /** Characters outside parameters: longer is more specific. */
  readonly literalLength: number;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}|<([A-Za-z_][A-Za-z0-9_]*)>/g;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Compiles `private-orders.{id}` (or `<id>`): anchored at both ends, a parameter matches `[^.]+`.
 * A pattern with a `private-` / `presence-` prefix matches that type only; one without (Laravel's
 * `orders.{id}`) matches both the private and the presence form.
 */
export function compileChannelPattern(pattern: string): ChannelPattern {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new Error('@ChannelAuth needs a channel pattern');
  const params: string[] = [];
  let body = '';
  let shape = '';
  let literal = '';
  let last = 0;
  for (const m of pattern.matchAll(PARAM)) {
    const name = m[1] ?? m[2];
    if (params.includes(name)) throw new Error(`@ChannelAuth('${pattern}'): parameter "${name}" appears twice`);
    params.push(name);
    const text = pattern.slice(last, m.index);
    literal += text;
    shape += `${text}{}`;
    body += `${escapeRegExp(text)}([^.]+)`;
    last = (m.index ?? 0) + m[0].length;
  }
  const tail = pattern.slice(last);
  literal += tail;
  shape += tail;
  body += escapeRegExp(tail);
  const checked = literal.length > 0 ? literal : 'x';
  if (channelNameError(checked.replace(/^(private-|presence-)/, 'x')) !== undefined || /[{}<>]/.test(literal)) {
    throw new Error(`@ChannelAuth('${pattern}'): not a channel pattern (channel characters and {param} only)`);
  }
  const typed = pattern.startsWith('private-') || pattern.startsWith('presence-');
  const regex = new RegExp(typed ? `^${body}$` : `^(?:private-|presence-)${body}$`);
  return { source: pattern, regex, params, shape, literalLength: literal.length };
}

/** Parameters of `name` under `pattern`, or undefined when it does not match. */
export function matchChannelPattern(pattern: ChannelPattern, name: string): Record<string, string> | undefined {
  const m = pattern.regex.exec(name);
  if (!m) return undefined;
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < pattern.params.length; i++) params[pattern.params[i]] = m[i + 1];
  return params;
}

/** Most specific first: fewest parameters, then longest literal text. Stable for ties. */
export function bySpecificity(a: ChannelPattern, b: ChannelPattern): number {
  return a.params.length - b.params.length || b.literalLength - a.literalLength;
}
