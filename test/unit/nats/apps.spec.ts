/**
 * Two apps of one process configured with `driver: 'nats'` (as an app configures it), with real
 * WebSocket clients: the module wiring of the nats driver end to end.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { signChannel } from 'nestjs-broadcasting';
import { type BroadcastNode, CREDENTIALS, startNode } from '../../helpers/broadcast-node.js';
import { NATS_URL, NatsProbe, natsAvailable, natsPrefix } from '../../helpers/nats.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { TestClient } from '../../helpers/test-client.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

describeNats('nats driver: two apps', () => {
  const prefix = natsPrefix('unit-apps');
  let probe: NatsProbe;
  let a: BroadcastNode;
  let b: BroadcastNode;
  const clients: TestClient[] = [];
  const native = async (node: BroadcastNode) => {
    const c = await TestClient.native(node.ws);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    probe = await NatsProbe.open(prefix);
    const options = { driver: 'nats' as const, nats: { servers: NATS_URL, prefix, nodeTtl: 1500 } };
    a = await startNode(options);
    b = await startNode(options);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await a?.app.close();
    await b?.app.close();
    await probe?.cleanup();
  });

  it('a broadcast on A reaches a subscriber on B once; presence members are the cluster’s', async () => {
    const [a1, b1] = [await native(a), await native(b)];
    for (const c of [a1, b1]) expect(await c.subscribe('orders')).toEqual({ type: 'subscribed', channel: 'orders' });
    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 1 }).send();
    for (const c of [a1, b1]) {
      expect(await c.next()).toEqual({ type: 'event', channel: 'orders', event: 'OrderShipped', data: { id: 1 } });
    }

    const join = (c: TestClient, userId: string) => {
      const channel_data = JSON.stringify({ user_id: userId, user_info: { name: userId } });
      const auth = signChannel(CREDENTIALS.key, CREDENTIALS.secret, c.socketId, 'presence-room', channel_data);
      return c.subscribe('presence-room', { auth, channel_data });
    };
    const first = await join(a1, 'u1');
    expect((first.members as Array<{ user_id: string }>).map((m) => m.user_id)).toEqual(['u1']);
    const second = await join(b1, 'u2');
    expect((second.members as Array<{ user_id: string }>).map((m) => m.user_id).sort()).toEqual(['u1', 'u2']);
    expect(await a1.next()).toMatchObject({ type: 'member_added', channel: 'presence-room', user_id: 'u2' });
  });
});
