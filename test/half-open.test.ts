// A half-open connection with a real process on the other end: a client
// process is stopped (SIGSTOP), so its kernel keeps the TCP connection up while
// the program answers nothing. The server's heartbeat drops it; once continued,
// the client notices and reconnects with the same identity.
import { expect } from 'chai';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DisconnectInfo, Session } from '../src/index.js';
import { within } from './support/async.js';
import { closeAll, defer, startServer } from './support/net.js';

interface ChildEvent {
  event: 'connect' | 'disconnect' | 'reconnecting';
  reason?: string;
  attempt?: number;
}

/** The fixture client process and the events it has reported. */
interface ChildClient {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: ChildEvent[];
  /** What the child wrote to stderr so far. */
  readonly stderr: () => string;
  /** Resolves once the child has reported `count` events of this kind (counting earlier ones). */
  readonly seen: (event: ChildEvent['event'], count?: number) => Promise<ChildEvent>;
}

/** Starts the fixture client process; closeAll() kills it. */
function startChild(port: number): ChildClient {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'stopped-client.ts'), String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL'); // ends a stopped process too
      await exited;
    }
  });
  const events: ChildEvent[] = [];
  const waiters = new Set<() => boolean>();
  let text = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
    let i;
    while ((i = text.indexOf('\n')) !== -1) {
      events.push(JSON.parse(text.slice(0, i)) as ChildEvent);
      text = text.slice(i + 1);
    }
    for (const check of [...waiters]) if (check()) waiters.delete(check);
  });
  const seen = (event: ChildEvent['event'], count = 1): Promise<ChildEvent> =>
    new Promise((resolve) => {
      const check = (): boolean => {
        const matching = events.filter((e) => e.event === event);
        const e = matching[count - 1];
        if (e !== undefined) resolve(e);
        return e !== undefined;
      };
      if (!check()) waiters.add(check);
    });
  return { child, events, stderr: () => stderr, seen };
}

describe('half-open: a stopped client process', () => {
  afterEach(closeAll);

  it('the server drops it (ping-timeout); after SIGCONT it notices and reconnects with the same identity', async function () {
    this.timeout(30_000); // tsx start-up on a loaded machine
    const { server, port } = await startServer({ ping: { interval: 50, misses: 2 } });
    const firstConnect = once(server, 'connect') as Promise<[Session]>;
    const { child, events, stderr, seen } = startChild(port);
    const [first] = await within(firstConnect, 20_000, () => `the child’s connection (its stderr: ${JSON.stringify(stderr())})`);
    await within(seen('connect'), 5_000, 'the child’s connect event');
    expect(first.clientId, 'the client announces an identity').to.be.a('string');

    const dropped = new Promise<DisconnectInfo>((resolve) => {
      server.on('disconnect', (s, info) => {
        if (s === first) resolve(info);
      });
    });
    const again = new Promise<Session>((resolve) => {
      server.on('connect', (s) => {
        if (s !== first) resolve(s);
      });
    });
    expect(child.kill('SIGSTOP')).to.equal(true);
    const info = await within(dropped, 10_000, 'the server dropping the stopped client');
    expect(info.reason).to.equal('ping-timeout');
    expect(info.error).to.have.property('code', 'ERR_PING_TIMEOUT');
    expect(server.sessions).to.not.include(first);
    // while stopped, the child reports nothing (it cannot); give the server a few more intervals
    await sleep(200);
    expect(events.filter((e) => e.event !== 'connect'), 'events from a stopped process').to.deep.equal([]);

    expect(child.kill('SIGCONT')).to.equal(true);
    const noticed = await within(seen('disconnect'), 10_000, () => `the child noticing (its stderr: ${JSON.stringify(stderr())})`);
    expect(noticed.reason).to.be.oneOf(['remote-closed', 'ping-timeout', 'socket-error']);
    const second = await within(again, 10_000, 'the reconnect');
    await within(seen('connect', 2), 5_000, 'the child’s second connect event');
    expect(second.clientId).to.equal(first.clientId);
    expect(second.id).to.not.equal(first.id);
    expect(server.sessions).to.have.members([second]);
    expect(events.map((e) => e.event)).to.include('reconnecting');
    expect(child.exitCode, `the child exited; its stderr: ${stderr()}`).to.equal(null);
  });
});
