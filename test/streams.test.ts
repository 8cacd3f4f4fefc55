import { expect } from 'chai';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Client, type Session } from '../src/index.js';
import { closeAll, defer, freePort, startServer } from './support/net.js';

async function collect(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of it) out.push(item);
  return out;
}

describe('streamed replies', () => {
  afterEach(closeAll);

  async function pair(): Promise<{ server: Awaited<ReturnType<typeof startServer>>['server']; client: Client }> {
    const { server, port } = await startServer();
    const client = new Client({ port });
    defer(() => client.close());
    await client.connect();
    return { server, client };
  }

  it('a handler returning an async generator streams items to requestStream()', async () => {
    const { server, client } = await pair();
    server.handle((req) =>
      (async function* () {
        for (let i = 1; i <= (req as { n: number }).n; i++) {
          await Promise.resolve();
          yield { i, at: new Date(i) };
        }
      })(),
    );
    const items = (await collect(client.requestStream({ n: 5 }))) as { i: number; at: Date }[];
    expect(items.map((x) => x.i)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(items[0]?.at).to.be.instanceOf(Date);
  });

  it('a plain value is one item; request() still gets plain values, and an async generator is not sent to it', async () => {
    const { server, client } = await pair();
    server.handle((req) => ((req as { s: boolean }).s ? [1, 2] : 'one'));
    expect(await collect(client.requestStream({ s: false }))).to.deep.equal(['one']);
    expect(await collect(client.requestStream({ s: true }))).to.deep.equal([[1, 2]]);
    server.handle(() =>
      (async function* () {
        await Promise.resolve();
        yield 1;
      })(),
    );
    const err = await client.request({}).catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_REMOTE', remoteCode: 'ERR_UNSUPPORTED' });
  });

  it('an error in the middle of a stream fails the loop after the items before it', async () => {
    const { server, client } = await pair();
    server.handle(() =>
      (function* () {
        yield 1;
        yield 2;
        throw Object.assign(new Error('broke'), { code: 'E_BROKE' });
      })(),
    );
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const x of client.requestStream({})) seen.push(x);
    })().catch((e: unknown) => e);
    expect(seen).to.deep.equal([1, 2]);
    expect(err).to.include({ code: 'ERR_REMOTE', remoteCode: 'E_BROKE' });
  });

  it('works server → client, and a dropped connection fails the stream', async () => {
    const { server, client } = await pair();
    client.handle(() => (function* () { yield 'a'; yield 'b'; })());
    if (server.sessions.length === 0) await once(server, 'connect');
    const [session] = server.sessions as [Session];
    expect(await collect(session.requestStream('go'))).to.deep.equal(['a', 'b']);
    client.handle(() => (async function* () { yield 'first'; await new Promise(() => undefined); })());
    const it = session.requestStream('hang');
    expect((await it.next()).value).to.equal('first');
    void client.close();
    const err = await it.next().catch((e: unknown) => e);
    expect(err).to.have.property('code').that.is.oneOf(['ERR_NOT_CONNECTED', 'ERR_CLOSED']);
  });

  it('hopwire makes sockhop 1.8 stream requests, answered packet by packet', async () => {
    const require = createRequire(import.meta.url);
    const sockhop = require('sockhop') as { server: new (o: object) => { listen(): Promise<unknown>; close(): Promise<void>; on(e: string, f: (...a: unknown[]) => void): void } };
    const port = await freePort();
    const s = new sockhop.server({ port, address: '127.0.0.1' });
    s.on('error', () => undefined);
    s.on('request', (req, res) => {
      const r = res as { write(d: unknown): Promise<void>; send(d: unknown): Promise<void> };
      const n = (req as { data: { n: number } }).data.n;
      void (async () => {
        for (let i = 1; i < n; i++) await r.write({ i });
        await r.send({ i: n });
      })();
    });
    await s.listen();
    defer(() => s.close());
    const client = new Client({ port, protocol: 'lines', envelope: 'sockhop', reconnect: false });
    defer(() => client.close());
    await client.connect();
    expect(await collect(client.requestStream({ n: 3 }, { timeout: 5000 }))).to.deep.equal([{ i: 1 }, { i: 2 }, { i: 3 }]);
  });
});
