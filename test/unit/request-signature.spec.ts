import { describe, expect, it } from '@jest/globals';
import { md5Hex, requestStringToSign, verifyRequestSignature } from '../../lib/http/request-signature.js';

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
});
