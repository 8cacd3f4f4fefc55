/**
 * The hopwire contender over NATS (`hopwire-nats`): the same `Server.handle()`
 * and `Client.request()` as the `hopwire` contender, with the `nats` and
 * `subject` options instead of a port. The server's worker process starts
 * its own `nats-server` on a free loopback port (and stops it at the end);
 * the endpoint given to clients is that NATS server's. Request/reply only
 * (S2, S3). The NATS server's own CPU time is not in the figures.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, createServer } from 'node:net';
import { Client, Server } from '../../src/index.js';
import { type Adapter, type Endpoint, type PushServer, type RpcClient, Widget, fail } from '../common.js';

const types = [Widget];
const subject = 'bench';

/** The `nats-server` binary, if one is installed. */
export function natsServerBinary(): string | undefined {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') fail('no free port');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

async function startNatsServer(): Promise<{ port: number; child: ChildProcess }> {
  const binary = natsServerBinary() ?? fail('hopwire-nats needs nats-server (apt-get install -y nats-server)');
  const port = await freePort();
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) fail(`nats-server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // an outside process: nothing to await but its port
  }
  return { port, child };
}

function natsUrl(endpoint: Endpoint): string {
  if (endpoint.kind !== 'tcp') fail('hopwire-nats runs over TCP only');
  return `nats://${endpoint.host}:${endpoint.port}`;
}

async function rpcServer(_listen: unknown, reply: (req: unknown) => unknown): Promise<PushServer> {
  const nats = await startNatsServer();
  const server = new Server({ nats: { servers: `nats://127.0.0.1:${nats.port}` }, subject, types });
  server.handle(reply);
  await server.listen();
  return {
    endpoint: { kind: 'tcp', host: '127.0.0.1', port: nats.port },
    close: async () => {
      await server.close();
      nats.child.kill('SIGTERM');
      await once(nats.child, 'exit');
    },
  };
}

async function rpcClient(endpoint: Endpoint): Promise<RpcClient> {
  const client = new Client({ nats: { servers: natsUrl(endpoint) }, subject, types, reconnect: false });
  await client.connect();
  return {
    request: (value) => client.request(value),
    close: () => client.close(),
  };
}

export const adapter: Adapter = {
  rpc: { server: rpcServer, client: rpcClient },
};
