import { Redis } from 'ioredis';
import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { type RunningApp, startFixture } from './app.js';
import { REDIS_URL, TcpProxy, testPrefix } from './redis.js';
import { TestClient } from './test-client.js';

/**
 * Two nodes on a fresh prefix: `a` reaches Redis through a proxy the test can cut, `b` directly.
 * With the short default TTL, node B sweeps node A 1.5–2 s into an outage.
 */
export async function outagePair(
  name: string,
  {
    extra = {},
    cutFirst = false,
    nodeTtl = 1500,
  }: { extra?: BroadcastModuleOptions; cutFirst?: boolean; nodeTtl?: number } = {},
) {
  const prefix = testPrefix(name);
  const proxy = await new TcpProxy().start();
  if (cutFirst) await proxy.cut();
  const a = await startFixture({ driver: 'redis', redis: { url: proxy.url, prefix, nodeTtl }, ...extra });
  const b = await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix, nodeTtl }, ...extra });
  const redis = new Redis(REDIS_URL);
  const open: TestClient[] = [];
  return {
    prefix,
    proxy,
    a,
    b,
    redis,
    /** Subscribers of a Redis pub/sub channel under the prefix. */
    numsub: async (channel: string) => ((await redis.pubsub('NUMSUB', `${prefix}${channel}`)) as [string, number])[1],
    client: async (run: RunningApp) => {
      const c = await TestClient.native(run.ws);
      open.push(c);
      return c;
    },
    async close() {
      await Promise.all(open.map((c) => c.close()));
      for (const run of [a, b]) await run.close().catch(() => {}); // a test may have closed one

      await proxy.close();
      redis.disconnect();
    },
  };
}
