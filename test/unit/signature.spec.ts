import { describe, expect, it } from '@jest/globals';
import { safeEqual, signChannel, signUser, verifyChannel } from '../../lib/crypto/signature.js';

// Vectors from the Pusher reference (§4).
const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';

describe('channel signatures', () => {
  it('signs private channels', () => {
    expect(signChannel(KEY, SECRET, '1234.1234', 'private-foobar')).toBe(
      `${KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`,
    );
  });
  it('signs presence channels over channel_data', () => {
    expect(
      signChannel(KEY, SECRET, '1234.1234', 'presence-foobar', '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'),
    ).toBe(`${KEY}:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80`);
  });
  it('signs user sign-in', () => {
    expect(signUser(KEY, SECRET, '1234.1234', '{"id":"12345"}')).toBe(
      `${KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba`,
    );
  });
  it('verifies only the exact socket, channel and data', () => {
    const token = signChannel(KEY, SECRET, '1.2', 'private-a');
    expect(verifyChannel(KEY, SECRET, token, '1.2', 'private-a')).toBe(true);
    expect(verifyChannel(KEY, SECRET, token, '1.3', 'private-a')).toBe(false);
    expect(verifyChannel(KEY, SECRET, token, '1.2', 'private-b')).toBe(false);
    expect(verifyChannel(KEY, SECRET, token, '1.2', 'private-a', '{}')).toBe(false);
    expect(verifyChannel(KEY, 'other', token, '1.2', 'private-a')).toBe(false);
    expect(verifyChannel(KEY, SECRET, 42, '1.2', 'private-a')).toBe(false);
    expect(verifyChannel(KEY, SECRET, `${token}0`, '1.2', 'private-a')).toBe(false);
  });
  it('compares strings of different lengths safely', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abc', 'abc')).toBe(true);
  });
});
