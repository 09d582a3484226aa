import { defined } from '../util/defined.js';
import { BroadcastConfigError } from './config-error.js';
import type { BroadcastQueueOptions } from './options.interface.js';

const DEFAULTS = { worker: true, concurrency: 1, attempts: 3, backoff: 1000, keepFailed: 1000 } as const;

/** The `queue` option with its defaults, validated; undefined when there is none. */
export function resolveQueue(input: BroadcastQueueOptions | undefined): Required<BroadcastQueueOptions> | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null) throw new BroadcastConfigError('queue', 'must be an object');
  const q = { ...DEFAULTS, ...defined(input) } as Required<BroadcastQueueOptions>;
  if (typeof q.name !== 'string' || !/^[-\w.]{1,100}$/.test(q.name)) {
    throw new BroadcastConfigError('queue.name', 'must be a queue name of 1-100 letters, digits, - _ or .');
  }
  if (typeof q.worker !== 'boolean') throw new BroadcastConfigError('queue.worker', 'must be a boolean');
  const integer = (k: 'concurrency' | 'attempts' | 'backoff' | 'keepFailed', min: number, max: number) => {
    if (!Number.isInteger(q[k]) || q[k] < min || q[k] > max) {
      throw new BroadcastConfigError(`queue.${k}`, `must be an integer from ${min} to ${max}`);
    }
  };
  integer('concurrency', 1, 1000);
  integer('attempts', 1, 100);
  integer('backoff', 0, 3_600_000);
  integer('keepFailed', 0, 1_000_000);
  return Object.freeze(q);
}
