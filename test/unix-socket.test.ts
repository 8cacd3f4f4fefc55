import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Server } from '../src/index.js';
import { rejection } from './support/async.js';
import { closeAll, defer, tempDir, tempSocketPath } from './support/net.js';

/** Leaves a stale socket file at `path`: a child listens on it and is SIGKILLed. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'stale-socket.mjs'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
}

describe('Unix sockets', () => {
  afterEach(closeAll);

  it('removes a stale socket file left by a dead process, then listens', async () => {
    const path = tempSocketPath();
    await staleSocket(path);
    expect(statSync(path).isSocket()).to.equal(true);
    const server = new Server({ path });
    defer(() => server.close());
    expect(await server.listen()).to.deep.equal({ path });
    server.handle(() => 'live');
    const client = new Client({ path });
    defer(() => client.close());
    await client.connect();
    expect(await client.request('?')).to.equal('live');
  });

  it('refuses a socket file a live server listens on, with EADDRINUSE, and leaves it working', async () => {
    const path = tempSocketPath();
    const first = new Server({ path });
    defer(() => first.close());
    first.handle(() => 'first');
    await first.listen();
    const second = new Server({ path });
    defer(() => second.close());
    const err = await rejection(second.listen());
    expect(err).to.have.property('code', 'EADDRINUSE');
    const client = new Client({ path });
    defer(() => client.close());
    await client.connect();
    expect(await client.request('?')).to.equal('first');
  });

  it('never deletes a path that is not a socket', async () => {
    const path = join(tempDir(), 'precious.txt');
    writeFileSync(path, 'data');
    const server = new Server({ path });
    defer(() => server.close());
    const err = await rejection(server.listen());
    expect(err).to.have.property('code', 'EADDRINUSE');
    expect(existsSync(path)).to.equal(true);
  });

  it('creates the socket file with mode 0600 by default, or the socketMode asked', async () => {
    const path = tempSocketPath();
    const server = new Server({ path });
    defer(() => server.close());
    await server.listen();
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const groupPath = tempSocketPath();
    const group = new Server({ path: groupPath, socketMode: 0o660 });
    defer(() => group.close());
    await group.listen();
    expect(statSync(groupPath).mode & 0o777).to.equal(0o660);
  });

  it('removes the socket file on close()', async () => {
    const path = tempSocketPath();
    const server = new Server({ path });
    await server.listen();
    expect(existsSync(path)).to.equal(true);
    await server.close();
    expect(existsSync(path)).to.equal(false);
  });
});

describe('teardown', () => {
  afterEach(closeAll);

  it('a child process that connects, exchanges messages and closes exits on its own', async function () {
    this.timeout(15_000); // tsx start-up on a loaded machine
    const server = new Server({ port: 0 });
    defer(() => server.close());
    const got: unknown[] = [];
    server.on('message', (m) => got.push(m));
    server.handle(() => 'pong');
    const address = await server.listen();
    const port = address.port ?? 0;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'child-client.ts'), String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    let closedAt = 0;
    child.stdout.on('data', () => {
      if (closedAt === 0 && out.includes('closed')) closedAt = performance.now();
    });
    // A leaked ref'd timer or socket would keep the child alive: the heartbeat
    // interval (5 s) repeats forever, so a leak means no exit at all.
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(guard);
    expect(signal, 'the child had to be killed: something kept it alive').to.equal(null);
    expect(code).to.equal(0);
    expect(out).to.contain('reply "pong"');
    expect(got).to.deep.equal([{ hello: 'from child' }]);
    expect(performance.now() - closedAt).to.be.below(1_000);
  });

  it('after close() on both sides nothing is left: no sessions, no timers keeping the loop', async () => {
    const server = new Server({ port: 0 });
    const address = await server.listen();
    const port = address.port ?? 0;
    const client = new Client({ port });
    await client.connect();
    expect(server.sessions).to.have.length(1);
    await client.close();
    await server.close();
    expect(server.sessions).to.have.length(0);
    expect(server.listening).to.equal(false);
    expect(client.state).to.equal('closed');
    const err = await rejection(client.send(1));
    expect(err).to.have.property('code', 'ERR_CLOSED');
    // (a closed TCPServerWrap lingers in this list in plain Node too, so only sockets are checked)
    const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap');
    expect(sockets).to.deep.equal([]);
  });
});
