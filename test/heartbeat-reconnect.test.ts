import { expect } from 'chai';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { once } from 'node:events';
import { Client, type DisconnectInfo, FrameKind, type ReconnectInfo, Server, type Session, encodeFrameToBuffer } from '../src/index.js';
import { backoffDelay } from '../src/backoff.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import { rejection } from './support/async.js';
import { closeAll, defer, rawServer, rawSocket, startServer, tempSocketPath } from './support/net.js';
import { HELLO } from './support/wire.js';

describe('heartbeat', () => {
  afterEach(closeAll);

  it('drops a half-open peer that completed the hello and then stopped answering', async () => {
    const { server, port } = await startServer({ ping: { interval: 20, misses: 2 } });
    const raw = await rawSocket({ port });
    const pings: number[] = [];
    const decoder = new FrameDecoder({ expectMagic: true });
    raw.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) if (frame.kind === FrameKind.PING) pings.push(frame.kind);
    });
    const connected = once(server, 'connect');
    raw.write(HELLO);
    await connected;
    const [, info] = (await once(server, 'disconnect')) as [Session, DisconnectInfo];
    expect(info.reason).to.equal('ping-timeout');
    expect(info.error).to.have.property('code', 'ERR_PING_TIMEOUT');
    expect(pings.length).to.equal(2); // interval × (misses + 1): two pings went unanswered
    expect(server.sessions).to.have.length(0);
  });

  it('keeps a live peer: each pong answers a ping and the connection stays', async () => {
    const { server, port } = await startServer({ ping: { interval: 10, misses: 1 } });
    let dropped = false;
    server.on('disconnect', () => (dropped = true));
    const raw = await rawSocket({ port });
    const decoder = new FrameDecoder({ expectMagic: true });
    const PONG = encodeFrameToBuffer({ kind: FrameKind.PONG });
    let pings = 0;
    const sixPings = new Promise<void>((resolve) => {
      raw.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          if (frame.kind !== FrameKind.PING) continue;
          raw.write(PONG);
          if (++pings === 6) resolve();
        }
      });
    });
    raw.write(HELLO);
    await sixPings; // six intervals: three times what misses = 1 tolerates without pongs
    expect(dropped).to.equal(false);
    expect(server.sessions).to.have.length(1);
  });

  it('a client drops a server that stops answering, then reconnects', async () => {
    // a raw server that answers the hello of each client, then never says anything again
    const { port, sockets } = await rawServer((socket) => {
      socket.once('data', () => socket.write(HELLO));
    });
    const client = new Client({ port, ping: { interval: 20, misses: 2 }, reconnect: { initial: 10, max: 20 } });
    defer(() => client.close());
    await client.connect();
    const [info] = (await once(client, 'disconnect')) as [DisconnectInfo];
    expect(info.reason).to.equal('ping-timeout');
    await once(client, 'connect');
    expect(sockets.length).to.equal(2);
  });
});

describe('reconnect', () => {
  let clock: Clock | undefined;
  afterEach(async () => {
    clock?.uninstall();
    clock = undefined;
    await closeAll();
  });

  it('reconnects when the server restarts on the same port', async () => {
    const first = new Server({ port: 0 });
    const address = await first.listen();
    const port = address.port ?? 0;
    const client = new Client({ port, reconnect: { initial: 10, max: 50 } });
    defer(() => client.close());
    await client.connect();
    const reconnecting: ReconnectInfo[] = [];
    client.on('reconnecting', (info) => reconnecting.push(info));
    const disconnected = once(client, 'disconnect');
    await first.close();
    expect(client.state).to.be.oneOf(['reconnecting', 'connected']);
    await disconnected;
    const second = new Server({ port });
    defer(() => second.close());
    second.handle(() => 'second');
    await second.listen();
    if (client.state !== 'connected') await once(client, 'connect');
    expect(reconnecting.length).to.be.greaterThan(0);
    expect(reconnecting[0]?.attempt).to.equal(1);
    expect(await client.request('who')).to.equal('second');
  });

  it('reconnects over a Unix socket path', async () => {
    const path = tempSocketPath();
    const first = new Server({ path });
    await first.listen();
    const client = new Client({ path, reconnect: { initial: 10, max: 50 } });
    defer(() => client.close());
    await client.connect();
    await first.close();
    const second = new Server({ path });
    defer(() => second.close());
    second.handle(() => 'again');
    await second.listen();
    if (client.state !== 'connected') await once(client, 'connect');
    expect(await client.request('x')).to.equal('again');
  });

  it('backoff delays follow initial × multiplier^(attempt-1), capped (fake timers)', async () => {
    const { server, port } = await startServer({ ping: false });
    const options = { initial: 100, max: 1000, multiplier: 3, jitter: 'none' as const };
    const client = new Client({ port, reconnect: options, ping: false });
    defer(() => client.close());
    await client.connect();
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const delays: number[] = [];
    const attempts: number[] = [];
    await server.close();
    for (let i = 0; i < 5; i++) {
      const [info] = (await once(client, 'reconnecting')) as [ReconnectInfo];
      delays.push(info.delay);
      attempts.push(info.attempt);
      expect(clock.countTimers()).to.be.greaterThan(0);
      clock.tick(info.delay); // the attempt fires; its ECONNREFUSED arrives as real I/O
    }
    expect(attempts).to.deep.equal([1, 2, 3, 4, 5]);
    expect(delays).to.deep.equal([100, 300, 900, 1000, 1000]);
    expect(delays).to.deep.equal([1, 2, 3, 4, 5].map((n) => backoffDelay(n, options)));
  });

  it('close() during backoff stops reconnecting at once and leaves no timer', async () => {
    const { server, port } = await startServer({ ping: false });
    const client = new Client({ port, reconnect: { initial: 500, max: 1000, jitter: 'none' }, ping: false });
    await client.connect();
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const reconnecting = once(client, 'reconnecting');
    await server.close();
    await reconnecting;
    expect(client.state).to.equal('reconnecting');
    await client.close();
    expect(client.state).to.equal('closed');
    let more = 0;
    client.on('reconnecting', () => more++);
    clock.tick(10_000);
    expect(more).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('the first connect() rejects when no server answers', async () => {
    const { server, port } = await startServer();
    await server.close();
    const client = new Client({ port });
    defer(() => client.close());
    try {
      await client.connect();
      expect.fail('connect() resolved');
    } catch (err) {
      expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
    }
    expect(client.state).to.equal('idle');
  });

  it('with retryFirstConnect, the first connect() waits for the server', async () => {
    const { server, port } = await startServer();
    await server.close();
    const client = new Client({ port, reconnect: { initial: 10, max: 20, retryFirstConnect: true } });
    defer(() => client.close());
    const connecting = client.connect();
    await once(client, 'reconnecting');
    const later = new Server({ port });
    defer(() => later.close());
    await later.listen();
    await connecting;
    expect(client.state).to.equal('connected');
  });

  it('with reconnect: false, a dropped client stays disconnected', async () => {
    const { server, port } = await startServer();
    const client = new Client({ port, reconnect: false });
    defer(() => client.close());
    await client.connect();
    const dropped = once(client, 'disconnect');
    await server.close();
    await dropped;
    expect(client.state).to.equal('disconnected');
    const err = await rejection(client.send(1));
    expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
  });
});
