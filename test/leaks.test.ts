// Nothing is left behind: many connect/close cycles, thousands of timed-out
// requests, and a child process that sends and closes.
import { expect } from 'chai';
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setImmediate as immediate } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Client } from '../src/index.js';
import { closeAll, defer, startClient, startServer, tempSocketPath } from './support/net.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Resolves once `done()` holds; fails after `ms`. Polls with immediates, not
 * timers, so that it creates no timer of its own while timers are counted.
 */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await immediate();
  }
}

/** Sockets and ref'd timers, as `process.getActiveResourcesInfo()` lists them (closed TCPServerWraps linger there, so servers are not counted). */
function activeResources(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r === 'TCPSocketWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

/**
 * Every TCP handle and timer created while enabled, ref'd or not, until it is
 * closed or cleared (`getActiveResourcesInfo()` does not list `unref()`ed
 * timers, and hopwire's heartbeat, grace and request timers are all unref'd).
 */
function liveHandles(): { counts: () => { sockets: number; timers: number }; stop: () => void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout' || type === 'TCPWRAP') live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  return {
    counts: () => {
      let sockets = 0;
      let timers = 0;
      for (const type of live.values()) {
        if (type === 'TCPWRAP') sockets++;
        else timers++;
      }
      return { sockets, timers };
    },
    stop: () => hook.disable(),
  };
}

describe('leaks', () => {
  afterEach(closeAll);

  it('300 connect → request → close cycles leave no socket, no timer, no session and no heap behind', async function () {
    this.timeout(60_000);
    const { server, port } = await startServer();
    server.handle((n) => n);
    const cycle = async (i: number): Promise<void> => {
      const client = new Client({ port });
      await client.connect();
      expect(await client.request(i)).to.equal(i);
      await client.close();
    };
    for (let i = 0; i < 10; i++) await cycle(i); // warm up: code paths, lazy modules
    await until(() => server.sessions.length === 0, 'the warm-up sessions to close');
    gc();
    gc();
    const mem0 = process.memoryUsage();
    const before = activeResources();
    const handles = liveHandles();
    defer(() => {
      handles.stop();
      return undefined;
    });

    for (let i = 0; i < 300; i++) await cycle(i);

    await until(() => server.sessions.length === 0, 'the server sessions to close');
    await until(
      () => {
        const now = activeResources();
        const created = handles.counts();
        return now.sockets <= before.sockets && now.timers <= before.timers && created.sockets === 0 && created.timers === 0;
      },
      'sockets and timers to be released',
    ).catch(() => undefined); // the assertions below say what is left
    // Not above the baseline: timers of earlier tests may expire meanwhile, so "equal" would be flaky.
    const after = activeResources();
    expect(after.sockets, 'sockets open after the cycles').to.be.at.most(before.sockets);
    expect(after.timers, 'timers pending after the cycles').to.be.at.most(before.timers);
    expect(handles.counts(), 'TCP handles and timers (ref’d or not) created during the cycles and still open').to.deep.equal({ sockets: 0, timers: 0 });
    expect(server.sessions).to.have.length(0);
    gc();
    gc();
    const mem = process.memoryUsage();
    const heapGrowth = mem.heapUsed - mem0.heapUsed;
    const bufferGrowth = mem.arrayBuffers - mem0.arrayBuffers; // Buffers live outside the heap
    expect(heapGrowth, `heap grew by ${(heapGrowth / 1e6).toFixed(1)} MB`).to.be.below(20e6);
    expect(bufferGrowth, `Buffer memory grew by ${(bufferGrowth / 1e6).toFixed(1)} MB`).to.be.below(20e6);
  });

  it('10,000 requests that time out all reject with ERR_REQUEST_TIMEOUT and leave nothing pending', async function () {
    this.timeout(30_000);
    const { server, port } = await startServer({ maxPendingRequests: 20_000 });
    let handled = 0;
    server.handle(() => {
      handled++;
      return new Promise(() => undefined); // never answers
    });
    const client = await startClient({ port, maxPendingRequests: 20_000 });
    const N = 10_000;
    const outcomes = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        client.request(i, { timeout: 20 }).then(
          () => 'replied',
          (err: unknown) => (err instanceof Error && 'code' in err ? String(err.code) : String(err)),
        ),
      ),
    );
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    expect(counts).to.deep.equal({ ERR_REQUEST_TIMEOUT: N });
    expect(client.pendingRequests).to.equal(0);
    expect(client.connected).to.equal(true);
    // The requests really went out: the server sees them (maybe only after the timeouts, on a loaded machine).
    await until(() => handled > 0, 'the server to see the requests');
    expect(handled).to.be.greaterThan(0);
  });

  describe('a child process that awaits send(x) and then close()', () => {
    const PAD = 1024 * 1024; // big enough that the send is not one small write

    for (const transport of ['TCP', 'a Unix socket'] as const) {
      it(`over ${transport}: the server gets x and the child exits by itself, code 0`, async function () {
        this.timeout(20_000); // tsx start-up on a loaded machine
        const path = transport === 'TCP' ? undefined : tempSocketPath();
        const { server, port } = await startServer(path === undefined ? {} : { path });
        const got: unknown[] = [];
        server.on('message', (m) => got.push(m));
        const fixture = join(import.meta.dirname, 'fixtures', 'send-close-client.ts');
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, path ?? String(port), String(PAD)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        defer(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          return undefined;
        });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        // a leaked ref'd handle would keep the child alive: kill it, and say so, rather than hang
        const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
        clearTimeout(guard);
        expect(signal, 'the child had to be killed: something kept it alive').to.equal(null);
        expect(code, stderr).to.equal(0);
        await until(() => got.length > 0, 'the message');
        expect(got).to.deep.equal([{ hello: 'from child', pad: 'x'.repeat(PAD) }]);
      });
    }
  });
});
