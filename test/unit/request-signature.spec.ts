import { describe, expect, it } from '@jest/globals';
import { hmacHex } from '../../lib/crypto/signature.js';
import {
  canonicalParams,
  md5Hex,
  requestStringToSign,
  verifyBodyMd5,
  verifyRequestQuery,
  verifyRequestSignature,
} from '../../lib/http/request-signature.js';

// The REST test vector of the Pusher reference (§7).
const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';
const BODY = Buffer.from('{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}');
const SIGNATURE = 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c';

const query = (extra: Record<string, string> = {}) =>
  new URLSearchParams({
    auth_key: KEY,
    auth_timestamp: '1353088179',
    auth_version: '1.0',
    body_md5: 'ec365a775a4cd0599faeb73354201b6f',
    auth_signature: SIGNATURE,
    ...extra,
  });

describe('HTTP API request signatures', () => {
  it('hashes the body and builds the string to sign as the reference does', () => {
    expect(md5Hex(BODY)).toBe('ec365a775a4cd0599faeb73354201b6f');
    expect(requestStringToSign('post', '/apps/3/events', query())).toBe(
      'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f',
    );
  });

  it('accepts the reference request within the timestamp window', () => {
    expect(
      verifyRequestSignature('POST', '/apps/3/events', query(), BODY, KEY, SECRET, 1353088179 + 599),
    ).toBeUndefined();
  });

  it.each([
    [
      'a stale timestamp',
      () => verifyRequestSignature('POST', '/apps/3/events', query(), BODY, KEY, SECRET, 1353088179 + 601),
      /expired/,
    ],
    [
      'another key',
      () => verifyRequestSignature('POST', '/apps/3/events', query(), BODY, 'other', SECRET, 1353088179),
      /auth_key/,
    ],
    [
      'another secret',
      () => verifyRequestSignature('POST', '/apps/3/events', query(), BODY, KEY, 'nope', 1353088179),
      /signature/,
    ],
    [
      'another path',
      () => verifyRequestSignature('POST', '/apps/4/events', query(), BODY, KEY, SECRET, 1353088179),
      /signature/,
    ],
    [
      'a changed body',
      () => verifyRequestSignature('POST', '/apps/3/events', query(), Buffer.from('{}'), KEY, SECRET, 1353088179),
      /body_md5/,
    ],
    [
      'an added parameter',
      () => verifyRequestSignature('POST', '/apps/3/events', query({ x: '1' }), BODY, KEY, SECRET, 1353088179),
      /signature/,
    ],
    [
      'a wrong version',
      () =>
        verifyRequestSignature('POST', '/apps/3/events', query({ auth_version: '2.0' }), BODY, KEY, SECRET, 1353088179),
      /auth_version/,
    ],
  ])('refuses %s', (_what, run, why) => {
    expect(run()).toMatch(why);
  });

  it('checks the query alone, body_md5 included, before the body is read', () => {
    const params = canonicalParams(query()) as URLSearchParams;
    expect(verifyRequestQuery('POST', '/apps/3/events', params, KEY, SECRET, 1353088179)).toBeUndefined();
    expect(verifyBodyMd5(params, BODY)).toBeUndefined();
    expect(verifyBodyMd5(params, Buffer.from('{}'))).toMatch(/body_md5/);
    // A changed body_md5 is a changed signed string.
    const changed = canonicalParams(query({ body_md5: md5Hex(Buffer.from('{}')) })) as URLSearchParams;
    expect(verifyRequestQuery('POST', '/apps/3/events', changed, KEY, SECRET, 1353088179)).toBe('invalid signature');
  });

  it('requires body_md5 for a body and accepts an empty body without one', () => {
    const empty = new URLSearchParams();
    expect(verifyBodyMd5(empty, Buffer.alloc(0))).toBeUndefined();
    expect(verifyBodyMd5(empty, BODY)).toMatch(/body_md5/);
  });

  it('refuses a missing or malformed auth_timestamp as such', () => {
    for (const ts of ['', 'soon', ' 1353088179']) {
      const params = canonicalParams(query({ auth_timestamp: ts })) as URLSearchParams;
      expect(verifyRequestQuery('POST', '/apps/3/events', params, KEY, SECRET, 0)).toBe(
        'auth_timestamp missing or not a number',
      );
    }
  });

  it('lower-cases parameter names, as they are signed', () => {
    expect([...(canonicalParams(new URLSearchParams('Auth_Key=k&INFO=a%2Cb')) as URLSearchParams)]).toEqual([
      ['auth_key', 'k'],
      ['info', 'a,b'],
    ]);
  });

  it.each([
    ['a parameter given twice', 'info=a&info=b', /"info" is given more than once/],
    ['a parameter given twice in two cases', 'info=a&Info=b', /"info" is given more than once/],
    ['"&" in a value', 'filter_by_prefix=presence-%26info%3Duser_count', /"filter_by_prefix": its value holds "&"/],
    ['"&" in a name', 'a%26b=1', /"a&b": its name holds/],
    ['"=" in a name', 'a%3Db=c', /"a=b": its name holds/],
  ])('refuses %s, which would make the signed string ambiguous', (_what, raw, why) => {
    expect(canonicalParams(new URLSearchParams(raw))).toMatch(why);
  });

  it('names no more than 64 characters of a refused parameter, and never its value', () => {
    const reason = canonicalParams(new URLSearchParams(`${'k'.repeat(100)}=x%26secret-value`)) as string;
    expect(reason).toBe(`query parameter "${'k'.repeat(64)}…": its value holds "&"`);
  });

  it('refuses a signed query re-cut into one parameter, though its string to sign is the same', () => {
    const signed = new URLSearchParams(
      'auth_key=k&auth_timestamp=100&auth_version=1.0&filter_by_prefix=presence-&info=user_count',
    );
    const recut = new URLSearchParams(
      'auth_key=k&auth_timestamp=100&auth_version=1.0&filter_by_prefix=presence-%26info%3Duser_count',
    );
    expect(requestStringToSign('GET', '/apps/3/channels', recut)).toBe(
      requestStringToSign('GET', '/apps/3/channels', signed),
    );
    const signature = hmacHex(SECRET, requestStringToSign('GET', '/apps/3/channels', signed));
    const verify = (q: URLSearchParams) => {
      q.set('auth_signature', signature);
      return verifyRequestSignature('GET', '/apps/3/channels', q, Buffer.alloc(0), 'k', SECRET, 100);
    };
    expect(verify(signed)).toBeUndefined();
    expect(verify(recut)).toMatch(/its value holds "&"/);
  });

  it('sorts the parameters by name whatever order they came in', () => {
    const shuffled = new URLSearchParams('c=3&B=2&a=1&d=4');
    expect(requestStringToSign('get', '/p', shuffled)).toBe('GET\n/p\na=1&b=2&c=3&d=4');
    expect(requestStringToSign('get', '/p', new URLSearchParams('d=4&c=3&b=2&a=1'))).toBe('GET\n/p\na=1&b=2&c=3&d=4');
  });

  it('names a parameter of exactly 64 characters whole', () => {
    const key = 'k'.repeat(64);
    expect(canonicalParams(new URLSearchParams(`${key}=x%26y`))).toBe(`query parameter "${key}": its value holds "&"`);
  });

  it('takes a fractional auth_timestamp, and refuses one with anything after its digits', () => {
    const signedAt = (ts: string) => {
      const q = query({ auth_timestamp: ts });
      q.delete('auth_signature');
      q.set('auth_signature', hmacHex(SECRET, requestStringToSign('POST', '/apps/3/events', q)));
      return verifyRequestQuery('POST', '/apps/3/events', q, KEY, SECRET, 1353088179);
    };
    expect(signedAt('1353088179.25')).toBeUndefined();
    for (const ts of ['1353088179abc', '1353088179.', '1353088179.x5', '1353088179.5x']) {
      expect(signedAt(ts)).toBe('auth_timestamp missing or not a number');
    }
  });

  it('takes a timestamp exactly 600 s off either way, and not one more', () => {
    const at = (now: number) => verifyRequestSignature('POST', '/apps/3/events', query(), BODY, KEY, SECRET, now);
    expect(at(1353088179 + 600)).toBeUndefined();
    expect(at(1353088179 - 600)).toBeUndefined();
    expect(at(1353088179 + 600.5)).toBe('auth_timestamp expired');
    expect(at(1353088179 - 600.5)).toBe('auth_timestamp expired');
  });

  it('says a missing auth_signature is missing', () => {
    const q = query();
    q.delete('auth_signature');
    expect(verifyRequestQuery('POST', '/apps/3/events', q, KEY, SECRET, 1353088179)).toBe('auth_signature missing');
  });

  it('checks a body_md5 given with an empty body', () => {
    expect(verifyBodyMd5(new URLSearchParams({ body_md5: md5Hex(BODY) }), Buffer.alloc(0))).toBe(
      'body_md5 does not match the body',
    );
    expect(verifyBodyMd5(new URLSearchParams({ body_md5: md5Hex(Buffer.alloc(0)) }), Buffer.alloc(0))).toBeUndefined();
  });

  it('checks the timestamp against the clock when no time is given', () => {
    const now = String(Math.floor(Date.now() / 1000));
    const signed = (ts: string) => {
      const q = query({ auth_timestamp: ts });
      q.delete('auth_signature');
      q.set('auth_signature', hmacHex(SECRET, requestStringToSign('POST', '/apps/3/events', q)));
      return q;
    };
    expect(verifyRequestQuery('POST', '/apps/3/events', signed(now), KEY, SECRET)).toBeUndefined();
    expect(verifyRequestSignature('POST', '/apps/3/events', signed(now), BODY, KEY, SECRET)).toBeUndefined();
    expect(verifyRequestQuery('POST', '/apps/3/events', signed('1353088179'), KEY, SECRET)).toBe(
      'auth_timestamp expired',
    );
  });
});
