import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { BroadcastEnvelope } from 'nestjs-broadcasting';
import {
  NATS_URL,
  NatsProbe,
  type NatsTestNode,
  natsAvailable,
  natsPrefix,
  startNatsNode,
} from '../../helpers/nats.js';
import { TcpProxy } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

const of = (event: string) => (e: BroadcastEnvelope) => e.event === event;

describeNats('nats driver: NATS unreachable', () => {
  let prefix: string;
  let probe: NatsProbe;
  let proxy: TcpProxy;
  let a: NatsTestNode;
  let b: NatsTestNode;
  let warn: ReturnType<typeof jest.spyOn>;

  beforeEach(async () => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    prefix = natsPrefix('unit-outage');
    probe = await NatsProbe.open(prefix);
    proxy = await new TcpProxy(new URL(NATS_URL)).start();
    a = await startNatsNode(probe, prefix, '501', { nodeTtl: 3000 });
    b = await startNatsNode(probe, prefix, '502', { nodeTtl: 3000, servers: `nats://127.0.0.1:${proxy.port}` });
  });
  afterEach(async () => {
    await a?.driver.close();
    await b?.driver.close();
    await proxy.close();
    await probe.cleanup();
    warn.mockRestore();
  });

  it('keeps delivering locally, counts the failures, and registers its state again once NATS is back', async () => {
    await a.driver.watch('news');
    await b.driver.watch('news');
    await a.driver.watch('presence-x');
    await b.driver.watch('presence-x');

    await proxy.cut();
    await until(() => b.node.facts.count((f) => f.fact === 'error') > 0, 3000, 'the drop to be noticed');
    // Local delivery does not wait for NATS, and publish neither throws nor hangs.
    await b.driver.publish({ channels: ['news'], event: 'DuringOutage' });
    expect(b.node.delivered.count(of('DuringOutage'))).toBe(1);
    await expect(b.driver.ping()).rejects.toThrow();
    // A join fails; the server tells its subscribers itself, and says so.
    await expect(b.driver.presenceJoin('presence-x', '502.1', 'u7', '{"n":7}')).rejects.toThrow();
    b.node.members = [{ channel: 'presence-x', userId: 'u7', sockets: 1, infoJson: '{"n":7}' }];
    b.driver.presenceTold('presence-x', 'u7', true);

    await proxy.restore();
    // The reconcile writes the member: the other node hears of it, once; this node's subscribers knew.
    expect(await a.node.presences.waitFor((p) => p.userId === 'u7', 'u7 on node A', 8000)).toMatchObject({
      kind: 'member_added',
      userId: 'u7',
    });
    await expect(b.driver.ping()).resolves.toBeUndefined();
    await b.node.facts.waitFor((f) => f.fact === 'memberAdded');
    // Subscriptions were restored with the connection: node B hears node A again.
    await a.driver.publish({ channels: ['news'], event: 'AfterOutage' });
    await b.node.delivered.waitFor(of('AfterOutage'), 'an event after the outage', 5000);
    await b.driver.barrier();
    expect(b.node.presences.items.filter((p) => p.userId === 'u7')).toEqual([]);
    expect(await a.driver.members('presence-x')).toEqual([{ userId: 'u7', info: { n: 7 }, infoJson: '{"n":7}' }]);
    b.node.members = [];
    await b.driver.presenceLeave('presence-x', '502.1', 'u7');
  });
});
