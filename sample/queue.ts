import { BullModule } from '@nestjs/bullmq';
import type { DynamicModule } from '@nestjs/common';
import type { BroadcastQueueOptions } from 'nestjs-broadcasting';

/**
 * With `BROADCAST_QUEUE=broadcasts` (and Redis at REDIS_URL, default redis://127.0.0.1:6379), queued
 * broadcasts (OrderDelivered) go through a BullMQ queue and this app's worker publishes them; run a
 * second copy with `BROADCAST_QUEUE_WORKER=false` to see only one process publish. Without the
 * variable nothing of BullMQ is loaded and queued broadcasts are published at once.
 */
export function queueImports(queue: BroadcastQueueOptions | undefined): DynamicModule[] {
  if (!queue) return [];
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
  };
  return [BullModule.forRoot({ connection }), BullModule.registerQueue({ name: queue.name })];
}
