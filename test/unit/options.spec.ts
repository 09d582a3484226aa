import { describe, expect, it, jest } from '@jest/globals';
import { BroadcastConfigError } from '../../lib/config/config-error.js';
import { DEFAULT_BROADCAST_OPTIONS } from '../../lib/config/defaults.js';
import { broadcastConfigFromEnv } from '../../lib/config/env.js';
import { resolveBroadcastOptions } from '../../lib/config/resolve-options.js';

describe('options', () => {
  it('applies the documented defaults and warns about dev credentials', () => {
    const warn = jest.fn();
    const o = resolveBroadcastOptions({}, { nodeEnv: 'development', warn });
    expect(o).toMatchObject({
      path: '/ws',
      maxChannels: 0,
      maxSubscribersPerChannel: 0,
      maxChannelsPerConnection: 100,
      heartbeatInterval: 30,
      clientTimeout: 60,
      allowClientEvents: true,
      allowedOrigins: [],
      maxMessageSize: 65536,
      driver: 'local',
      perMessageDeflate: false,
    });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/development credentials/));
  });

  it('refuses dev credentials in production, naming the option', () => {
    expect(() => resolveBroadcastOptions({}, { nodeEnv: 'production' })).toThrow(/"secret"/);
    expect(() => resolveBroadcastOptions({ secret: 's3cret-value' }, { nodeEnv: 'production' })).toThrow(/"key"/);
    const o = resolveBroadcastOptions({ key: 'k1', secret: 's3cret-value' }, { nodeEnv: 'production' });
    expect(o.key).toBe('k1');
  });

  it.each([
    [{ path: 'ws' }, 'path'],
    [{ path: '/app/x' }, 'path'],
    [{ maxChannels: -1 }, 'maxChannels'],
    [{ maxChannelsPerConnection: 1.5 }, 'maxChannelsPerConnection'],
    [{ maxMessageSize: 10 }, 'maxMessageSize'],
    [{ heartbeatInterval: 0 }, 'heartbeatInterval'],
    [{ heartbeatInterval: 10, clientTimeout: 5 }, 'clientTimeout'],
    [{ driver: 'kafka' }, 'driver'],
    [{ allowedOrigins: 'x' }, 'allowedOrigins'],
    [{ allowedOrigins: ['good.example'] }, 'allowedOrigins'],
    [{ allowedOrigins: ['https://good.example/app'] }, 'allowedOrigins'],
    [{ key: 'has space' }, 'key'],
    [{ secret: '' }, 'secret'],
    [{ driver: 'redis', redis: { options: { keyPrefix: 'app:' } } }, 'redis.options.keyPrefix'],
  ])('rejects %j naming %s', (input, option) => {
    let error: unknown;
    try {
      resolveBroadcastOptions(input as never, { nodeEnv: 'test' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BroadcastConfigError);
    expect((error as BroadcastConfigError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}"`);
  });

  it('backlog: 4096 by default, BROADCAST_BACKLOG, an integer from 0 to 2^31 - 1', () => {
    expect(resolveBroadcastOptions({}, { nodeEnv: 'test' }).backlog).toBe(4096);
    expect(broadcastConfigFromEnv({ BROADCAST_BACKLOG: '8192' })).toEqual({ backlog: 8192 });
    expect(resolveBroadcastOptions({ backlog: 0 }, { nodeEnv: 'test' }).backlog).toBe(0);
    expect(resolveBroadcastOptions({ backlog: 2 ** 31 - 1 }, { nodeEnv: 'test' }).backlog).toBe(2 ** 31 - 1);
    for (const backlog of [-1, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => resolveBroadcastOptions({ backlog }, { nodeEnv: 'test' })).toThrow(/"backlog"/);
    }
    expect(() => broadcastConfigFromEnv({ BROADCAST_BACKLOG: 'big' })).toThrow(/"backlog".*BROADCAST_BACKLOG/);
  });

  it('accepts fractional seconds', () => {
    const o = resolveBroadcastOptions({ heartbeatInterval: 0.05, clientTimeout: 0.2 }, { nodeEnv: 'test' });
    expect(o.heartbeatInterval).toBe(0.05);
  });

  it('reads BROADCAST_* variables', () => {
    const env = {
      BROADCAST_APP_ID: 'a1',
      BROADCAST_KEY: 'k',
      BROADCAST_SECRET: 's',
      BROADCAST_PATH: '/realtime',
      BROADCAST_MAX_CHANNELS: '10',
      BROADCAST_MAX_SUBSCRIBERS: '20',
      BROADCAST_MAX_CHANNELS_PER_CONNECTION: '5',
      BROADCAST_HEARTBEAT_INTERVAL: '0.5',
      BROADCAST_CLIENT_TIMEOUT: '2',
      BROADCAST_ALLOW_CLIENT_EVENTS: 'false',
      BROADCAST_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      BROADCAST_MAX_MESSAGE_SIZE: '4096',
      BROADCAST_DRIVER: 'memory',
    };
    expect(broadcastConfigFromEnv(env)).toEqual({
      appId: 'a1',
      key: 'k',
      secret: 's',
      path: '/realtime',
      maxChannels: 10,
      maxSubscribersPerChannel: 20,
      maxChannelsPerConnection: 5,
      heartbeatInterval: 0.5,
      clientTimeout: 2,
      allowClientEvents: false,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      maxMessageSize: 4096,
      driver: 'memory',
    });
    expect(broadcastConfigFromEnv({})).toEqual({});
  });

  it('reads the Pusher-extras, recovery and proxy variables, and validates what they give', () => {
    const masterKey = Buffer.alloc(32, 7).toString('base64');
    const env = {
      BROADCAST_ENCRYPTION_MASTER_KEY: masterKey,
      BROADCAST_CACHE_TTL: '60',
      BROADCAST_WEBHOOK_URLS: 'https://a.example/hooks, https://b.example/hooks',
      BROADCAST_WEBHOOK_EVENTS: 'channel_occupied,member_added',
      BROADCAST_RECOVERY_CHANNELS: 'orders, private-*',
      BROADCAST_RECOVERY_SIZE: '50',
      BROADCAST_RECOVERY_TTL: '30',
      BROADCAST_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7',
    };
    const read = broadcastConfigFromEnv(env);
    expect(read).toEqual({
      encryptionMasterKey: masterKey,
      cacheTtl: 60,
      webhooks: {
        urls: ['https://a.example/hooks', 'https://b.example/hooks'],
        events: ['channel_occupied', 'member_added'],
      },
      recovery: { channels: ['orders', 'private-*'], size: 50, ttl: 30 },
      trustProxy: ['10.0.0.0/8', '192.168.1.7'],
    });
    const o = resolveBroadcastOptions(read, { nodeEnv: 'test' });
    expect(o.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7']);
    expect(broadcastConfigFromEnv({ BROADCAST_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ BROADCAST_ENCRYPTION_MASTER_KEY: 'c2hvcnQ=' }, /"encryptionMasterKey".*32 bytes/],
      [{ BROADCAST_CACHE_TTL: '3600' }, /"cacheTtl"/],
      [{ BROADCAST_WEBHOOK_URLS: 'https://a.example', BROADCAST_WEBHOOK_EVENTS: 'everything' }, /"webhooks.events"/],
      // On without naming the proxies: any client could write its own address.
      [{ BROADCAST_TRUST_PROXY: 'true' }, /"trustProxy".*addresses or ranges/],
      [{ BROADCAST_TRUST_PROXY: '2' }, /"trustProxy".*addresses or ranges/],
      [{ BROADCAST_TRUST_PROXY: 'sometimes' }, /"trustProxy".*not an IP address/],
      [{ BROADCAST_TRUST_PROXY: '10.0.0.0/33' }, /"trustProxy".*prefix length/],
      [{ BROADCAST_MAX_PRESENCE_MEMBERS: '-1' }, /"maxPresenceMembers"/],
      [{ BROADCAST_MAX_CLIENT_EVENT_BYTES: '1.5' }, /"maxClientEventBytes"/],
      [{ BROADCAST_HANDSHAKE_TIMEOUT: '0' }, /"handshakeTimeout"/],
    ];
    for (const [vars, error] of refused) {
      expect(() => resolveBroadcastOptions(broadcastConfigFromEnv(vars), { nodeEnv: 'test' })).toThrow(error);
    }
  });

  it('reads BROADCAST_RECOVERY_SIZE and _TTL without _CHANNELS (limits of the channels configured in code)', () => {
    const read = broadcastConfigFromEnv({ BROADCAST_RECOVERY_SIZE: '50', BROADCAST_RECOVERY_TTL: '30' });
    expect(read).toEqual({ recovery: { size: 50, ttl: 30 } });
    const o = resolveBroadcastOptions(
      { ...read, recovery: { channels: ['orders'], ...read.recovery } },
      { nodeEnv: 'test' },
    );
    expect(o.recovery).toMatchObject({ channels: ['orders'], size: 50, ttl: 30 });
    expect(resolveBroadcastOptions(read, { nodeEnv: 'test' }).recovery).toMatchObject({
      channels: [],
      size: 50,
      ttl: 30,
    });
    expect(() => broadcastConfigFromEnv({ BROADCAST_RECOVERY_SIZE: 'lots' })).toThrow(/"recovery.size"/);
  });

  it('validates the replay budget', () => {
    const o = resolveBroadcastOptions({}, { nodeEnv: 'test' });
    expect(o.recovery).toMatchObject({ maxReplayEvents: 10_000, maxReplayBytes: 8 * 1024 * 1024, replayWindow: 60 });
    for (const [recovery, error] of [
      [{ maxReplayEvents: 0 }, /"recovery.maxReplayEvents"/],
      [{ maxReplayBytes: 1.5 }, /"recovery.maxReplayBytes"/],
      [{ replayWindow: 0 }, /"recovery.replayWindow"/],
    ] as const) {
      expect(() => resolveBroadcastOptions({ recovery }, { nodeEnv: 'test' })).toThrow(error);
    }
  });

  it('reads and validates the webhook byte budget', () => {
    const read = broadcastConfigFromEnv({
      BROADCAST_WEBHOOK_URLS: 'https://a.example/hooks',
      BROADCAST_WEBHOOK_MAX_QUEUE_BYTES: '4194304',
    });
    expect(read).toEqual({ webhooks: { urls: ['https://a.example/hooks'], maxQueueBytes: 4 * 1024 * 1024 } });
    expect(resolveBroadcastOptions(read, { nodeEnv: 'test' }).webhooks?.maxQueueBytes).toBe(4 * 1024 * 1024);
    const urls = ['https://a.example/hooks'];
    expect(
      resolveBroadcastOptions({ webhooks: { urls, maxQueueBytes: 1024 * 1024 } }, { nodeEnv: 'test' }).webhooks,
    ).toEqual({ urls, maxQueueBytes: 1024 * 1024 });
    for (const maxQueueBytes of [1024 * 1024 - 1, 1024 * 1024 + 0.5, -1, Number.POSITIVE_INFINITY]) {
      expect(() => resolveBroadcastOptions({ webhooks: { urls, maxQueueBytes } }, { nodeEnv: 'test' })).toThrow(
        /"webhooks.maxQueueBytes"/,
      );
    }
    expect(() =>
      broadcastConfigFromEnv({
        BROADCAST_WEBHOOK_URLS: 'https://a.example',
        BROADCAST_WEBHOOK_MAX_QUEUE_BYTES: 'lots',
      }),
    ).toThrow(/"webhooks.maxQueueBytes".*BROADCAST_WEBHOOK_MAX_QUEUE_BYTES/);
  });

  it('refuses webhook URLs with credentials, which fetch would refuse at every delivery, without repeating them', () => {
    for (const url of [
      'https://user:s3cret@a.example/hooks',
      'https://user@a.example/hooks',
      'http://:s3cret@a.example',
    ]) {
      let message = '';
      try {
        resolveBroadcastOptions({ webhooks: { urls: ['https://ok.example/hooks', url] } }, { nodeEnv: 'test' });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/"webhooks.urls".*must not hold credentials/);
      expect(message).not.toContain('s3cret');
    }
    const urls = ['https://a.example/hooks?token=abc', 'http://127.0.0.1:8080/h'];
    expect(resolveBroadcastOptions({ webhooks: { urls } }, { nodeEnv: 'test' }).webhooks?.urls).toEqual(urls);
  });

  it('reads the node TTL of the cluster drivers and validates it', () => {
    const read = broadcastConfigFromEnv({ BROADCAST_REDIS_NODE_TTL: '15000', BROADCAST_NATS_NODE_TTL: '12000' });
    expect(read).toEqual({ redis: { nodeTtl: 15_000 }, nats: { nodeTtl: 12_000 } });
    expect(resolveBroadcastOptions(read, { nodeEnv: 'test' }).redis.nodeTtl).toBe(15_000);
    expect(() => broadcastConfigFromEnv({ BROADCAST_REDIS_NODE_TTL: 'long' })).toThrow(
      /"redis.nodeTtl".*BROADCAST_REDIS_NODE_TTL/,
    );
    expect(() =>
      resolveBroadcastOptions(broadcastConfigFromEnv({ BROADCAST_REDIS_NODE_TTL: '100' }), { nodeEnv: 'test' }),
    ).toThrow(/"redis.nodeTtl"/);
  });

  it('reads the queue variables, applies the queue defaults and validates them', () => {
    const read = broadcastConfigFromEnv({ BROADCAST_QUEUE: 'broadcasts', BROADCAST_QUEUE_WORKER: 'false' });
    expect(read).toEqual({ queue: { name: 'broadcasts', worker: false } });
    expect(resolveBroadcastOptions(read, { nodeEnv: 'test' }).queue).toEqual({
      name: 'broadcasts',
      worker: false,
      concurrency: 1,
      attempts: 3,
      backoff: 1000,
      keepFailed: 1000,
    });
    expect(resolveBroadcastOptions({}, { nodeEnv: 'test' }).queue).toBeUndefined();
    const bad: Array<[object, string]> = [
      [{ name: '' }, 'queue.name'],
      [{ name: 'a b' }, 'queue.name'],
      [{ name: 'q', worker: 'yes' }, 'queue.worker'],
      [{ name: 'q', concurrency: 0 }, 'queue.concurrency'],
      [{ name: 'q', attempts: 1.5 }, 'queue.attempts'],
      [{ name: 'q', backoff: -1 }, 'queue.backoff'],
      [{ name: 'q', keepFailed: -1 }, 'queue.keepFailed'],
    ];
    for (const [queue, option] of bad) {
      expect(() => resolveBroadcastOptions({ queue } as never, { nodeEnv: 'test' })).toThrow(`"${option}"`);
    }
    expect(() => broadcastConfigFromEnv({ BROADCAST_QUEUE: 'q', BROADCAST_QUEUE_WORKER: 'maybe' })).toThrow(
      /"queue.worker".*BROADCAST_QUEUE_WORKER/,
    );
  });

  it('names the option of an unparsable env value', () => {
    expect(() => broadcastConfigFromEnv({ BROADCAST_MAX_CHANNELS: 'lots' })).toThrow(
      /"maxChannels".*BROADCAST_MAX_CHANNELS/,
    );
    expect(() => broadcastConfigFromEnv({ BROADCAST_ALLOW_CLIENT_EVENTS: 'maybe' })).toThrow(/"allowClientEvents"/);
  });

  describe('pusher driver options', () => {
    const pusher = { host: 'soketi.internal', port: 6001, useTLS: false };

    it("takes the module credentials by default, so the auth endpoint signs with the remote app's", () => {
      const o = resolveBroadcastOptions(
        { driver: 'pusher', appId: 'a', key: 'k', secret: 's', pusher },
        { nodeEnv: 'test' },
      );
      expect(o.pusher).toEqual({
        appId: 'a',
        key: 'k',
        secret: 's',
        host: 'soketi.internal',
        port: 6001,
        useTLS: false,
        timeout: 10,
      });
    });

    it('gives credentials set under pusher to the module too, and refuses two different ones', () => {
      const o = resolveBroadcastOptions(
        { driver: 'pusher', pusher: { ...pusher, appId: 'r', key: 'rk', secret: 'rs' } },
        { nodeEnv: 'production' },
      );
      expect([o.appId, o.key, o.secret]).toEqual(['r', 'rk', 'rs']);
      expect(o.pusher).toMatchObject({ appId: 'r', key: 'rk', secret: 'rs' });
      expect(() =>
        resolveBroadcastOptions(
          { driver: 'pusher', secret: 'one', pusher: { ...pusher, secret: 'two' } },
          { nodeEnv: 'test' },
        ),
      ).toThrow(/"pusher.secret": differs from secret/);
    });

    it('defaults to TLS and a 10 s timeout, and builds the host of a Pusher cluster', () => {
      const o = resolveBroadcastOptions({ driver: 'pusher', pusher: { cluster: 'eu' } }, { nodeEnv: 'test' });
      expect(o.pusher).toMatchObject({ host: 'api-eu.pusher.com', useTLS: true, timeout: 10 });
      expect(o.pusher?.port).toBeUndefined();
      expect(resolveBroadcastOptions({ pusher }, { nodeEnv: 'test' }).pusher).toBeUndefined();
    });

    it.each([
      [{}, 'pusher.host'],
      [{ host: 'https://x.example' }, 'pusher.host'],
      [{ host: 'x.example/path' }, 'pusher.host'],
      [{ cluster: 'EU!' }, 'pusher.cluster'],
      [{ host: 'x', port: 0 }, 'pusher.port'],
      [{ host: 'x', port: 1.5 }, 'pusher.port'],
      [{ host: 'x', useTLS: 'no' }, 'pusher.useTLS'],
      [{ host: 'x', timeout: 0 }, 'pusher.timeout'],
    ])('rejects pusher %j naming %s', (p, option) => {
      expect(() => resolveBroadcastOptions({ driver: 'pusher', pusher: p as never }, { nodeEnv: 'test' })).toThrow(
        `"${option}"`,
      );
    });

    it('reads BROADCAST_PUSHER_*', () => {
      const env = {
        BROADCAST_PUSHER_HOST: 'reverb.internal',
        BROADCAST_PUSHER_PORT: '8080',
        BROADCAST_PUSHER_SCHEME: 'http',
        BROADCAST_PUSHER_CLUSTER: 'mt1',
        BROADCAST_PUSHER_TIMEOUT: '2.5',
      };
      expect(broadcastConfigFromEnv(env).pusher).toEqual({
        host: 'reverb.internal',
        port: 8080,
        useTLS: false,
        cluster: 'mt1',
        timeout: 2.5,
      });
      expect(broadcastConfigFromEnv({ BROADCAST_PUSHER_SCHEME: 'https' }).pusher).toEqual({ useTLS: true });
      expect(() => broadcastConfigFromEnv({ BROADCAST_PUSHER_SCHEME: 'wss' })).toThrow(/"pusher.useTLS"/);
      expect(() => broadcastConfigFromEnv({ BROADCAST_PUSHER_PORT: 'x' })).toThrow(/"pusher.port"/);
    });
  });

  describe('metrics and event emitter options', () => {
    it('are off by default; metrics: true turns metrics on with /metrics and broadcast_', () => {
      const off = resolveBroadcastOptions({}, { nodeEnv: 'test' });
      expect(off.metrics).toEqual({ enabled: false, path: '/metrics', prefix: 'broadcast_', defaultMetrics: false });
      expect(off.eventEmitter).toBe(false);
      expect(resolveBroadcastOptions({ metrics: true }, { nodeEnv: 'test' }).metrics).toMatchObject({
        enabled: true,
        path: '/metrics',
      });
      const m = resolveBroadcastOptions({ metrics: { path: false, prefix: 'rt_' } }, { nodeEnv: 'test' }).metrics;
      expect(m).toEqual({ enabled: true, path: false, prefix: 'rt_', defaultMetrics: false });
    });

    it.each([
      [{ metrics: 'yes' }, 'metrics'],
      [{ metrics: { path: 'metrics' } }, 'metrics.path'],
      [{ metrics: { path: '/ws' } }, 'metrics.path'],
      [{ metrics: { path: '/apps/x' } }, 'metrics.path'],
      [{ metrics: { prefix: 'bad-prefix' } }, 'metrics.prefix'],
      [{ metrics: { enabled: 1 } }, 'metrics.enabled'],
      [{ metrics: { registry: {} } }, 'metrics.registry'],
      [{ eventEmitter: 'yes' }, 'eventEmitter'],
    ])('rejects %j naming %s', (input, option) => {
      expect(() => resolveBroadcastOptions(input as never, { nodeEnv: 'test' })).toThrow(`"${option}"`);
    });

    it('reads BROADCAST_METRICS* and BROADCAST_EVENT_EMITTER', () => {
      const env = {
        BROADCAST_METRICS: 'true',
        BROADCAST_METRICS_PATH: '/internal/metrics',
        BROADCAST_METRICS_PREFIX: 'ws_',
        BROADCAST_METRICS_DEFAULT: 'yes',
        BROADCAST_EVENT_EMITTER: 'on',
      };
      expect(broadcastConfigFromEnv(env)).toEqual({
        metrics: { enabled: true, path: '/internal/metrics', prefix: 'ws_', defaultMetrics: true },
        eventEmitter: true,
      });
      expect(broadcastConfigFromEnv({ BROADCAST_METRICS_PATH: 'off' }).metrics).toEqual({ path: false });
      expect(() => broadcastConfigFromEnv({ BROADCAST_METRICS: 'maybe' })).toThrow(/"metrics.enabled"/);
    });
  });

  it('keeps defaults frozen', () => {
    expect(Object.isFrozen(DEFAULT_BROADCAST_OPTIONS)).toBe(true);
  });
});
