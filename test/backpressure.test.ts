// Backpressure over real sockets: send() waits for the kernel, maxWriteBuffer
// bounds what a fire-and-forget sender can queue, sendAll's slow-consumer
// policies, and a request flood held back by TCP instead of memory.
//
// No assertion here depends on how fast the machine is: "pending" is checked
// after the event loop has had its turns (and, where it matters, once the
// other side is known to have received what it could), and every wait has a
// deadline that fails the test instead of hanging it.
import { expect } from 'chai';
import type { Socket } from 'node:net';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { type DisconnectInfo, FrameDecoder, FrameKind, HopwireError, type Server, type Session } from '../src/index.js';
import { rejection, within } from './support/async.js';
import { closeAll, next, rawServer, rawSocket, startClient, startServer } from './support/net.js';
import { HELLO } from './support/wire.js';

const MiB = 1024 * 1024;

/** Resolves once `done()` holds; fails after `ms`. */
async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await sleep(2);
  }
}

/** Lets the event loop run `n` full turns (timers, I/O, immediates). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await immediate();
}

/** A promise and a way to ask whether it has settled yet. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

/**
 * A raw TCP server acting as a hopwire server: it answers the first client's
 * hello and then stops reading (`pause()`), so whatever the client sends piles
 * up in the kernel and then in the client's socket buffer. `received()` counts
 * the bytes it read after the hello, once resumed.
 */
async function pausedPeer(): Promise<{ port: number; peer: Promise<Socket>; received: () => number }> {
  let bytes = 0;
  let gotPeer!: (socket: Socket) => void;
  const peer = new Promise<Socket>((resolve) => (gotPeer = resolve));
  const { port } = await rawServer((socket) => {
    socket.once('data', () => {
      socket.write(HELLO);
      socket.pause();
      // a listener added to an explicitly paused socket does not resume it
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      gotPeer(socket);
    });
  });
  return { port, peer, received: () => bytes };
}

describe('backpressure: send()', function () {
  this.timeout(30_000); // generous: every wait below has its own deadline, and the machine is shared
  afterEach(closeAll);

  it('send() stays pending while the peer does not read, and resolves once it reads', async () => {
    const { port, peer, received } = await pausedPeer();
    const client = await startClient({ port, ping: false });
    const socket = await peer;
    const chunk = Buffer.alloc(MiB, 0xab);
    const COUNT = 32; // far more than the kernel holds for a peer that reads nothing (a few MiB)
    let resolved = 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < COUNT; i++) {
      sends.push(
        client.send(chunk).then(() => {
          resolved++;
        }),
      );
      await turns(2); // each send in a write batch of its own
    }
    await turns(10);
    const whileStopped = resolved;
    expect(whileStopped, 'sends that resolved although the peer read nothing').to.be.below(COUNT);
    await sleep(50);
    await turns(5);
    expect(resolved, 'nothing more resolves while the peer does not read').to.equal(whileStopped);

    socket.resume();
    await within(Promise.all(sends), 20_000, 'the sends after the peer resumed reading');
    expect(resolved).to.equal(COUNT);
    await until(() => received() >= COUNT * MiB, 'the peer to receive every byte');
  });

  it('maxWriteBuffer: once more than it is held unsent, send() rejects with ERR_BUFFER_FULL; after the peer reads, sends work again', async () => {
    const { port, peer, received } = await pausedPeer();
    const client = await startClient({ port, ping: false, maxWriteBuffer: 4 * MiB });
    const socket = await peer;
    const chunk = Buffer.alloc(MiB, 0xcd);
    const accepted: Promise<void>[] = [];
    let refusal: unknown;
    // fire and forget, one send per turn; without the limit this would queue 64 MiB
    for (let i = 0; i < 64 && refusal === undefined; i++) {
      const sending = client.send(chunk);
      const outcome = await Promise.race([sending.then(() => 'sent', (err: unknown) => err), turns(2).then(() => 'waiting')]);
      if (outcome === 'sent' || outcome === 'waiting') accepted.push(sending);
      else refusal = outcome;
    }
    expect(refusal, 'no send was refused').to.be.instanceOf(HopwireError);
    expect(refusal).to.have.property('code', 'ERR_BUFFER_FULL');
    // the kernel took some, then the socket buffer more than 4 MiB
    expect(accepted.length).to.be.at.least(4);
    // still refused while the peer does not read
    expect(await rejection(client.send(chunk))).to.have.property('code', 'ERR_BUFFER_FULL');
    expect(client.connected, 'a full buffer is no reason to disconnect').to.equal(true);

    socket.resume();
    await within(Promise.all(accepted), 20_000, 'the accepted sends after the peer resumed reading');
    await within(client.send(chunk), 10_000, 'a send after the peer caught up');
    await until(() => received() >= (accepted.length + 1) * MiB, 'the peer to receive every accepted send');
  });
});

