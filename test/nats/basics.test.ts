import { expect } from 'chai';
import { once } from 'node:events';
import { Client, HopwireError, Server, type Session } from '../../src/index.js';
import { loadNats } from '../../src/nats/loader.js';
import { closeAll, defer } from '../support/net.js';
import { type NatsNode, skipWithoutNats, startNats } from '../support/nats.js';

class Order {
  constructor(
    public item: string,
    public qty: number,
    public blob: Buffer,
  ) {}
  total(): number {
    return this.qty * 2;
  }
}

class Receipt {
  constructor(
    public order: Order,
    public at: Date,
  ) {}
}

let subjectN = 0;
function subject(): string {
  return `shop.orders${String(++subjectN)}`; // dotted, as NATS subjects usually are
}

async function natsServer(nats: NatsNode, subj: string, extra: Partial<ConstructorParameters<typeof Server>[0]> = {}): Promise<Server> {
  const server = new Server({ nats: { servers: nats.url }, subject: subj, types: [Order, Receipt], ...extra });
  defer(() => server.close());
  await server.listen();
  return server;
}

async function natsClient(nats: NatsNode, subj: string, extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Promise<Client> {
  const client = new Client({ nats: { servers: nats.url }, subject: subj, types: [Order, Receipt], ...extra });
  defer(() => client.close());
  await client.connect();
  return client;
}

describe('NATS transport', function () {
  this.timeout(20_000);
  let nats: NatsNode;
  const started: NatsNode[] = [];

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
    started.push(nats);
  });
  after(async () => {
    for (const node of started) await node.kill();
  });
  afterEach(closeAll);

  it('class instances, Buffers and dates round-trip through a request, as over TCP', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.handle(Order, (order) => new Receipt(order, new Date(1000)));
    const client = await natsClient(nats, subj);
    const reply = await client.request(new Order('nut', 3, Buffer.from([1, 2, 3])), { timeout: 2000 });
    expect(reply).to.be.instanceOf(Receipt);
    const receipt = reply as Receipt;
    expect(receipt.order).to.be.instanceOf(Order);
    expect(receipt.order.total()).to.equal(6);
    expect(Buffer.isBuffer(receipt.order.blob)).to.equal(true);
    expect([...receipt.order.blob]).to.deep.equal([1, 2, 3]);
    expect(receipt.at.getTime()).to.equal(1000);
  });

  it('a handler error arrives as ERR_REMOTE with its code; no handler as ERR_NO_HANDLER', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.handle(Order, () => {
      throw Object.assign(new Error('out of stock'), { code: 'E_STOCK' });
    });
    const client = await natsClient(nats, subj);
    const err = await client.request(new Order('nut', 1, Buffer.alloc(0))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HopwireError);
    expect((err as HopwireError).code).to.equal('ERR_REMOTE');
    expect((err as HopwireError).remoteCode).to.equal('E_STOCK');
    expect((err as HopwireError).message).to.equal('out of stock');
    const none = await client.request({ plain: true }).catch((e: unknown) => e);
    expect((none as HopwireError).code).to.equal('ERR_NO_HANDLER');
  });

  it('no server subscribed: request() rejects with ERR_NO_HANDLER at once (NATS no responders)', async () => {
    const client = await natsClient(nats, subject());
    const started = Date.now();
    const err = await client.request(1, { timeout: 5000 }).catch((e: unknown) => e);
    expect((err as HopwireError).code).to.equal('ERR_NO_HANDLER');
    expect(Date.now() - started).to.be.below(2000);
  });

  it('timeout and abort work as over TCP', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.handle(() => new Promise(() => undefined));
    const client = await natsClient(nats, subj);
    const timedOut = await client.request(1, { timeout: 100 }).catch((e: unknown) => e);
    expect((timedOut as HopwireError).code).to.equal('ERR_REQUEST_TIMEOUT');
    const ac = new AbortController();
    const pending = client.request(2, { timeout: 5000, signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(((await pending) as Error).name).to.equal('AbortError');
    expect(client.stats().requestsTimedOut).to.equal(1);
  });

  it('send, sendAll, session.send and session.request reach the right side; connect and disconnect events', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    const connected = once(server, 'connect') as Promise<[Session]>;
    const a = await natsClient(nats, subj);
    const [session] = await connected;
    expect(session.clientId).to.be.a('string');
    expect(session.remotePort).to.equal(undefined);
    const b = await natsClient(nats, subj);
    const got = once(server, 'message');
    await a.send(new Order('bolt', 2, Buffer.from('x')));
    const [message, ctx] = (await got) as [Order, { session: Session }];
    expect(message).to.be.instanceOf(Order);
    expect(ctx.session).to.equal(session);

    const both = Promise.all([once(a, 'message'), once(b, 'message')]);
    await server.sendAll({ price: 7 });
    const [ra, rb] = (await both) as [unknown[], unknown[]];
    expect(ra[0]).to.deep.equal({ price: 7 });
    expect(rb[0]).to.deep.equal({ price: 7 });

    a.handle((req) => ({ echo: req }));
    const direct = once(a, 'message');
    await session.send('just you');
    expect((await direct)[0]).to.equal('just you');
    expect(await session.request(5, { timeout: 2000 })).to.deep.equal({ echo: 5 });

    const gone = once(server, 'disconnect');
    await a.close();
    const [left, info] = (await gone) as [Session, { reason: string }];
    expect(left).to.equal(session);
    expect(info.reason).to.equal('remote-closed');
  });

  it('a server that starts after its clients learns them at once: it asks them to say hello', async () => {
    const subj = subject();
    const client = await natsClient(nats, subj, { ping: { interval: 60_000, misses: 3 } }); // its next periodic hello is far off
    const server = new Server({ nats: { servers: nats.url }, subject: subj });
    defer(() => server.close());
    const met = once(server, 'connect') as Promise<[Session]>;
    await server.listen();
    const [session] = await met;
    const got = once(client, 'message');
    await session.send('found you');
    expect((await got)[0]).to.equal('found you');
  });

  it('ctx.reply on either side answers the sender', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj);
    server.on('message', (msg, ctx) => {
      void ctx.reply({ back: msg });
    });
    const client = await natsClient(nats, subj);
    const got = once(client, 'message');
    await client.send('hi');
    expect((await got)[0]).to.deep.equal({ back: 'hi' });
  });

  it("a value over the NATS server's max_payload rejects with ERR_PAYLOAD_TOO_LARGE before sending", async () => {
    const subj = subject();
    await natsServer(nats, subj);
    const client = await natsClient(nats, subj);
    const big = Buffer.alloc(2 * 1024 * 1024);
    const err = await client.send(big).catch((e: unknown) => e);
    expect((err as HopwireError).code).to.equal('ERR_PAYLOAD_TOO_LARGE');
    const err2 = await client.request(big).catch((e: unknown) => e);
    expect((err2 as HopwireError).code).to.equal('ERR_PAYLOAD_TOO_LARGE');
    expect(client.pendingRequests).to.equal(0);
  });

  it('what NATS does not carry rejects with ERR_UNSUPPORTED', async () => {
    const subj = subject();
    await natsServer(nats, subj);
    const client = await natsClient(nats, subj);
    expect(((await client.send(1, { ack: true }).catch((e: unknown) => e)) as HopwireError).code).to.equal('ERR_UNSUPPORTED');
    expect(((await client.send({ f: () => 1 }).catch((e: unknown) => e)) as HopwireError).code).to.equal('ERR_UNSUPPORTED');
  });

  it('a client whose hellos stop is dropped by the server (ping-timeout)', async () => {
    const subj = subject();
    const server = await natsServer(nats, subj, { ping: { interval: 100, misses: 1 } });
    const connected = once(server, 'connect');
    const client = await natsClient(nats, subj, { ping: false });
    await connected;
    const [, info] = (await once(server, 'disconnect')) as [Session, { reason: string }];
    expect(info.reason).to.equal('ping-timeout');
    expect(client.connected).to.equal(true);
  });

  it('reconnect: false: losing the NATS server ends in state disconnected, and sends reject with ERR_NOT_CONNECTED', async () => {
    const own = await startNats();
    defer(() => own.kill());
    const client = await natsClient(own, subject(), { reconnect: false });
    const lost = once(client, 'disconnect');
    await own.kill();
    await lost;
    const err = await new Promise<unknown>((resolve) => {
      // the NATS client closes right after it reports the loss
      const check = (): void => {
        if (client.state === 'disconnected') resolve(client.request(1).catch((e: unknown) => e));
        else setImmediate(check);
      };
      check();
    });
    expect((err as HopwireError).code).to.equal('ERR_NOT_CONNECTED');
    expect(((await client.connect().catch((e: unknown) => e)) as HopwireError).code).to.equal('ERR_NOT_CONNECTED');
  });

  it('a missing NATS client package is a clear ERR_MISSING_DEPENDENCY', async () => {
    const err = await loadNats('@nats-io/not-installed-here').catch((e: unknown) => e);
    expect((err as HopwireError).code).to.equal('ERR_MISSING_DEPENDENCY');
    expect((err as HopwireError).message).to.include('npm install @nats-io/not-installed-here');
  });

  it('no NATS server: connect() rejects with ERR_NOT_CONNECTED', async () => {
    const dead = await startNats();
    await dead.kill();
    defer(() => dead.kill());
    const client = new Client({ nats: { servers: dead.url }, subject: 'x', reconnect: false });
    defer(() => client.close());
    const err = await client.connect().catch((e: unknown) => e);
    expect((err as HopwireError).code).to.equal('ERR_NOT_CONNECTED');
  });
});

describe('NATS options', () => {
  it('options that mean nothing over NATS are refused at construction, saying why', () => {
    const nats = { servers: 'nats://127.0.0.1:4222' };
    for (const extra of [{ tls: {} }, { port: 1 }, { secret: 's' }, { protocol: 'lines' as const }, { servers: [{ port: 1 }] }, { codec: 'msgpack' as const }]) {
      expect(() => new Client({ nats, subject: 's', ...extra })).to.throw(HopwireError, /does not work with the nats option/);
    }
    expect(() => new Server({ nats, subject: 's', allow: ['127.0.0.1'] })).to.throw(HopwireError, /does not work with the nats option/);
    expect(() => new Client({ nats, subject: 'a b' })).to.throw(HopwireError, /subject/);
    expect(() => new Client({ subject: 's', port: 1 })).to.throw(HopwireError, /subject needs the nats option/);
  });
});
