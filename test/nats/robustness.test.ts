import { expect } from 'chai';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { Client, ErrorCode, HopwireError, Server, type Session } from '../../src/index.js';
import { loadNats } from '../../src/nats/loader.js';
import { rejection } from '../support/async.js';
import { closeAll, defer } from '../support/net.js';
import { type NatsNode, skipWithoutNats, startNats } from '../support/nats.js';

let subjectN = 0;
function subject(): string {
  return `robust.svc${String(++subjectN)}`;
}

async function natsServer(nats: NatsNode, subj: string): Promise<Server> {
  const server = new Server({ nats: { servers: nats.url }, subject: subj });
  defer(() => server.close());
  await server.listen();
  return server;
}

async function natsClient(nats: NatsNode, subj: string): Promise<Client> {
  const client = new Client({ nats: { servers: nats.url }, subject: subj, reconnect: false });
  defer(() => client.close());
  await client.connect();
  return client;
}

/**
 * Runs `fn` with the process's `uncaughtException` listeners (mocha's among
 * them) replaced by one that collects: a listener's bug is thrown outside
 * hopwire, as from any EventEmitter, and this is where it lands.
 */
async function collectingUncaught<T>(fn: (caught: Error[]) => Promise<T>): Promise<T> {
  const saved = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught: Error[] = [];
  process.on('uncaughtException', (err) => caught.push(err));
  try {
    return await fn(caught);
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of saved) process.on('uncaughtException', l);
  }
}

describe('NATS transport: what the bus or a listener throws does not stop the readers', function () {
  this.timeout(20_000);
  let nats: NatsNode;

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
  });
  after(async () => {
    await nats.kill();
  });
  afterEach(closeAll);

  it('a reply with a malformed NATS header is dropped; the client keeps reading its inbox', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    let release = (): void => undefined;
    server.handle(async (v: unknown) => {
      await new Promise<void>((resolve) => (release = resolve));
      return v;
    });
    // Learn the client's inbox from its hello, as anyone on the bus can.
    const { connect } = await loadNats();
    const spy = await connect({ servers: nats.url });
    defer(() => spy.close());
    const inboxes: string[] = [];
    spy.subscribe(`${subj}._hw.ctl`, {
      callback: (_err, m) => {
        if (m.reply !== undefined) inboxes.push(m.reply.slice(0, m.reply.lastIndexOf('.')));
      },
    });
    await spy.flush();
    const client = await natsClient(nats, subj);
    while (inboxes.length === 0) await new Promise((r) => setImmediate(r));
    const first = rejection(client.request('first', { timeout: 5000 }));
    // A raw NATS connection publishes an empty message with a header NATS' own parser refuses, as the reply to request 1.
    const raw = tcpConnect(nats.port, '127.0.0.1');
    defer(() => Promise.resolve(raw.destroy()));
    await once(raw, 'data'); // INFO
    const header = 'NATS/1.0\r\nbad key: x\r\n\r\n';
    raw.write(`CONNECT {"verbose":false,"headers":true}\r\nHPUB ${String(inboxes[0])}.1 ${String(header.length)} ${String(header.length)}\r\n${header}\r\nPING\r\n`);
    const err = await first; // an empty reply is not a frame: request 1 fails with the decode error at once
    expect(err).to.be.instanceOf(HopwireError);
    release();
    server.handle((v: unknown) => v);
    expect(await client.request('second', { timeout: 3000 })).to.equal('second');
  });

  it('a server listener that throws is thrown outside; the server keeps serving its other clients', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.handle((v: unknown) => v);
    const leaving = await natsClient(nats, subj);
    const staying = await natsClient(nats, subj);
    expect(await staying.request(1)).to.equal(1);
    await collectingUncaught(async (caught) => {
      server.once('disconnect', () => {
        throw new Error('a bug in a disconnect listener');
      });
      await leaving.close();
      while (caught.length === 0) await new Promise((r) => setTimeout(r, 10));
      expect(caught[0]?.message).to.equal('a bug in a disconnect listener');
    });
    expect(await staying.request(2, { timeout: 3000 })).to.equal(2);
  });

  it('a handler that throws something that cannot become text is answered with ERR_REMOTE, sync or async', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.handle(async (mode: unknown) => {
      if (mode === 'sync') throw Object.create(null) as object; // eslint-disable-line @typescript-eslint/only-throw-error -- what a careless handler may throw
      await Promise.resolve();
      throw Object.create(null) as object; // eslint-disable-line @typescript-eslint/only-throw-error -- as above
    });
    const client = await natsClient(nats, subj);
    for (const mode of ['sync', 'async', 'sync']) {
      const err = await rejection(client.request(mode, { timeout: 3000 }));
      expect(err).to.have.property('code', ErrorCode.REMOTE);
    }
  });

  it('a client listener that throws during a failover is thrown outside; the client still follows the NATS client back', async () => {
    const subj = subject();
    const [x, y] = [await startNats(), await startNats()]; // two separate NATS servers, a hopwire server on each
    defer(() => Promise.all([x.kill(), y.kill()]));
    for (const node of [x, y]) (await natsServer(node, subj)).handle((n: unknown) => (n as number) + 1);
    const client = new Client({ nats: { servers: [x.url, y.url], noRandomize: true, reconnectTimeWait: 100 }, subject: subj });
    defer(() => client.close());
    await client.connect();
    expect(await client.request(1, { timeout: 3000 })).to.equal(2);
    await collectingUncaught(async (caught) => {
      client.once('disconnect', () => {
        throw new Error('a bug in a client listener');
      });
      const back = once(client, 'connect');
      await x.kill();
      await back;
      expect(caught.map((e) => e.message)).to.deep.equal(['a bug in a client listener']);
    });
    expect(client.state).to.equal('connected');
    expect(await client.request(2, { timeout: 3000 })).to.equal(3);
  });

  it('a request to a client rejects with ERR_NOT_CONNECTED when the client leaves, even without a timeout', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    const connected = once(server, 'connect') as Promise<[Session]>;
    const client = await natsClient(nats, subj);
    let called = (): void => undefined;
    const handled = new Promise<void>((resolve) => (called = resolve));
    client.handle(() => {
      called();
      return new Promise<never>(() => undefined); // never answers
    });
    const [session] = await connected;
    const pending = rejection(session.request('hi', { timeout: 0 }));
    await handled;
    expect(session.pendingRequests).to.equal(1);
    await client.close();
    const err = await pending;
    expect(err).to.have.property('code', ErrorCode.NOT_CONNECTED);
    expect(session.pendingRequests).to.equal(0);
  });
});
