import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import type { BroadcastEnvelope } from '../port/envelope.js';
import { EnvelopePublisher } from './envelope-publisher.js';

/** What is used of a BullMQ Queue. */
interface QueueLike {
  readonly opts: { connection?: unknown; prefix?: string };
  add(name: string, data: BroadcastEnvelope, options: object): Promise<unknown>;
}

/** What is used of a BullMQ Worker. */
interface WorkerLike {
  on(
    event: 'failed',
    cb: (job: { id?: string; name: string; attemptsMade: number } | undefined, err: Error) => void,
  ): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  close(): Promise<void>;
}

/**
 * Queued broadcasts, through the BullMQ queue the app registered with @nestjs/bullmq (the `queue`
 * option): `enqueue` adds the finished envelope as a job; the worker (here unless
 * `queue.worker: false`, or in another process) publishes it through the driver, with retries and
 * an exponential back-off. A job is published at least once: a worker that dies after publishing
 * and before BullMQ recorded it publishes it again.
 *
 * Without the option, queued broadcasts are published at once (as Laravel's `sync` queue does), and
 * a warning says so once, unless the driver only records (`memory`, `null`, `log`), as in tests.
 *
 * @nestjs/bullmq and bullmq stay optional: they are loaded only when the option is set.
 */
@Injectable()
export class BroadcastQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('BroadcastQueue');
  private queue?: QueueLike;
  private worker?: WorkerLike;
  private warned: boolean;

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly publisher: EnvelopePublisher,
    private readonly moduleRef: ModuleRef,
  ) {
    this.warned = typeof options.driver === 'string' && ['memory', 'null', 'log'].includes(options.driver);
  }

  async onModuleInit(): Promise<void> {
    const q = this.options.queue;
    if (!q) return;
    let nest: typeof import('@nestjs/bullmq');
    let bull: typeof import('bullmq');
    try {
      [nest, bull] = await Promise.all([import('@nestjs/bullmq'), import('bullmq')]);
    } catch {
      throw new Error('nestjs-broadcasting: the queue option needs @nestjs/bullmq (npm install @nestjs/bullmq bullmq)');
    }
    try {
      this.queue = this.moduleRef.get(nest.getQueueToken(q.name), { strict: false }) as QueueLike;
    } catch {
      throw new Error(
        `nestjs-broadcasting: queue "${q.name}" needs BullModule.forRoot(…) and BullModule.registerQueue({ name: '${q.name}' }) among your app's imports`,
      );
    }
    if (!q.worker) return;
    const worker = new bull.Worker<BroadcastEnvelope>(q.name, (job) => this.publisher.publish(job.data), {
      connection: this.queue.opts.connection as never,
      prefix: this.queue.opts.prefix,
      concurrency: q.concurrency,
    }) as unknown as WorkerLike;
    worker.on('failed', (job, err) => {
      const tries = job ? ` (try ${job.attemptsMade} of ${q.attempts})` : '';
      this.logger.warn(`queued broadcast ${job?.name ?? ''} #${job?.id ?? '?'} failed${tries}: ${err.message}`);
    });
    worker.on('error', (err) => this.logger.error(`worker of queue "${q.name}": ${err.message}`));
    this.worker = worker;
  }

  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    // Waits for the broadcasts being published; the rest stay queued for the next worker.
    await worker?.close();
  }

  /** Adds a finished broadcast to the queue; resolves once Redis holds it. */
  async enqueue(envelope: BroadcastEnvelope): Promise<void> {
    const q = this.options.queue;
    if (!this.queue || !q) {
      if (!this.warned) {
        this.warned = true;
        this.logger.warn('a queued broadcast was published at once: set the queue option to queue broadcasts');
      }
      return this.publisher.publish(envelope);
    }
    this.publisher.check(envelope);
    await this.queue.add(envelope.event, envelope, {
      attempts: q.attempts,
      backoff: { type: 'exponential', delay: q.backoff },
      removeOnComplete: true,
      removeOnFail: q.keepFailed === 0 ? true : { count: q.keepFailed },
    });
  }
}
