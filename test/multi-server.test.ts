import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Client, type DisconnectInfo, Server, type TcpAddress } from '../src/index.js';
import { ServerPool } from '../src/server-pool.js';
import { closeAll, defer, freePort, startServer } from './support/net.js';

async function named(name: string): Promise<{ server: Server; port: number }> {
  const started = await startServer();
  started.server.handle((req) => ({ name, req }));
  return started;
}

function poolClient(ports: number[], options: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  const client = new Client({ servers: ports.map((port) => ({ port })), reconnect: { initial: 10, max: 50 }, ...options });
  defer(() => client.close());
  return client;
}

async function names(client: Client, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(((await client.request(i)) as { name: string }).name);
  return out;
}

describe('several servers behind one client', () => {
  afterEach(closeAll);

  it('round-robin spreads requests evenly over the connected servers', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map(named));
    const client = poolClient(servers.map((s) => s.port));
    await client.connect();
    while (servers.some((s) => s.server.sessions.length === 0)) await Promise.race(servers.map((s) => once(s.server, 'connect')));
    const got = await names(client, 30);
    expect(got.filter((n) => n === 'a')).to.have.length(10);
    expect(got.filter((n) => n === 'b')).to.have.length(10);
    expect(got.filter((n) => n === 'c')).to.have.length(10);
  });

  it('failover uses the first connected server, then the next when it goes', async () => {
    const a = await named('a');
    const b = await named('b');
    const client = poolClient([a.port, b.port], { strategy: 'failover' });
    await client.connect();
    while (client.stats().state !== 'connected' || b.server.sessions.length === 0) await once(b.server, 'connect');
    expect(await names(client, 5)).to.deep.equal(['a', 'a', 'a', 'a', 'a']);
    const gone = once(client, 'disconnect') as Promise<[DisconnectInfo, TcpAddress]>;
    await a.server.close();
    const [, which] = await gone;
    expect(which.port).to.equal(a.port);
    expect(await names(client, 3)).to.deep.equal(['b', 'b', 'b']);
  });

  it('connect() resolves when at least one server is up; events say which server', async () => {
    const up = await named('up');
    const client = poolClient([await freePort(), up.port, await freePort()]);
    const connected: number[] = [];
    client.on('connect', (server) => connected.push((server as TcpAddress).port));
    await client.connect();
    expect(connected).to.deep.equal([up.port]);
    expect(client.state).to.equal('connected');
    expect(await names(client, 4)).to.deep.equal(['up', 'up', 'up', 'up']);
  });

  it('connect() rejects when no server answers, and later connects when one appears', async () => {
    const port = await freePort();
    const client = poolClient([port, await freePort()]);
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
    const late = new Server({ port });
    defer(() => late.close());
    late.handle(() => 'late');
    const connected = once(client, 'connect');
    await late.listen();
    await connected;
    expect(await client.request(0)).to.equal('late');
  });

  it('a SIGKILLed server process: only its in-flight requests fail, with a clear code; the rest go elsewhere', async function () {
    this.timeout(30_000);
    const children: ChildProcess[] = [];
    const ports: number[] = [];
    for (const name of ['p1', 'p2', 'p3']) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'named-server.ts'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      defer(() => {
        child.kill('SIGKILL');
        return undefined;
      });
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      ports.push(Number(/port (\d+)/.exec(line.toString())?.[1]));
    }
    const client = poolClient(ports);
    await client.connect();
    const counts = { ok: 0, failed: 0 };
    const codes = new Set<string>();
    let i = 0;
    const total = 600;
    const worker = async (): Promise<void> => {
      while (i < total) {
        const n = i++;
        if (n === 200) children[1]?.kill('SIGKILL');
        try {
          await client.request(n, { timeout: 5000 });
          counts.ok++;
        } catch (err) {
          counts.failed++;
          codes.add((err as { code: string }).code);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(counts.ok + counts.failed).to.equal(total);
    expect(counts.failed).to.be.at.most(8); // at most the requests in flight on the killed server
    for (const code of codes) expect(code).to.be.oneOf(['ERR_NOT_CONNECTED', 'ERR_CLOSED']);
  });

  it('ServerPool picks by strategy among connected members, else a waiting one', () => {
    const members = [
      { id: 'a', up: true, waiting: false },
      { id: 'b', up: false, waiting: true },
      { id: 'c', up: true, waiting: false },
    ];
    const probe = { connected: (m: (typeof members)[number]) => m.up, waiting: (m: (typeof members)[number]) => m.waiting };
    const rr = new ServerPool(members, 'round-robin', probe);
    expect([rr.pick()?.id, rr.pick()?.id, rr.pick()?.id]).to.deep.equal(['a', 'c', 'a']);
    expect(new ServerPool(members, 'failover', probe).pick()?.id).to.equal('a');
    expect(new ServerPool(members, 'random', probe, () => 0.99).pick()?.id).to.equal('c');
    const down = members.map((m) => ({ ...m, up: false }));
    expect(new ServerPool(down, 'failover', probe).pick()?.id).to.equal('b');
    expect(new ServerPool(down.map((m) => ({ ...m, waiting: false })), 'failover', probe).pick()).to.equal(undefined);
  });

  it('servers and port together are an option error', () => {
    expect(() => new Client({ port: 1, servers: [{ port: 2 }] })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
    expect(() => new Client({ servers: [] })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
  });
});

describe('several servers: edge cases', () => {
  afterEach(closeAll);

  it('with reconnect: false and no server up, connect() rejects', async () => {
    const client = new Client({ servers: [{ port: await freePort() }, { port: await freePort() }], reconnect: false });
    defer(() => client.close());
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
  });

  it('queued, unacknowledged and pendingRequests add up over the servers', async () => {
    const a = await startServer();
    a.server.handle(() => new Promise(() => undefined));
    const client = poolClient([a.port]);
    await client.connect();
    const pending = client.request(1, { timeout: 0 }).catch(() => undefined);
    expect(client.pendingRequests).to.equal(1);
    await client.close();
    await pending;
  });
});

describe('connect() while reconnecting', () => {
  afterEach(closeAll);

  it('waits for the reconnect in progress instead of opening a second connection', async () => {
    const { server, port } = await startServer();
    const client = new Client({ port, reconnect: { initial: 20, max: 50 } });
    defer(() => client.close());
    await client.connect();
    const dropped = once(client, 'disconnect');
    await server.close();
    await dropped;
    expect(client.state).to.equal('reconnecting');
    const again = new Server({ port });
    defer(() => again.close());
    let sessions = 0;
    again.on('connect', () => sessions++);
    const waiting = client.connect();
    await again.listen();
    await waiting;
    expect(client.state).to.equal('connected');
    expect(sessions).to.equal(1);
  });

  it('rejects when close() comes first', async () => {
    const { server, port } = await startServer();
    const client = new Client({ port, reconnect: { initial: 1000, max: 1000 } });
    await client.connect();
    const dropped = once(client, 'disconnect');
    await server.close();
    await dropped;
    const waiting = client.connect();
    await client.close();
    expect(await waiting.catch((e: unknown) => e)).to.have.property('code', 'ERR_CLOSED');
  });
});
