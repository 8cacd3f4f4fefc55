/**
 * Real `nats-server` processes for the NATS tests, on random loopback
 * ports: one server, or a cluster of three with routes between them. Each
 * is stopped by its `kill()` (per test: `defer(node.kill)`). Tests skip when `nats-server` is not installed
 * (`.ci/run` installs it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { natsServerBinary } from '../../bench/adapters/hopwire-nats.js';
import { freePort } from './net.js';

/** The `nats-server` binary, or `undefined` when it is not installed. */
export const NATS_SERVER: string | undefined = natsServerBinary();

/** Skips the suite (with a message saying how to run it) when `nats-server` is missing. */
export function skipWithoutNats(ctx: Mocha.Context): void {
  if (NATS_SERVER === undefined) {
    console.log('      (skipped: nats-server is not installed; apt-get install -y nats-server)');
    ctx.skip();
  }
}

/** One running `nats-server`. */
export interface NatsNode {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The monitoring port (`/routez`). */
  readonly monitorPort: number;
  readonly process: ChildProcess;
  /** SIGKILLs it and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts a `nats-server` on loopback; `cluster` joins it to others. */
export async function startNats(cluster?: { port: number; routes: readonly number[] }, extra: readonly string[] = []): Promise<NatsNode> {
  if (NATS_SERVER === undefined) throw new Error('nats-server is not installed');
  const [port, monitorPort] = [await freePort(), await freePort()];
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), ...extra];
  if (cluster !== undefined) {
    args.push('--cluster_name', 'hw', '--cluster', `nats://127.0.0.1:${cluster.port}`);
    if (cluster.routes.length > 0) args.push('--routes', cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
  }
  const child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = once(child, 'exit');
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  await waitFor(async () => (await monitor(monitorPort, '/varz')) !== undefined, () => `nats-server on ${port} did not start: ${log}`);
  return { url: `nats://127.0.0.1:${port}`, port, monitorPort, process: child, kill };
}

/** Starts three `nats-server`s routed to each other; resolves once every route is up. */
export async function startCluster(): Promise<NatsNode[]> {
  const clusterPorts = [await freePort(), await freePort(), await freePort()];
  const nodes = await Promise.all(clusterPorts.map((port) => startNats({ port, routes: clusterPorts.filter((p) => p !== port) })));
  await waitFor(
    async () => {
      const counts = await Promise.all(nodes.map(async (n) => ((await monitor(n.monitorPort, '/routez')) as { num_routes?: number } | undefined)?.num_routes ?? 0));
      return counts.every((c) => c >= 2);
    },
    () => 'the NATS routes did not come up',
  );
  return nodes;
}

/** GETs a monitoring endpoint; `undefined` while the server is not up. */
function monitor(port: number, path: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => {
      resolve(undefined);
    });
  });
}

/** Polls `check` every 20 ms for up to 10 s (an external process gives no event to await). */
async function waitFor(check: () => Promise<boolean>, fail: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(fail());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