describe('backpressure: sendAll() and slow consumers', function () {
  this.timeout(30_000); // generous: every wait below has its own deadline, and the machine is shared
  afterEach(closeAll);

  const CHUNK = 256 * 1024;
  const TOTAL = 100 * MiB;
  const COUNT = TOTAL / CHUNK; // 400 broadcasts
  const FILL = 0x5a;
  const payload = Buffer.alloc(CHUNK, FILL);

  interface Reader {
    messages: number;
    bytes: number;
    intact: boolean;
  }

  /**
   * Waits until the reader has every broadcast; fails at once, saying so,
   * when the server treated the reader itself as a slow consumer.
   */
  async function readerGetsAll(reader: Reader, session: Session): Promise<void> {
    await until(
      () => reader.messages === COUNT || !reader.intact || session.closed || session.droppedMessages > 0,
      'the reader to get every broadcast',
    );
    const state = `reader got ${reader.messages}/${COUNT}; its session: closed ${session.closed} (${session.disconnectInfo?.reason ?? '-'}), dropped ${session.droppedMessages}`;
    expect(session.closed || session.droppedMessages > 0, `the reading client was treated as a slow consumer: ${state}`).to.equal(false);
    expect(reader, state).to.deep.equal({ messages: COUNT, bytes: TOTAL, intact: true });
  }

  /**
   * A server with `slowConsumer: { maxBytes: 2 MiB, lag: 50, policy }`, a
   * hopwire client that reads (and counts what it gets), and a raw socket
   * that completes the hello and then never reads.
   */
  async function broadcastSetup(
    policy?: 'disconnect' | 'drop' | 'wait',
    maxWriteBuffer?: number,
  ): Promise<{ server: Server; slow: Session; raw: Socket; reader: Reader; readerSession: Session }> {
    const slowConsumer = { maxBytes: 2 * MiB, lag: 50, ...(policy === undefined ? {} : { policy }) };
    const { server, port } = await startServer({ ping: false, slowConsumer, ...(maxWriteBuffer === undefined ? {} : { maxWriteBuffer }) });
    const readerConnected = next<[Session]>(server, 'connect');
    const client = await startClient({ port, ping: false, reconnect: false });
    const [readerSession] = await readerConnected;
    const reader: Reader = { messages: 0, bytes: 0, intact: true };
    client.on('message', (m) => {
      if (!Buffer.isBuffer(m) || m[0] !== FILL || m[m.length - 1] !== FILL) reader.intact = false;
      else {
        reader.messages++;
        reader.bytes += m.length;
      }
    });
    const raw = await rawSocket({ port });
    const connected = next<[Session]>(server, 'connect');
    raw.write(HELLO);
    const [slow] = await connected;
    raw.pause();
    expect(server.sessions).to.have.length(2);
    return { server, slow, raw, reader, readerSession };
  }

  /** Reads everything the raw socket gets from now on and counts the MESSAGE frames. */
  function countFrames(raw: Socket): { messages: number } {
    const counted = { messages: 0 };
    const decoder = new FrameDecoder({ expectMagic: true, maxFrameBytes: 64 * MiB });
    raw.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) if (frame.kind === FrameKind.MESSAGE) counted.messages++;
    });
    raw.resume();
    return counted;
  }

  it("'disconnect' (the default): the slow session is dropped as a slow consumer, the reader gets all 100 MiB, memory stays bounded", async () => {
    const { server, slow, reader, readerSession } = await broadcastSetup();
    const slowGone = new Promise<DisconnectInfo>((resolve) => {
      server.on('disconnect', (s, info) => {
        if (s === slow) resolve(info);
      });
    });
    const rss0 = process.memoryUsage.rss();
    let peak = rss0;
    await within(
      (async () => {
        for (let i = 0; i < COUNT; i++) {
          await server.sendAll(payload);
          peak = Math.max(peak, process.memoryUsage.rss());
        }
      })(),
      20_000,
      'broadcasting 100 MiB',
    );
    const info = await within(slowGone, 10_000, 'the slow session’s disconnect');
    await readerGetsAll(reader, readerSession);
    const growth = Math.max(peak, process.memoryUsage.rss()) - rss0;

    expect(info.reason).to.equal('slow-consumer');
    expect(info.error).to.have.property('code', 'ERR_SLOW_CONSUMER');
    expect(slow.closed).to.equal(true);
    expect(server.sessions).to.have.members([readerSession]);
    // 100 MiB went out: holding it for the slow session would grow the RSS past this
    expect(growth, `RSS grew by ${(growth / 1e6).toFixed(1)} MB`).to.be.below(100e6);
  });

  it("'drop': the slow session stays connected, skipped broadcasts are counted, its buffer stays bounded, the reader gets everything", async () => {
    const { server, slow, raw, reader, readerSession } = await broadcastSetup('drop');
    let slowDisconnected = false;
    server.on('disconnect', (s) => {
      if (s === slow) slowDisconnected = true;
    });
    await within(
      (async () => {
        for (let i = 0; i < COUNT; i++) await server.sendAll(payload);
      })(),
      20_000,
      'broadcasting 100 MiB',
    );
    await readerGetsAll(reader, readerSession);
    expect(slowDisconnected).to.equal(false);
    expect(slow.closed).to.equal(false);
    expect(server.sessions).to.include(slow);
    expect(slow.droppedMessages).to.be.greaterThan(0);
    // skipped once past maxBytes: at most one broadcast more than 2 MiB is held for it
    expect(slow.bufferedBytes).to.be.at.most(2 * MiB + CHUNK + 1024);

    // what was not dropped arrives whole once the slow peer reads
    const got = countFrames(raw);
    const expected = COUNT - slow.droppedMessages;
    await until(() => got.messages >= expected, `the slow peer to read ${expected} messages`);
    await turns(5);
    expect(got.messages).to.equal(expected);
  });

  // Fails as of this writing. After the stall the lag timer fires before the
  // write's completion is seen, so the reader is marked lagging; from then on
  // every session is lagging or skipped, `sendAll()` awaits only resolved
  // promises, and a loop of `await server.sendAll()` never yields to the event
  // loop: the connection's uncork (process.nextTick) never runs, nothing more
  // reaches the kernel, and the reader "falls" 2 MiB behind within 8
  // broadcasts however fast it reads. (The same thing makes the policy tests
  // above fail now and then on a loaded machine.)
  it('one event-loop stall longer than `lag` during a broadcast does not get a reading client treated as a slow consumer', async () => {
    const { server, port } = await startServer({ ping: false, slowConsumer: { maxBytes: 2 * MiB, lag: 50 } });
    const readerConnected = next<[Session]>(server, 'connect');
    const client = await startClient({ port, ping: false, reconnect: false });
    const [readerSession] = await readerConnected;
    const reader: Reader = { messages: 0, bytes: 0, intact: true };
    client.on('message', (m) => {
      if (!Buffer.isBuffer(m)) return;
      reader.messages++;
      reader.bytes += m.length;
      if (reader.messages === 50) {
        // one 100 ms stall, as a GC pause or a slow listener makes
        const end = performance.now() + 100;
        while (performance.now() < end);
      }
    });
    await within(
      (async () => {
        for (let i = 0; i < COUNT; i++) await server.sendAll(payload);
      })(),
      20_000,
      'broadcasting 100 MiB',
    );
    await readerGetsAll(reader, readerSession);
  });

  it("'wait': sendAll() waits for the slow session while it does not read, and completes once it reads", async () => {
    const { server, slow, raw, reader } = await broadcastSetup('wait');
    let stuck: { promise: Promise<number>; settled: () => boolean } | undefined;
    let broadcasts = 0;
    for (let i = 0; i < COUNT && stuck === undefined; i++) {
      const sending = track(server.sendAll(payload));
      broadcasts++;
      await turns(3);
      if (sending.settled()) continue;
      // the reader has taken this one: if sendAll still waits, it waits for the slow peer
      await until(() => reader.messages === broadcasts || sending.settled(), 'the reader to get the broadcast');
      await sleep(20);
      if (!sending.settled()) stuck = sending;
    }
    expect(stuck, 'sendAll never waited for the slow peer').to.not.equal(undefined);
    if (stuck === undefined) return;
    await sleep(100);
    await turns(5);
    expect(stuck.settled(), 'sendAll completed while the slow peer read nothing').to.equal(false);
    expect(slow.closed).to.equal(false);
    expect(slow.droppedMessages).to.equal(0);
    expect(slow.bufferedBytes).to.be.greaterThan(0);

    const got = countFrames(raw);
    expect(await within(stuck.promise, 20_000, 'the waiting sendAll after the slow peer resumed')).to.equal(2);
    for (let i = 0; i < 8; i++) {
      expect(await within(server.sendAll(payload), 20_000, 'a broadcast after the slow peer caught up')).to.equal(2);
      broadcasts++;
    }
    await until(() => got.messages === broadcasts && reader.messages === broadcasts, 'both peers to get every broadcast');
    expect(reader.intact).to.equal(true);
  });
  it("'wait': a session past maxWriteBuffer is skipped, and sendAll() does not count it", async () => {
    const { server, slow, raw, reader } = await broadcastSetup('wait', 4 * MiB);
    // Fire-and-forget broadcasts, one per tick, until the slow session holds more than its maxWriteBuffer.
    const pending: Promise<number>[] = [];
    let broadcasts = 0;
    while (slow.bufferedBytes <= 4 * MiB) {
      if (broadcasts >= 64) throw new Error(`the slow session never held more than 4 MiB (${slow.bufferedBytes} bytes)`);
      pending.push(server.sendAll(payload));
      broadcasts++;
      await turns(2);
    }
    const counted = await within(server.sendAll(payload), 20_000, 'the broadcast that skips the full session');
    expect(counted, 'the full session was counted as reached').to.equal(1);
    broadcasts++;
    expect(slow.closed).to.equal(false);
    // Once it reads, the slow session has every broadcast but the one it was skipped for.
    const got = countFrames(raw);
    expect(await within(Promise.all(pending), 20_000, 'the waiting broadcasts after the slow peer resumed')).to.deep.equal(pending.map(() => 2));
    await until(() => got.messages === broadcasts - 1 && reader.messages === broadcasts, 'both peers to get their broadcasts');
  });
});

