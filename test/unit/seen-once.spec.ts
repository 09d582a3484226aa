import { describe, expect, it } from '@jest/globals';
import { SeenOnce } from '../../lib/util/seen-once.js';

describe('SeenOnce', () => {
  it('says first once per key, and forgets the oldest past its bound', () => {
    const seen = new SeenOnce(3);
    expect(['a', 'a', 'b', 'c', 'b'].map((k) => seen.first(k))).toEqual([true, false, true, true, false]);
    expect(seen.first('d')).toBe(true); // 'a' forgotten
    expect(seen.size).toBe(3);
    expect(seen.first('a')).toBe(true);
    for (let i = 0; i < 10_000; i++) seen.first(`flood-${i}`);
    expect(seen.size).toBe(3);
  });
});
