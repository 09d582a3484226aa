/**
 * Cross-node cases with a node in a process of its own (test/fixture/main.ts), which a test can
 * signal: defined only for the engines that have such nodes.
 */
import { expect } from '@jest/globals';
import { postJson } from '../../helpers/app.js';
import { type CrossNode, itWithProcessNodes, join, pusherApi } from './harness.js';

export function processCases(x: CrossNode): void {
  itWithProcessNodes(
    x,
    'a node in another process shares broadcasts; SIGKILLed, its members are removed everywhere within 10 s',
    async () => {
      const [here] = await x.start('sigkill', 1);
      const spawned = await x.spawn(here);
      const room = 'presence-chat.kill';
      const watcher = await x.native(here);
      await join(watcher, room, '1');
      await watcher.subscribe('announcements');
      const victim = await x.native(spawned);
      await join(victim, room, '5');
      expect(await watcher.next()).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '5',
        user_info: { name: 'user 5' },
      });
      await postJson(`${spawned.http}/announcements`, { message: 'from the other process' });
      expect(await watcher.next()).toMatchObject({
        event: 'Announcement',
        data: { message: 'from the other process' },
      });

      const killedAt = Date.now();
      spawned.child.kill('SIGKILL');
      expect(await watcher.next(10_000)).toEqual({ type: 'member_removed', channel: room, user_id: '5' });
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await victim.closed;
      await watcher.expectNothingPending();
      expect((await here.connections.clusterMembers(room)).map((m) => m.id)).toEqual(['1']);
    },
    30_000,
  );

  itWithProcessNodes(
    x,
    'a node in another process, on SIGTERM under load: flushes accepted broadcasts, closes 1001 / 4200, releases presence cluster-wide, exits',
    async () => {
      // The default TTL (10 s): a removal within 2.5 s cannot be the others' sweep.
      const [here] = await x.start('sigterm', 1, {}, 'default');
      const spawned = await x.spawn(here, 'default');
      const watcher = await x.native(here);
      const native = await x.native(spawned);
      const pusher = await x.rawPusher(spawned);
      const room = 'presence-chat.term';
      await join(watcher, room, '1');
      await join(native, room, '8');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '8' });
      await native.subscribe('load');
      expect((await pusher.subscribe('load')).event).toBe('pusher_internal:subscription_succeeded');

      const sdk = pusherApi(spawned);
      const accepted = await Promise.all(
        Array.from({ length: 20 }, (_, b) =>
          sdk
            .triggerBatch(
              Array.from({ length: 10 }, (_, i) => ({ channel: 'load', name: 'Load', data: { n: b * 10 + i } })),
            )
            .then(() => 10),
        ),
      );
      const termAt = Date.now();
      spawned.child.kill('SIGTERM');
      const total = accepted.reduce((a, b) => a + b, 0);
      let nativeEvents = 0;
      while (nativeEvents < total) {
        const f = await native.next(5000);
        if (f.event === 'Load') nativeEvents++;
        else if (f.type !== 'member_removed') throw new Error(`unexpected ${JSON.stringify(f)}`);
      }
      let pusherEvents = 0;
      while (pusherEvents < total) if ((await pusher.next(5000)).event === 'Load') pusherEvents++;
      expect((await native.closed).code).toBe(1001);
      expect((await pusher.closed).code).toBe(4200);
      expect(await watcher.next(5000)).toEqual({ type: 'member_removed', channel: room, user_id: '8' });
      // Released by the leaving node itself, not by the others' sweep after the TTL.
      expect(Date.now() - termAt).toBeLessThan(2500);
      const { code, signal } = await spawned.exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    },
    30_000,
  );
}
