import { expect } from 'chai';
import { once } from 'node:events';
import { Client, TypeRegistry } from '../src/index.js';
import { closeAll, defer, startServer } from './support/net.js';

class Order {
  constructor(
    public item = '',
    public qty = 0,
  ) {}
  total(): number {
    return this.qty * 10;
  }
}
class Refund {
  constructor(public amount = 0) {}
}

async function pair(): Promise<{ server: Awaited<ReturnType<typeof startServer>>['server']; client: Client }> {
  const { server, port } = await startServer({ types: [Order, Refund] });
  const client = new Client({ port, types: [Order, Refund] });
  defer(() => client.close());
  await client.connect();
  return { server, client };
}

describe('routing by type', () => {
  afterEach(closeAll);

  it('handle(Class, fn) answers requests of that class, typed; the catch-all answers the rest', async () => {
    const { server, client } = await pair();
    server.handle(Order, (order) => ({ total: order.total(), instance: order instanceof Order }));
    server.handle('Refund', (r) => ({ refunded: (r as Refund).amount }));
    server.handle((other) => ({ other }));
    expect(await client.request(new Order('bolt', 3))).to.deep.equal({ total: 30, instance: true });
    expect(await client.request(new Refund(5))).to.deep.equal({ refunded: 5 });
    expect(await client.request({ plain: true })).to.deep.equal({ other: { plain: true } });
  });

  it('a request nobody routes gets ERR_NO_HANDLER; removing a route works', async () => {
    const { server, client } = await pair();
    server.handle(Order, () => 'order');
    const err = await client.request(new Refund(1)).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_NO_HANDLER');
    server.handle(Order, undefined);
    expect(await client.request(new Order()).catch((e: unknown) => e)).to.have.property('code', 'ERR_NO_HANDLER');
  });

  it('onMessage(Class, fn) gets only messages of that class; the message event sees all', async () => {
    const { server, client } = await pair();
    const orders: Order[] = [];
    const all: unknown[] = [];
    const off = server.onMessage(Order, (o) => orders.push(o));
    server.on('message', (m) => all.push(m));
    const third = new Promise<void>((resolve) => {
      server.on('message', () => {
        if (all.length === 3) resolve();
      });
    });
    await client.send(new Order('a', 1));
    await client.send(new Refund(2));
    await client.send({ x: 1 });
    await third;
    expect(orders).to.have.length(1);
    expect(orders[0]).to.be.instanceOf(Order);
    expect(all).to.have.length(3);
    off();
    const next = once(server, 'message');
    await client.send(new Order('b', 2));
    await next;
    expect(orders).to.have.length(1);
  });

  it('routes server → client requests and messages too', async () => {
    const { server, client } = await pair();
    client.handle(Order, (o) => o.qty * 2);
    const got = new Promise<Refund>((resolve) => client.onMessage(Refund, resolve));
    if (server.sessions.length === 0) await once(server, 'connect');
    const [session] = server.sessions;
    expect(await session?.request(new Order('x', 21))).to.equal(42);
    await server.sendAll(new Refund(9));
    expect((await got).amount).to.equal(9);
  });

  it('type names starting with "hopwire." are reserved', () => {
    class Sneaky {
      x = 1;
    }
    expect(() => new TypeRegistry().register(Sneaky, { name: 'hopwire.call' })).to.throw().with.property('code', 'ERR_REGISTRY');
  });
});

describe('exposed objects and proxies', () => {
  afterEach(closeAll);

  interface MathApi {
    add(a: number, b: number): number;
    slow(ms: number): Promise<string>;
    fail(): never;
    version: string;
  }

  it('calls own methods of the exposed object through a typed proxy', async () => {
    const { server, client } = await pair();
    const api: MathApi = {
      add: (a, b) => a + b,
      slow: (ms) => new Promise((resolve) => setTimeout(() => { resolve(`after ${String(ms)}`); }, ms)),
      fail: () => {
        throw Object.assign(new Error('bad'), { code: 'E_BAD' });
      },
      version: '1',
    };
    server.expose(api);
    const remote = client.proxy<MathApi>();
    const sum: number = await remote.add(1, 2);
    expect(sum).to.equal(3);
    expect(await remote.slow(5)).to.equal('after 5');
    const err = await remote.fail().catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_REMOTE', remoteCode: 'E_BAD', message: 'bad' });
  });

  it('only own function properties are callable: prototype, constructor, __proto__, toString, data fields are not', async () => {
    const { server, client } = await pair();
    class Api {
      hidden(): string {
        return 'prototype method';
      }
    }
    const api = Object.assign(new Api(), { visible: () => 'ok', data: 42 });
    server.expose(api);
    const remote = client.proxy<Record<string, () => unknown>>();
    expect(await remote.visible?.()).to.equal('ok');
    for (const name of ['hidden', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'data', 'missing']) {
      const err = await (remote[name] as () => Promise<unknown>)().catch((e: unknown) => e);
      expect(err, name).to.have.property('code', 'ERR_NO_METHOD');
    }
  });

  it('without an exposed object a proxy call gets ERR_NO_HANDLER; awaiting the proxy itself calls nothing', async () => {
    const { client } = await pair();
    const remote = client.proxy<{ ping(): string }>();
    expect(await remote.ping().catch((e: unknown) => e)).to.have.property('code', 'ERR_NO_HANDLER');
    const awaited: unknown = await Promise.resolve(remote);
    expect(awaited).to.equal(remote);
  });

  it('works server → client with session.proxy() and client.expose(); class arguments are rebuilt', async () => {
    const { server, client } = await pair();
    client.expose({ describe: (o: Order) => `${o.item}: ${String(o.total())}` });
    if (server.sessions.length === 0) await once(server, 'connect');
    const [session] = server.sessions;
    const remote = session!.proxy<{ describe(o: Order): string }>({ timeout: 2000 });
    expect(await remote.describe(new Order('nut', 4))).to.equal('nut: 40');
  });
});
