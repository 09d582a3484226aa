import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** A node in a process of its own: the fixture (test/fixture/main.ts) run from source. */
export interface ProcessNode {
  child: ChildProcess;
  http: string;
  ws: string;
  /** Resolves when the process exited (with its code or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Starts the fixture in its own process with `env` over this one's (BROADCAST_DRIVER, REDIS_URL,
 * BROADCAST_REDIS_PREFIX …: see broadcastConfigFromEnv); resolves once it listens.
 */
export async function spawnFixture(env: Record<string, string>): Promise<ProcessNode> {
  const port = await freePort();
  const fixture = (file: string) => fileURLToPath(new URL(`../fixture/${file}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', fixture('typescript.mjs'), fixture('main.ts')], {
    env: { ...process.env, ...env, PORT: String(port), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fixture process did not start')), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('fixture listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the fixture process exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  return { child, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, exited };
}
