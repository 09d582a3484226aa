import { describe, expect, it } from '@jest/globals';
import type { BroadcastDriver, BroadcastEnvelope, EnvelopeSink } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postJson, startFixture } from '../helpers/app.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';

/** The example of docs/drivers.md: a serving driver that audits every envelope, then delivers it here. */
class AuditingDriver implements BroadcastDriver {
  readonly servesConnections = true;
  readonly audit: string[] = [];
  private sink?: EnvelopeSink;
  attach(sink: EnvelopeSink) {
    this.sink = sink;
  }
  publish(envelope: BroadcastEnvelope) {
    this.audit.push(`${envelope.kind ?? 'event'} ${envelope.event} ${envelope.channels.join(',')}`);
    this.sink?.deliver(envelope);
  }
}

describe('a custom driver given in the module options', () => {
  it('serves clients: broadcasts and whispers travel through it to the sockets', async () => {
    const driver = new AuditingDriver();
    const run = await startFixture({ driver });
    const a = await TestClient.native(run.ws);
    const b = await TestClient.native(run.ws);
    try {
      expect(await a.subscribe('announcements')).toMatchObject({ type: 'subscribed' });
      await postJson(`${run.http}/announcements`, { message: 'via custom' });
      expect(await a.next()).toMatchObject({
        type: 'event',
        event: 'Announcement',
        channel: 'announcements',
        data: { message: 'via custom' },
      });
      await authorizeAndSubscribe(run, a, 'presence-chat.custom', '1');
      await authorizeAndSubscribe(run, b, 'presence-chat.custom', '2');
      expect(await a.next()).toMatchObject({ type: 'member_added' });
      b.send({ type: 'whisper', channel: 'presence-chat.custom', event: 'typing', data: {} });
      expect(await a.next()).toMatchObject({ type: 'whisper', event: 'typing', user_id: '2' });
      expect(driver.audit).toEqual(['event Announcement announcements', 'whisper typing presence-chat.custom']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await run.close();
    }
  });

  it('hands a Pusher API batch to the driver in one turn, in order, before any publish has answered', async () => {
    /** Answers each publish a turn later; records what it had been given when the first answered. */
    class SlowDriver extends AuditingDriver {
      givenAtFirstAnswer?: string[];
      override publish(envelope: BroadcastEnvelope) {
        super.publish(envelope);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            this.givenAtFirstAnswer ??= [...this.audit];
            resolve();
          }),
        );
      }
    }
    const driver = new SlowDriver();
    const run = await startFixture({ driver });
    const a = await TestClient.native(run.ws);
    try {
      await a.subscribe('batch-news');
      const res = await pusherServer(run).triggerBatch(
        ['1', '2', '3'].map((i) => ({ channel: 'batch-news', name: `E${i}`, data: { i } })),
      );
      expect(res.status).toBe(200);
      expect(driver.givenAtFirstAnswer).toEqual(['event E1 batch-news', 'event E2 batch-news', 'event E3 batch-news']);
      for (const i of ['1', '2', '3']) expect(await a.next()).toMatchObject({ event: `E${i}`, channel: 'batch-news' });
    } finally {
      await a.close();
      await run.close();
    }
  });
});