describe('backpressure: incoming requests', function () {
  this.timeout(30_000); // generous: every wait below has its own deadline, and the machine is shared
  afterEach(closeAll);

  // Fails as of this writing: pausing the socket stops further 'data' events,
  // but Connection#receiveFrames still hands every frame of the chunk already
  // read to #onRequest, which answers those past the limit with
  // ERR_TOO_MANY_PENDING (ERR_REMOTE on this side) instead of holding them.
  it('a request flood: at maxPendingRequests running handlers the server stops reading; the rest are handled once handlers finish', async () => {
    const LIMIT = 8;
    const N = 100;
    const { server, port } = await startServer({ ping: false, maxPendingRequests: LIMIT });
    let calls = 0;
    const waiting: (() => void)[] = [];
    server.handle(
      (req) =>
        new Promise((resolve) => {
          calls++;
          waiting.push(() => {
            resolve(req);
          });
        }),
    );
    const client = await startClient({ port, ping: false });
    const replies = Array.from({ length: N }, (_, i) =>
      client.request(i, { timeout: 0 }).then(
        (reply) => reply,
        (err: unknown) => err,
      ),
    );
    await until(() => calls >= LIMIT, `${LIMIT} handlers to start`);
    await sleep(50);
    await turns(10);
    expect(calls, 'handlers started while the limit was reached').to.equal(LIMIT);
    // held back by TCP, not answered with an error: every request is still waiting
    expect(client.pendingRequests, 'requests answered (with an error) instead of held back').to.equal(N);

    // finish the handlers in rounds; the server reads again below half the limit
    while (calls < N || waiting.length > 0) {
      const round = waiting.splice(0);
      for (const finish of round) finish();
      await until(() => waiting.length > 0 || calls === N, 'more handlers to start', 10_000);
    }
    const results = await within(Promise.all(replies), 10_000, 'the replies');
    expect(results).to.deep.equal(Array.from({ length: N }, (_, i) => i));
    expect(calls).to.equal(N);
    expect(client.pendingRequests).to.equal(0);
  });
});
