import { describe, expect, it } from '@jest/globals';
import { LocalDirectory } from '../../../lib/core/local-directory.js';
import { coreHub, presenceAuth } from '../../helpers/core-hub.js';
import { HeldClusterDriver } from '../../helpers/held-cluster.js';

describe('LocalDirectory', () => {
  it('is the hub’s directory with the local driver; a cluster driver answers for the cluster instead', () => {
    expect(coreHub().hub.directory).toBeInstanceOf(LocalDirectory);
    const driver = new HeldClusterDriver();
    expect(coreHub({}, { driver }).hub.directory).toBe(driver.cluster);
  });

  it('counts subscriptions and distinct presence users, lists members and channels by prefix', async () => {
    const { hub, connect } = coreHub();
    const [a1, a2, b, c] = ['1.1', '1.2', '1.3', '1.4'].map((id) => connect(id));
    for (const [x, user] of [
      [a1, 'u1'],
      [a2, 'u1'],
      [b, 'u2'],
    ] as const) {
      const { auth, channel_data } = presenceAuth(x.id, 'presence-room', user, { n: user });
      hub.subscribe(x, 'presence-room', auth, channel_data);
    }
    for (const x of [a1, b, c]) hub.subscribe(x, 'orders');
    hub.subscribe(c, 'orders.eu');
    const dir = hub.directory;
    expect(await dir.subscriptionCount('presence-room')).toBe(3);
    expect(await dir.userCount('presence-room')).toBe(2);
    expect(await dir.userCount('orders')).toBe(0);
    expect(await dir.subscriptionCount('nothing')).toBe(0);
    expect(await dir.userCount('presence-nothing')).toBe(0);
    expect(await dir.members('presence-room')).toEqual([
      { userId: 'u1', info: { n: 'u1' }, infoJson: '{"n":"u1"}', sockets: 2 },
      { userId: 'u2', info: { n: 'u2' }, infoJson: '{"n":"u2"}', sockets: 1 },
    ]);
    expect(await dir.members('presence-nothing')).toEqual([]);
    expect(await dir.channels('')).toEqual(
      new Map([
        ['presence-room', 3],
        ['orders', 3],
        ['orders.eu', 1],
      ]),
    );
    expect(await dir.channels('orders')).toEqual(
      new Map([
        ['orders', 3],
        ['orders.eu', 1],
      ]),
    );
    expect(await dir.channels('private-')).toEqual(new Map());
    await hub.ended(a1);
    expect(await dir.subscriptionCount('presence-room')).toBe(2);
    expect(await dir.userCount('presence-room')).toBe(2);
  });
});
