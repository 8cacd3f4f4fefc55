import { expect } from 'chai';
import { once } from 'node:events';
import { Client, type Server, type Session } from '../src/index.js';
import { RemoteFunctions } from '../src/remote-functions.js';
import { closeAll, defer, startServer } from './support/net.js';

async function pair(options: { maxRemoteFunctions?: number } = {}): Promise<{ server: Server; client: Client; session: Session }> {
  const { server, port } = await startServer(options);
  const client = new Client({ port, ...options });
  defer(() => client.close());
  const connected = once(server, 'connect') as Promise<[Session]>;
  await client.connect();
  const [session] = await connected;
  return { server, client, session };
}

describe('functions as arguments', () => {
  afterEach(closeAll);

  it('a callback inside a request runs on the sender, with its arguments and result', async () => {
    const { server, client } = await pair();
    server.handle(async (req) => {
      const { items, onProgress } = req as { items: number[]; onProgress: (done: number, of: number) => Promise<string> };
      const acks: string[] = [];
      for (let i = 1; i <= items.length; i++) acks.push(await onProgress(i, items.length));
      return { sum: items.reduce((a, b) => a + b, 0), acks };
    });
    const progress: string[] = [];
    const reply = await client.request({
      items: [1, 2, 3],
      onProgress: (done: number, of: number) => {
        progress.push(`${String(done)}/${String(of)}`);
        return `ok ${String(done)}`;
      },
    });
    expect(reply).to.deep.equal({ sum: 6, acks: ['ok 1', 'ok 2', 'ok 3'] });
    expect(progress).to.deep.equal(['1/3', '2/3', '3/3']);
  });

  it('works at any depth, in arrays, both directions, and through send()', async () => {
    const { server, client, session } = await pair();
    const got = once(server, 'message') as Promise<[{ deep: { list: ((x: number) => Promise<number>)[] } }]>;
    await client.send({ deep: { list: [(x: number) => x * 2, (x: number) => x + 1] } });
    const [message] = await got;
    expect(await message.deep.list[0]!(21)).to.equal(42);
    expect(await message.deep.list[1]!(41)).to.equal(42);
    client.handle(async (req) => {
      const { ask } = req as { ask: (q: string) => Promise<string> };
      return `client heard: ${await ask('name?')}`;
    });
    expect(await session.request({ ask: (q: string) => `server answers ${q}` })).to.equal('client heard: server answers name?');
  });

  it('a function that throws rejects the caller with ERR_REMOTE', async () => {
    const { server, client } = await pair();
    const got = once(server, 'message') as Promise<[{ fail: () => Promise<never> }]>;
    await client.send({
      fail: () => {
        throw Object.assign(new Error('nope'), { code: 'E_NOPE' });
      },
    });
    const [message] = await got;
    const err = await message.fail().catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_REMOTE', remoteCode: 'E_NOPE' });
  });

  it('functions of a request are released when it settles; calling one later rejects with ERR_RELEASED', async () => {
    const { server, client } = await pair();
    let kept: (() => Promise<unknown>) | undefined;
    server.handle((req) => {
      kept = (req as { cb: () => Promise<unknown> }).cb;
      return 'done';
    });
    await client.request({ cb: () => 'x' });
    expect(kept).to.be.a('function');
    const err = await kept!().catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_RELEASED');
  });

  it('functions sent with send() live until release(); the cap is enforced', async () => {
    const { server, client } = await pair({ maxRemoteFunctions: 2 });
    const fn = () => 'alive';
    const got = once(server, 'message') as Promise<[{ fn: () => Promise<string> }]>;
    await client.send({ fn });
    const [message] = await got;
    expect(await message.fn()).to.equal('alive');
    expect(client.release(fn)).to.equal(true);
    expect(await message.fn().catch((e: unknown) => e)).to.have.property('code', 'ERR_RELEASED');
    await client.send({ a: () => 1, b: () => 2 });
    const err = await client.send({ c: () => 3 }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_TOO_MANY_FUNCTIONS');
  });

  it('100,000 calls leave nothing held', async function () {
    this.timeout(60_000);
    const { server, client } = await pair();
    server.handle(async (req) => {
      const { add } = req as { add: (a: number, b: number) => Promise<number> };
      let total = 0;
      for (let i = 0; i < 1000; i++) total = await add(total, 1);
      return total;
    });
    for (let round = 0; round < 100; round++) expect(await client.request({ add: (a: number, b: number) => a + b })).to.equal(1000);
    expect(server.sessions[0]?.connection.heldFunctions).to.equal(0);
  });

  it('RemoteFunctions gives one id per function and releases by function or id', () => {
    const table = new RemoteFunctions(10);
    const f = () => 1;
    const id = table.export(f);
    expect(table.export(f)).to.equal(id);
    expect(table.call(id, [])).to.equal(1);
    expect(table.release(f)).to.equal(true);
    expect(() => table.call(id, [])).to.throw().with.property('code', 'ERR_RELEASED');
    const g = () => 2;
    const id2 = table.export(g);
    expect(table.release(id2)).to.equal(true);
    expect(table.size).to.equal(0);
  });
});
