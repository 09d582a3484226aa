import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CacheStore } from '../../../lib/core/cache-store.js';
import type { CachedEvent } from '../../../lib/port/stream.js';
import { HeldCluster } from '../../helpers/held-cluster.js';

const T = 1_700_000_000_000;

afterEach(() => {
  jest.restoreAllMocks();
});

describe('CacheStore', () => {
  it('keeps the last event of a channel, with the seconds it is still kept (rounded up)', () => {
    jest.spyOn(Date, 'now').mockReturnValue(T);
    const store = new CacheStore(60, undefined);
    store.remember('cache-a', 'first', '1', undefined);
    store.remember('cache-a', 'second', '{"n":2}', '{"n" : 2}');
    expect(store.local('cache-a', T)).toEqual({ event: 'second', json: '{"n":2}', raw: '{"n" : 2}', ttl: 60 });
    expect(store.local('cache-a', T + 1500)).toMatchObject({ event: 'second', ttl: 59 });
    expect(store.local('cache-a', T + 59_999)).toMatchObject({ ttl: 1 });
    expect(store.local('cache-b', T)).toBeNull();
  });

  it('forgets an event once its TTL is over', () => {
    jest.spyOn(Date, 'now').mockReturnValue(T);
    const store = new CacheStore(60, undefined);
    store.remember('cache-a', 'e', '1', undefined);
    expect(store.local('cache-a', T + 60_000)).toBeNull();
    expect(store.local('cache-a', T)).toBeNull(); // gone, not only hidden
  });

  it('sweeps expired entries every 1024 channels, so that a node does not keep dead ones forever', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(T);
    const store = new CacheStore(1, undefined);
    const entries = (store as unknown as { entries: Map<string, unknown> }).entries;
    for (let i = 0; i < 1024; i++) store.remember(`cache-${i}`, 'e', '1', undefined);
    now.mockReturnValue(T + 500);
    store.remember('cache-live', 'e', '1', undefined);
    expect(entries.size).toBe(1025); // at 1024: nothing expired yet
    for (let i = 1025; i < 2048; i++) store.remember(`cache-x${i}`, 'e', '1', undefined);
    now.mockReturnValue(T + 1000);
    store.remember('cache-last', 'e', '1', undefined);
    // The first 1024 expired at T + 1000 and were swept; the rest (stored at T + 500) stay.
    expect(entries.size).toBe(1025);
    expect(entries.has('cache-0')).toBe(false);
    expect(entries.has('cache-live')).toBe(true);
  });

  it('walks its entries only on every 1024th channel, not on each event: expired ones wait for that sweep', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(T);
    const store = new CacheStore(1, undefined);
    const entries = (store as unknown as { entries: Map<string, unknown> }).entries;
    for (let i = 0; i < 3; i++) store.remember(`cache-${i}`, 'e', '1', undefined);
    now.mockReturnValue(T + 5000);
    store.remember('cache-3', 'e', '1', undefined);
    expect([...entries.keys()]).toEqual(['cache-0', 'cache-1', 'cache-2', 'cache-3']);
  });

  it('answers from this node without a cluster, and from the cluster with one', async () => {
    const local = new CacheStore(60, undefined);
    local.remember('cache-a', 'e', '1', undefined);
    expect(await local.cached('cache-a')).toMatchObject({ event: 'e', json: '1' });
    const cluster = new (class extends HeldCluster {
      override async cached(channel: string): Promise<CachedEvent | null> {
        return channel === 'cache-a' ? { event: 'cluster', json: '2', id: 'x', ttl: 5 } : null;
      }
    })();
    const clustered = new CacheStore(60, cluster);
    clustered.remember('cache-b', 'e', '1', undefined);
    expect(await clustered.cached('cache-a')).toEqual({ event: 'cluster', json: '2', id: 'x', ttl: 5 });
    expect(await clustered.cached('cache-b')).toBeNull();
  });
});
