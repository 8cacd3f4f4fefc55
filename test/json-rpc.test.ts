import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Client } from '../src/index.js';
import { LineReader, closeAll, defer, rawSocket, startServer } from './support/net.js';

describe('JSON-RPC 2.0 for JSON-lines peers (jsonRpc option)', () => {
  afterEach(closeAll);

  it('saturated handlers that finish resume reading without starting binary pings on the lines peer', async () => {
    const { server, port } = await startServer({ jsonRpc: true, maxPendingRequests: 2, ping: { interval: 1000, misses: 2 } });
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const release: (() => void)[] = [];
      server.handle('slow', () => new Promise<string>((resolve) => release.push(() => { resolve('done'); })));
      server.handle('quick', () => 'ok');
      const raw = await rawSocket({ port });
      let text = '';
      raw.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      const lines = new LineReader(raw);
      const running = new Promise<void>((resolve) => {
        const poll = (): void => {
          if (release.length === 2) resolve();
          else setImmediate(poll);
        };
        poll();
      });
      raw.write('{"jsonrpc":"2.0","method":"slow","id":1}\n{"jsonrpc":"2.0","method":"slow","id":2}\n');
      await running; // two handlers running: maxPendingRequests, reads paused
      for (const r of release) r();
      expect(await lines.json()).to.deep.equal({ jsonrpc: '2.0', result: 'done', id: 1 });
      expect(await lines.json()).to.deep.equal({ jsonrpc: '2.0', result: 'done', id: 2 });
      clock.tick(5_000); // five ping intervals: a running heartbeat would have pinged and given up
      raw.write('{"jsonrpc":"2.0","method":"quick","id":3}\n');
      const closed = once(raw, 'close').then(() => 'the server closed the lines peer');
      expect(await Promise.race([lines.json(), closed])).to.deep.equal({ jsonrpc: '2.0', result: 'ok', id: 3 });
      expect(server.sessions).to.have.length(1);
      expect(text).to.not.include('\u0000'); // no binary frame ever reached the lines peer
    } finally {
      clock.uninstall();
    }
  });

  it('a raw peer makes requests: results, errors, unknown methods; handlers route by method', async () => {
    const { server, port } = await startServer({ jsonRpc: true });
    server.handle('add', (params) => (params as number[]).reduce((a, b) => a + b, 0));
    server.handle('fail', () => {
      throw Object.assign(new Error('no way'), { code: 'E_NO' });
    });
    const raw = await rawSocket({ port });
    const lines = new LineReader(raw);
    raw.write('{"jsonrpc":"2.0","method":"add","params":[1,2,3],"id":1}\n');
    expect(await lines.json()).to.deep.equal({ jsonrpc: '2.0', result: 6, id: 1 });
    raw.write('{"jsonrpc":"2.0","method":"fail","id":"x"}\n');
    expect(await lines.json()).to.deep.equal({ jsonrpc: '2.0', error: { code: -32000, message: 'no way', data: { code: 'E_NO' } }, id: 'x' });
    raw.write('{"jsonrpc":"2.0","method":"nope","id":3}\n');
    expect(await lines.json()).to.deep.include({ id: 3, error: { code: -32601, message: 'Method not found: nope' } });
    raw.write('{not json\n');
    const parseError = (await lines.json()) as { id: unknown; error: { code: number } };
    expect(parseError.id).to.equal(null);
    expect(parseError.error.code).to.equal(-32700);
  });

  it('a notification is a message event with ctx.type = method; other lines stay plain messages', async () => {
    const { server, port } = await startServer({ jsonRpc: true });
    const got: [unknown, string][] = [];
    const two = new Promise<void>((resolve) => {
      server.on('message', (m, ctx) => {
        got.push([m, ctx.type]);
        if (got.length === 2) resolve();
      });
    });
    const raw = await rawSocket({ port });
    raw.write('{"jsonrpc":"2.0","method":"tick","params":{"n":1}}\n{"plain":true}\n');
    await two;
    expect(got).to.deep.equal([
      [{ n: 1 }, 'tick'],
      [{ plain: true }, ''],
    ]);
  });

  it('without the option, JSON-RPC-looking lines are plain messages (nothing is guessed)', async () => {
    const { server, port } = await startServer();
    server.handle(() => 'should not answer');
    const raw = await rawSocket({ port });
    const got = once(server, 'message');
    raw.write('{"jsonrpc":"2.0","method":"add","params":[1],"id":1}\n');
    const [message] = (await got) as [unknown];
    expect(message).to.deep.equal({ jsonrpc: '2.0', method: 'add', params: [1], id: 1 });
  });

  it('a lines client calls a JSON-RPC server with request({ method, params })', async () => {
    const rpc = createServer((socket) => {
      socket.setEncoding('utf8');
      let buffered = '';
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        let i;
        while ((i = buffered.indexOf('\n')) !== -1) {
          const req = JSON.parse(buffered.slice(0, i)) as { method: string; params: number[]; id: number };
          buffered = buffered.slice(i + 1);
          const body = req.method === 'mul' ? { result: req.params[0]! * req.params[1]! } : { error: { code: -32601, message: 'Method not found' } };
          socket.write(`${JSON.stringify({ jsonrpc: '2.0', ...body, id: req.id })}\n`);
        }
      });
    });
    rpc.listen(0, '127.0.0.1');
    await once(rpc, 'listening');
    defer(() => new Promise<void>((resolve) => rpc.close(() => { resolve(); })));
    const address = rpc.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = new Client({ port, protocol: 'lines', jsonRpc: true, reconnect: false });
    defer(() => client.close());
    await client.connect();
    expect(await client.request({ method: 'mul', params: [6, 7] })).to.equal(42);
    const err = await client.request({ method: 'div', params: [1, 0] }).catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_REMOTE', remoteCode: '-32601' });
  });

  it("invalidLines: 'close' closes a lines session on invalid JSON", async () => {
    const { server, port } = await startServer({ invalidLines: 'close' });
    const raw = await rawSocket({ port });
    const connected = once(server, 'connect');
    raw.write('{"ok":1}\n');
    await connected;
    const gone = once(server, 'disconnect');
    raw.write('not json\n');
    const [, info] = (await gone) as [unknown, { reason: string }];
    expect(info.reason).to.equal('protocol-error');
  });
});
