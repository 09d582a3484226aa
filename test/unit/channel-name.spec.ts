import { describe, expect, it } from '@jest/globals';
import { channelNameError, channelType } from '../../lib/names/channel-name.js';

describe('channel names', () => {
  it.each(['orders', 'private-orders.1', 'presence-chat.1', 'a', 'x'.repeat(200), '-_=@,.;'])('accepts %s', (n) => {
    expect(channelNameError(n)).toBeUndefined();
  });
  it.each([[''], ['x'.repeat(201)], ['#server-to-user-1'], ['a b'], ['a/b'], ['é'], [42], [null]])(
    'refuses %j',
    (n) => {
      expect(channelNameError(n)).toEqual(expect.any(String));
    },
  );
  it('types by anchored prefix', () => {
    expect(channelType('private-a')).toBe('private');
    expect(channelType('presence-a')).toBe('presence');
    expect(channelType('a-private-b')).toBe('public');
    expect(channelType('presence')).toBe('public');
    expect(channelType('cache-x')).toBe('public');
  });
});
