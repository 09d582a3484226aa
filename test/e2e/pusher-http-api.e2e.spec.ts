import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authorizeAndSubscribe, type RunningApp, startFixture } from '../helpers/app.js';
import { authParams, type Param, sdkSignature, withQuery } from '../helpers/pusher-api.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';

const CHANNELS = '/apps/app-id/channels';
const ROOM = 'presence-chat.canon';

describe('Pusher HTTP API requests', () => {
  let run: RunningApp;
  let watcher: TestClient;
  const clients: TestClient[] = [];

  const get = async (url: string) => {
    const res = await fetch(`${run.http}${url}`);
    return { status: res.status, body: (await res.json()) as unknown };
  };
  /** The parameters with their keys lower-cased: what Pusher signs (the SDKs send them so). */
  const lower = (params: Param[]): Param[] => params.map(([k, v]) => [k.toLowerCase(), v]);

  beforeAll(async () => {
    run = await startFixture();
    for (const user of ['1', '2']) {
      const c = await TestClient.native(run.ws);
      clients.push(c);
      await authorizeAndSubscribe(run, c, ROOM, user);
    }
    watcher = await TestClient.native(run.ws);
    clients.push(watcher);
    await watcher.subscribe('canon-public');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await run.close();
  });

  describe('signed over canonical parameters', () => {
    it("serves the SDK's GET /channels with filter_by_prefix=presence- and info=user_count,subscription_count", async () => {
      const res = await pusherServer(run).get({
        path: '/channels',
        params: { filter_by_prefix: 'presence-', info: 'user_count,subscription_count' },
      });
      expect(await res.json()).toEqual({ channels: { [ROOM]: { user_count: 2, subscription_count: 2 } } });
    });

    it('refuses a signed query re-cut at "&" into one parameter', async () => {
      const params: Param[] = [...authParams(), ['filter_by_prefix', 'presence-'], ['info', 'user_count']];
      const signature = sdkSignature('GET', CHANNELS, params);
      expect(await get(withQuery(CHANNELS, params, signature))).toEqual({
        status: 200,
        body: { channels: { [ROOM]: { user_count: 2 } } },
      });
      // The same string to sign, read as one filter_by_prefix holding "presence-&info=user_count".
      const recut: Param[] = [...params.slice(0, 3), ['filter_by_prefix', 'presence-%26info%3Duser_count']];
      expect(await get(withQuery(CHANNELS, recut, signature))).toEqual({
        status: 401,
        body: { error: 'query parameter "filter_by_prefix": its value holds "&"' },
      });
    });

    it('refuses a signed query whose parameter name holds "="', async () => {
      // `a=b=c` is signed both for a="b=c" and for a parameter named "a=b" holding "c".
      const params: Param[] = [...authParams(), ['a', 'b=c']];
      const signature = sdkSignature('GET', CHANNELS, params);
      expect((await get(withQuery(CHANNELS, params, signature))).status).toBe(200);
      expect(await get(withQuery(CHANNELS, [...params.slice(0, 3), ['a%3Db', 'c']], signature))).toEqual({
        status: 401,
        body: { error: 'query parameter "a=b": its name holds "&" or "="' },
      });
    });

    it.each([
      [
        'twice',
        [
          ['info', 'user_count'],
          ['info', 'subscription_count'],
        ],
      ],
      [
        'twice in two cases',
        [
          ['info', 'user_count'],
          ['INFO', 'subscription_count'],
        ],
      ],
    ] as Array<[string, Param[]]>)('refuses a parameter given %s, though signed', async (_how, extra) => {
      const params: Param[] = [...authParams(), ['filter_by_prefix', 'presence-'], ...extra];
      const res = await get(withQuery(CHANNELS, params, sdkSignature('GET', CHANNELS, lower(params))));
      expect(res).toEqual({ status: 401, body: { error: 'query parameter "info" is given more than once' } });
    });

    it('serves the parameters as they are signed: names lower-cased', async () => {
      const params: Param[] = [...authParams(), ['FILTER_BY_PREFIX', 'presence-']];
      const res = await get(withQuery(CHANNELS, params, sdkSignature('GET', CHANNELS, lower(params))));
      expect(res).toEqual({ status: 200, body: { channels: { [ROOM]: {} } } });
    });
  });

  describe('event fields', () => {
    it('refuses an event without data, or with an info that is not a string, alone or in a batch', async () => {
      const sdk = pusherServer(run);
      const refused = (request: Promise<unknown>, error: string) =>
        expect(request).rejects.toMatchObject({ status: 400, body: JSON.stringify({ error }) });
      const post = (path: string, body: unknown) => sdk.post({ path, body: body as never });
      const event = { name: 'E', channel: 'canon-public', data: '{"n":1}' };
      const { data: _, ...noData } = event;
      await refused(sdk.trigger('canon-public', 'E', undefined), '"data" is required');
      await refused(post('/events', noData), '"data" is required');
      await refused(post('/events', { ...event, data: null }), '"data" is required');
      await refused(post('/events', { ...event, info: ['subscription_count'] }), '"info" must be a string');
      await refused(post('/events', { ...event, info: 1 }), '"info" must be a string');
      await refused(post('/batch_events', { batch: [event, noData] }), '"data" is required');
      await refused(post('/batch_events', { batch: [event, { ...event, info: {} }] }), '"info" must be a string');
      // None of them published anything: the watcher's next frame is the event below.
      const ok = await post('/events', { ...event, info: 'subscription_count' });
      expect(await ok.json()).toEqual({ channels: { 'canon-public': { subscription_count: 1 } } });
      expect(await watcher.next()).toEqual({ type: 'event', event: 'E', channel: 'canon-public', data: { n: 1 } });
    });
  });
});
