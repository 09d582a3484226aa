import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './until.js';

/**
 * A Redis Cluster of a test's own (three primaries, and a replica of the first with `replica`), on
 * free ports, for the faults a test inflicts on it (moving slots, killing a primary) without
 * disturbing the cluster the other suites share. Needs redis-server and redis-cli on the PATH.
 */
export class OwnCluster {
  private readonly processes = new Map<number, ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly primaries: number[],
    readonly replica: number | undefined,
  ) {}

  static async start({ replica = false } = {}): Promise<OwnCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'nb-own-cluster-'));
    const taken = new Set<number>();
    const primaries = [await clusterPort(taken), await clusterPort(taken), await clusterPort(taken)];
    const c = new OwnCluster(dir, primaries, replica ? await clusterPort(taken) : undefined);
    for (const port of c.ports) c.launch(port);
    for (const port of c.ports) await until(async () => c.answers(port), 5000, `redis-server on ${port}`);
    execFileSync('redis-cli', ['--cluster', 'create', ...primaries.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], {
      stdio: 'ignore',
    });
    if (c.replica !== undefined) {
      execFileSync(
        'redis-cli',
        ['--cluster', 'add-node', `127.0.0.1:${c.replica}`, `127.0.0.1:${primaries[0]}`, '--cluster-slave'],
        { stdio: 'ignore' },
      );
      await until(
        async () => /master_link_status:up/.test(c.cli(c.replica as number, 'info', 'replication')),
        10_000,
        'the replica to sync',
      );
    }
    await until(
      async () => c.ports.every((p) => /cluster_state:ok/.test(c.cli(p, 'cluster', 'info'))),
      10_000,
      'cluster_state:ok',
    );
    return c;
  }

  get ports(): number[] {
    return this.replica === undefined ? this.primaries : [...this.primaries, this.replica];
  }

  /** `host:port` of the primaries, for `redis.cluster`. */
  get nodes(): string[] {
    return this.primaries.map((p) => `127.0.0.1:${p}`);
  }

  private launch(port: number): void {
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'],
        ...['--cluster-config-file', join(this.dir, `${port}.conf`), '--cluster-node-timeout', '1000'],
        ...['--save', '', '--appendonly', 'no', '--dir', this.dir],
      ],
      { stdio: 'ignore' },
    );
    this.processes.set(port, child);
  }

  private answers(port: number): boolean {
    try {
      return this.cli(port, 'ping').trim() === 'PONG';
    } catch {
      return false;
    }
  }

  cli(port: number, ...args: string[]): string {
    return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  }

  id(port: number): string {
    return this.cli(port, 'cluster', 'myid').trim();
  }

  /** The primary that serves `slot` now. */
  owner(slot: number): number {
    const alive = this.ports.find(
      (p) => this.processes.get(p)?.exitCode === null && this.processes.get(p)?.signalCode === null,
    );
    const slots = JSON.parse(
      execFileSync('redis-cli', ['-p', String(alive), '--json', 'cluster', 'slots'], { encoding: 'utf8' }),
    ) as Array<[number, number, [string, number]]>;
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`slot ${slot} is not served`);
    return Number(range[2][1]);
  }

  /** Moves `slot` and its keys to `to`, as `redis-cli --cluster reshard` does, one step at a time. */
  async migrate(slot: number, to: number, between?: () => Promise<void>): Promise<void> {
    const from = this.owner(slot);
    this.cli(to, 'cluster', 'setslot', String(slot), 'importing', this.id(from));
    this.cli(from, 'cluster', 'setslot', String(slot), 'migrating', this.id(to));
    await between?.();
    for (;;) {
      const keys = this.cli(from, 'cluster', 'getkeysinslot', String(slot), '100').split('\n').filter(Boolean);
      if (keys.length === 0) break;
      this.cli(from, 'migrate', '127.0.0.1', String(to), '', '0', '5000', 'keys', ...keys);
      await between?.();
    }
    for (const port of this.primaries) {
      if (this.processes.get(port)?.exitCode === null)
        this.cli(port, 'cluster', 'setslot', String(slot), 'node', this.id(to));
    }
  }

  /** SIGKILLs a server. */
  kill(port: number): void {
    this.processes.get(port)?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    for (const child of this.processes.values()) child.kill('SIGKILL');
    await Promise.all(
      [...this.processes.values()].map((c) =>
        c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a port can be listened on on 127.0.0.1 now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port for a cluster node: it and its cluster bus port (+10000) free, both below the ephemeral
 * range (32768 and up), where a busy machine's outgoing connections cannot take them meanwhile.
 */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 2700);
    if (taken.has(port) || !(await bindable(port)) || !(await bindable(port + 10000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port pair for a cluster node in 20000-22700 / 30000-32700');
}
