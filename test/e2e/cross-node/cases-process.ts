/**
 * Cross-node cases with a node in a process of its own (test/fixture/main.ts), which a test can
 * signal: defined only for the engines that have such nodes.
 */
import { expect } from '@jest/globals';
import { postJson } from '../../helpers/app.js';
import type { Frame, TestClient } from '../../helpers/test-client.js';
import { type CrossNode, itWithProcessNodes, join, pusherApi } from './harness.js';

/** The next `n` frames of a client, sorted by user (member events of one change come in any order). */
async function nextFrames(c: TestClient, n: number, timeoutMs?: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) frames.push(await c.next(timeoutMs));
  return frames.sort((a, b) => String(a.user_id).localeCompare(String(b.user_id)));
}

const added = (channel: string, userId: string) => ({
  type: 'member_added',
  channel,
  user_id: userId,
  user_info: { name: `user ${userId}` },
});

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

  itWithProcessNodes(
    x,
    'a node in another process stopped for 5 s (SIGSTOP), with the default TTL, is not declared dead: no member event anywhere',
    async () => {
      const [here] = await x.start('sigstop-alive', 1, {}, 'default');
      const spawned = await x.spawn(here, 'default');
      const room = 'presence-chat.stop';
      const watcher = await x.native(here);
      await join(watcher, room, '1');
      const stopped = await x.native(spawned);
      await join(stopped, room, '6');
      expect(await watcher.next()).toEqual(added(room, '6'));

      spawned.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 5000)); // the stall itself
      spawned.child.kill('SIGCONT');
      // An event from the stopped node once it runs again, on the same channel: a sweep of it (which
      // could only come before it beat again) would have reached both clients before it.
      await pusherApi(spawned).trigger(room, 'Resumed', { n: 1 });
      for (const c of [watcher, stopped]) {
        expect(await c.next()).toEqual({ type: 'event', channel: room, event: 'Resumed', data: { n: 1 } });
      }
      expect((await here.connections.clusterMembers(room)).map((m) => m.id).sort()).toEqual(['1', '6']);
    },
    30_000,
  );

  itWithProcessNodes(
    x,
    'a node in another process stopped past its TTL is swept, then restored for the others once; its own clients hear nothing of it',
    async () => {
      const [here] = await x.start('sigstop-swept', 1);
      const spawned = await x.spawn(here);
      const room = 'presence-chat.swept';
      const watcher = await x.native(here);
      await join(watcher, room, '1');
      const [six, seven] = [await x.native(spawned), await x.native(spawned)];
      await join(six, room, '6');
      await join(seven, room, '7');
      expect(await nextFrames(watcher, 2)).toEqual([added(room, '6'), added(room, '7')]);
      expect(await six.next()).toEqual(added(room, '7'));

      spawned.child.kill('SIGSTOP');
      expect(await nextFrames(watcher, 2, 10_000)).toEqual([
        { type: 'member_removed', channel: room, user_id: '6' },
        { type: 'member_removed', channel: room, user_id: '7' },
      ]);
      spawned.child.kill('SIGCONT');
      expect(await nextFrames(watcher, 2, 10_000)).toEqual([added(room, '6'), added(room, '7')]);
      // A later event on the same channel from the node that came back: nothing comes before it — no
      // second removal for the others, and no member event at all for its own clients (6 and 7 never
      // left it), about themselves or each other.
      await pusherApi(spawned).trigger(room, 'Resumed', { n: 2 });
      for (const c of [watcher, six, seven]) {
        expect(await c.next()).toEqual({ type: 'event', channel: room, event: 'Resumed', data: { n: 2 } });
      }
      expect((await here.connections.clusterMembers(room)).map((m) => m.id).sort()).toEqual(['1', '6', '7']);
    },
    30_000,
  );
}
