import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsModules } from '../../lib/drivers/nats/client.js';
import { NatsDriver } from '../../lib/drivers/nats/nats.driver.js';
import { Names } from '../../lib/drivers/nats/subjects.js';
import { unavailable } from './availability.js';
import { RecordingNode } from './driver-node.js';
import { until } from './until.js';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** The client's packages, as createDriver loads them. */
export const natsModules = async (): Promise<NatsModules> =>
  ({
    transport: await import('@nats-io/transport-node'),
    jetstream: await import('@nats-io/jetstream'),
    kv: await import('@nats-io/kv'),
  }) as unknown as NatsModules;

/**
 * Whether a NATS server with JetStream answers. Under a truthy CI a missing NATS fails the run;
 * elsewhere the NATS suites are skipped with a visible message (availability.ts).
 */
export async function natsAvailable(): Promise<boolean> {
  let nc: NatsConnection | undefined;
  try {
    // A server that is not there refuses at once; a loaded machine may take seconds to answer one that is.
    nc = await connect({ servers: NATS_URL, timeout: 10_000, reconnect: false });
    await (await jetstreamManager(nc)).getAccountInfo();
    return true;
  } catch {
    return unavailable(`NATS with JetStream at ${NATS_URL}`, 'set NATS_URL or start nats-server -js');
  } finally {
    await nc?.close();
  }
}

/** A fresh subject prefix, so suites sharing one server never see each other. */
export const natsPrefix = (name: string) => `nbtest.${name}.${randomBytes(4).toString('hex')}`;

/** A plain connection to look at what the driver keeps, and to clean up after a suite. */
export class NatsProbe {
  private constructor(
    readonly nc: NatsConnection,
    readonly names: Names,
  ) {}

  static async open(prefix: string): Promise<NatsProbe> {
    return new NatsProbe(await connect({ servers: NATS_URL }), new Names(prefix));
  }

  /** A bucket of the prefix (opened, not created). */
  bucket(kind: Parameters<Names['bucket']>[0]) {
    return new Kvm(this.nc).open(this.names.bucket(kind));
  }

  /** Keys of a bucket that hold a value (not deleted or purged). */
  async liveKeys(kind: 'nodes' | 'subs' | 'presence'): Promise<string[]> {
    const jsm = await jetstreamManager(this.nc);
    const bucket = this.names.bucket(kind);
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: '>' }).catch(() => undefined);
    const kv = await this.bucket(kind);
    const out: string[] = [];
    for (const subject of Object.keys(info?.state.subjects ?? {})) {
      const key = subject.slice(`$KV.${bucket}.`.length);
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT') out.push(key);
    }
    return out;
  }

  /** Closes without deleting anything. */
  async close(): Promise<void> {
    await this.nc.close();
  }

  /** Deletes the prefix's buckets and history stream, and closes. */
  async cleanup(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const streams = ['nodes', 'subs', 'presence', 'cache', 'epochs'].map(
      (k) => `KV_${this.names.bucket(k as Parameters<Names['bucket']>[0])}`,
    );
    for (const name of [...streams, this.names.stream()]) await jsm.streams.delete(name).catch(() => false);
    await this.nc.close();
  }
}

export interface NatsTestNode {
  driver: NatsDriver;
  node: RecordingNode;
}

/** Starts a node on `prefix` and waits until it is registered (its heartbeat entry) and listening. */
export async function startNatsNode(
  probe: NatsProbe,
  prefix: string,
  id: string,
  { nodeTtl = 3000, servers = NATS_URL }: { nodeTtl?: number; servers?: string } = {},
): Promise<NatsTestNode> {
  const node = new RecordingNode(id);
  const driver = new NatsDriver(await natsModules(), 'test', { servers, prefix, nodeTtl });
  driver.attach(node);
  try {
    await driver.barrier();
    const nodes = await probe.bucket('nodes');
    await until(async () => (await nodes.get(id))?.operation === 'PUT', 5000, `node ${id} to register`);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return { driver, node };
}
