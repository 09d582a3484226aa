import type { MemberInfo } from '../../port/envelope.js';

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
