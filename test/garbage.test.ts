/**
 * Garbage and half frames from raw sockets never crash the process and never
 * disturb other clients. No `error` listener is attached to the server in
 * this file: the point is that nothing needs one.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  type Client,
  type DisconnectInfo,
  ErrorCode,
  type Frame,
  FrameDecoder,
  FrameFlags,
  FrameKind,
  MAGIC,
  type Server,
  type ServerEvents,
  type ServerOptions,
  type Session,
  encodeFrameToBuffer,
} from '../src/index.js';
import { nextEvent, within } from './support/async.js';
import { closeAll, rawSocket, startClient, startServer } from './support/net.js';
import { HELLO } from './support/wire.js';

// ---------------------------------------------------------------- helpers

/** A seeded PRNG (mulberry32): the same garbage on every run. */
function garbage(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/**
 * Requests in a loop from a healthy client, one after the other, each checked
 * against its own reply; the first failure stops the loop and fails `reach`
 * and `stop`.
 */
function requestLoop(client: Client): { readonly done: number; reach(n: number): Promise<void>; stop(): Promise<number> } {
  const state = { running: true };
  let done = 0;
  let failure: unknown;
  const waiters: { n: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  const settle = (): void => {
    for (const w of [...waiters]) {
      if (failure !== undefined) w.reject(failure);
      else if (done >= w.n) w.resolve();
      else continue;
      waiters.splice(waiters.indexOf(w), 1);
    }
  };
  const finished = (async () => {
    while (state.running) {
      const n = done;
      const reply = await client.request({ n }, { timeout: 3000 });
      expect(reply).to.deep.equal({ pong: n });
      done++;
      settle();
    }
  })();
  finished.catch((err: unknown) => {
    failure = err;
    settle();
  });
  return {
    get done() {
      return done;
    },
    reach(n) {
      return new Promise((resolve, reject) => {
        waiters.push({ n, resolve, reject });
        settle();
      });
    },
    async stop() {
      state.running = false;
      await finished;
      return done;
    },
  };
}

interface Setup {
  server: Server;
  port: number;
  client: Client;
  healthy: Session;
  loop: ReturnType<typeof requestLoop>;
  /** The next disconnect of a session other than the healthy one. */
  badDisconnect: () => Promise<[Session, DisconnectInfo]>;
  /** Checks that the healthy client kept working throughout, then stops its loop. */
  healthyThroughout: () => Promise<void>;
}

/** A server with a healthy client doing request/reply in a loop. */
async function setup(options: ServerOptions = {}): Promise<Setup> {
  const { server, port } = await startServer({ maxLineBytes: 1024, ...options });
  server.handle((req) => ({ pong: (req as { n: number }).n }));
  const client = await startClient({ port, reconnect: false });
  const [healthy] = server.sessions;
  if (healthy === undefined) throw new Error('no session for the healthy client');
  let clientDrops = 0;
  client.on('disconnect', () => clientDrops++);
  const loop = requestLoop(client);
  await loop.reach(3);
  const badDisconnects: [Session, DisconnectInfo][] = [];
  const badWaiters: ((d: [Session, DisconnectInfo]) => void)[] = [];
  server.on('disconnect', (session, info) => {
    if (session === healthy) return;
    const waiter = badWaiters.shift();
    if (waiter) waiter([session, info]);
    else badDisconnects.push([session, info]);
  });
  return {
    server,
    port,
    client,
    healthy,
    loop,
    badDisconnect: () => {
      const d = badDisconnects.shift();
      return d ? Promise.resolve(d) : within(new Promise((resolve) => badWaiters.push(resolve)), 3000, 'the bad session’s disconnect');
    },
    healthyThroughout: async () => {
      // More round trips after the garbage, then stop.
      await within(loop.reach(loop.done + 5), 3000, 'the healthy request loop');
      const total = await loop.stop();
      expect(total).to.be.at.least(8);
      expect(clientDrops).to.equal(0);
      expect(client.connected).to.equal(true);
      expect(server.sessions).to.include(healthy);
      expect(healthy.ready).to.equal(true);
      expect(server.listenerCount('error')).to.equal(0);
    },
  };
}

/** A raw socket that records what it receives and tolerates being cut off. */
async function badPeer(port: number): Promise<{ socket: Socket; closed: () => Promise<unknown>; received: () => Buffer }> {
  const socket = await rawSocket({ port });
  socket.on('error', () => undefined); // EPIPE / ECONNRESET when the server hangs up mid-write
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = once(socket, 'close');
  return {
    socket,
    closed: () => within(closed, 3000, 'the server closing the bad socket'),
    received: () => Buffer.concat(chunks),
  };
}

/** The frames in what a binary peer received from the server. */
function framesOf(bytes: Buffer): Frame[] {
  return new FrameDecoder({ expectMagic: true }).push(bytes);
}

/** The GOODBYE the server sent (it must be there), with its parsed payload. */
function goodbyeIn(bytes: Buffer): { code: unknown; reason: unknown } {
  const frames = framesOf(bytes);
  const goodbye = frames.find((f) => f.kind === FrameKind.GOODBYE);
  expect(goodbye, `a GOODBYE frame among kinds [${frames.map((f) => f.kind).join(', ')}]`).to.not.equal(undefined);
  expect(frames.at(-1)?.kind, 'the GOODBYE is the last frame').to.equal(FrameKind.GOODBYE);
  return JSON.parse(goodbye!.payload.toString('utf8')) as { code: unknown; reason: unknown };
}

/** A 20-byte header with the given fields (for frames encodeFrame refuses to build). */
function header(fields: { length: number; kind?: number; flags?: number; payloadLength?: number }): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(fields.length, 0);
  b[4] = fields.kind ?? FrameKind.MESSAGE;
  b[5] = fields.flags ?? 0;
  b.writeUInt32BE(fields.payloadLength ?? 0, 12);
  return b;
}

/**
 * Runs one bad peer whose hello completes and then breaks the protocol:
 * the server must close it with reason protocol-error and a GOODBYE whose
 * code is one of `codes`, while the healthy client carries on.
 */
async function brokenAfterHello(bytes: Buffer, ...codes: string[]): Promise<void> {
  const s = await setup();
  const bad = await badPeer(s.port);
  const connected = nextEvent<ServerEvents, 'connect'>(s.server, 'connect');
  bad.socket.write(HELLO);
  const [badSession] = await connected;
  const disconnect = s.badDisconnect();
  bad.socket.write(bytes);
  const [session, info] = await disconnect;
  expect(session).to.equal(badSession);
  expect(info.reason).to.equal('protocol-error');
  expect(codes).to.include((info.error as { code?: unknown } | undefined)?.code);
  expect(session.ready).to.equal(false);
  await bad.closed();
  const goodbye = goodbyeIn(bad.received());
  expect(goodbye.code).to.equal((info.error as { code?: unknown } | undefined)?.code);
  expect(s.server.sessions).to.deep.equal([s.healthy]);
  await s.healthyThroughout();
}

/** Runs one bad peer that never completes the hello: the server must close it promptly. */
async function brokenBeforeHello(bytes: Buffer): Promise<Buffer> {
  const s = await setup(); // default handshakeTimeout (5 s): a close within 3 s is not the timeout
  let connects = 0;
  s.server.on('connect', () => connects++);
  const bad = await badPeer(s.port);
  bad.socket.write(bytes);
  await bad.closed();
  expect(connects).to.equal(0);
  expect(s.server.sessions).to.deep.equal([s.healthy]);
  await s.healthyThroughout();
  return bad.received();
}

// ---------------------------------------------------------------- tests

describe('garbage from peers', () => {
  afterEach(closeAll);

  describe('before the hello completes', () => {
    it('(a) the magic, then random bytes', async () => {
      await brokenBeforeHello(Buffer.concat([MAGIC, garbage(1, 4096)]));
    });

    it('(b) the magic and a header claiming 4 GiB', async () => {
      const received = await brokenBeforeHello(Buffer.concat([MAGIC, header({ length: 0xffff_ffff, kind: FrameKind.HELLO })]));
      // If the server explains itself, it says the frame is too large.
      const frames = framesOf(received);
      const goodbye = frames.find((f) => f.kind === FrameKind.GOODBYE);
      if (goodbye !== undefined) expect(goodbye.payload.toString()).to.contain(ErrorCode.FRAME_TOO_LARGE);
    });

    it('(d) a truncated hello, then the peer closes', async () => {
      const s = await setup();
      const bad = await badPeer(s.port);
      bad.socket.end(HELLO.subarray(0, HELLO.length - 5));
      await bad.closed();
      expect(s.server.sessions).to.deep.equal([s.healthy]);
      await s.healthyThroughout();
    });

    it('(e) random binary starting with 0x89', async () => {
      const bytes = garbage(2, 2048);
      bytes[0] = 0x89;
      await brokenBeforeHello(bytes);
    });

    it('a hello whose payload is not JSON', async () => {
      await brokenBeforeHello(Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{nope' })]));
    });

    it('a hello with no common protocol version gets a GOODBYE with ERR_VERSION', async () => {
      const received = await brokenBeforeHello(
        Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{"version":99,"min":50,"caps":[]}' })]),
      );
      expect(goodbyeIn(received).code).to.equal(ErrorCode.VERSION);
    });

    it('a MESSAGE before the hello', async () => {
      await brokenBeforeHello(Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"early":true}' })]));
    });

    it('the magic alone, then silence: closed after handshakeTimeout', async () => {
      const s = await setup({ handshakeTimeout: 100 });
      let events = 0;
      s.server.on('connect', () => events++);
      s.server.on('disconnect', (session) => {
        if (session !== s.healthy) events++;
      });
      const bad = await badPeer(s.port);
      const started = Date.now();
      bad.socket.write(MAGIC);
      await bad.closed();
      expect(Date.now() - started).to.be.at.least(80); // the magic alone is not an error: it waited
      expect(events).to.equal(0); // never ready, so neither connect nor disconnect
      await s.healthyThroughout();
    });
  });

  describe('after the hello completed: closed with protocol-error and a GOODBYE', () => {
    it('(a) random bytes', async () => {
      // Random bytes make a bad header at once: a length past maxFrameBytes,
      // or a bad kind, flags, reserved field or lengths.
      await brokenAfterHello(garbage(3, 4096), ErrorCode.PROTOCOL, ErrorCode.FRAME_TOO_LARGE);
    });

    it('(b) a header claiming 4 GiB', async () => {
      await brokenAfterHello(header({ length: 0xffff_ffff, payloadLength: 0xffff_ffff - 16 }), ErrorCode.FRAME_TOO_LARGE);
    });

    it('(c) a frame of an unknown kind', async () => {
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{}' });
      frame[4] = 42;
      await brokenAfterHello(frame, ErrorCode.PROTOCOL);
    });

    it('a second HELLO', async () => {
      await brokenAfterHello(encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' }), ErrorCode.PROTOCOL);
    });

    it('(f) a TAGGED MESSAGE with a malformed tagged payload {"$hw":"zz"}', async () => {
      await brokenAfterHello(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"zz"}' }), ErrorCode.DECODE);
    });

    it('a MESSAGE whose payload is not JSON', async () => {
      await brokenAfterHello(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"cut' }), ErrorCode.DECODE);
    });

    it('a REQUEST with a malformed tagged payload', async () => {
      await brokenAfterHello(encodeFrameToBuffer({ kind: FrameKind.REQUEST, id: 7, flags: FrameFlags.TAGGED, payload: '[{"$hw":"a","i":5,"t":"Buffer"}]' }), ErrorCode.DECODE);
    });

    it('a hello and garbage in one chunk: the hello still counts, so the disconnect says protocol-error', async () => {
      // The same bytes as '(c)' above, but arriving in one read instead of two.
      const s = await setup();
      let connects = 0;
      s.server.on('connect', () => connects++);
      const bad = await badPeer(s.port);
      const disconnect = s.badDisconnect();
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{}' });
      frame[4] = 42;
      bad.socket.write(Buffer.concat([HELLO, frame]));
      await bad.closed();
      expect(connects).to.equal(1);
      const [, info] = await disconnect;
      expect(info.reason).to.equal('protocol-error');
      expect(goodbyeIn(bad.received()).code).to.equal(ErrorCode.PROTOCOL);
      await s.healthyThroughout();
    });

    it('a good MESSAGE followed by a bad frame in one chunk: the message is still delivered before the close', async () => {
      const s = await setup();
      const bad = await badPeer(s.port);
      const connected = nextEvent<ServerEvents, 'connect'>(s.server, 'connect');
      bad.socket.write(HELLO);
      await connected;
      const got: unknown[] = [];
      s.server.on('message', (message) => got.push(message));
      const disconnect = s.badDisconnect();
      const badFrame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{}' });
      badFrame[4] = 42;
      bad.socket.write(Buffer.concat([encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"last":"words"}' }), badFrame]));
      const [, info] = await disconnect;
      expect(info.reason).to.equal('protocol-error');
      expect(got).to.deep.equal([{ last: 'words' }]);
      await bad.closed();
      await s.healthyThroughout();
    });

    it('(d) a truncated frame, then the peer closes: the session ends, nothing else is disturbed', async () => {
      const s = await setup();
      const bad = await badPeer(s.port);
      const disconnect = s.badDisconnect();
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: JSON.stringify({ cut: 'x'.repeat(100) }) });
      bad.socket.end(Buffer.concat([HELLO, frame.subarray(0, 60)]));
      const [, info] = await disconnect;
      expect(['remote-closed', 'protocol-error']).to.include(info.reason);
      await bad.closed();
      expect(s.server.sessions).to.deep.equal([s.healthy]);
      await s.healthyThroughout();
    });
  });

  it('(g) 1 MiB without a newline to a lines session with a small maxLineBytes', async () => {
    const s = await setup({ maxLineBytes: 1024 });
    const bad = await badPeer(s.port);
    const disconnect = s.badDisconnect();
    bad.socket.write(Buffer.alloc(1024 * 1024, 'x'));
    const [session, info] = await disconnect;
    expect(session.protocol).to.equal('lines');
    expect(info.reason).to.equal('protocol-error');
    expect(info.error).to.have.property('code', ErrorCode.LINE_TOO_LARGE);
    await bad.closed();
    await s.healthyThroughout();
  });

  it('all of them at once, while the healthy client keeps going', async () => {
    const s = await setup({ maxLineBytes: 1024 });
    const cases: Buffer[] = [
      Buffer.concat([MAGIC, garbage(4, 4096)]),
      Buffer.concat([MAGIC, header({ length: 0xffff_ffff })]),
      Buffer.concat([HELLO, header({ length: 0xffff_ffff, payloadLength: 0xffff_ffff - 16 })]),
      Buffer.concat([HELLO, Buffer.from(encodeFrameToBuffer({ kind: FrameKind.PING }).fill(42, 4, 5))]),
      Buffer.concat([HELLO, encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"zz"}' })]),
      Buffer.concat([HELLO, garbage(5, 4096)]),
      Buffer.concat([Buffer.from([0x89]), garbage(6, 2048)]),
      Buffer.alloc(1024 * 1024, 'y'),
    ];
    const peers = await Promise.all(cases.map(() => badPeer(s.port)));
    peers.forEach((peer, i) => peer.socket.write(cases[i]!));
    const truncated = await badPeer(s.port);
    truncated.socket.end(Buffer.concat([HELLO, encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"a":1}' }).subarray(0, 10)]));
    await Promise.all([...peers, truncated].map((p) => p.closed()));
    // The server's side of a socket may close a moment after the peer's: wait for its disconnects.
    const onlyHealthyLeft = new Promise<void>((resolve) => {
      const check = (): void => {
        if (s.server.sessions.length > 1) return;
        s.server.off('disconnect', check);
        resolve();
      };
      s.server.on('disconnect', check);
      check();
    });
    await within(onlyHealthyLeft, 3000, 'the bad sessions’ disconnects');
    expect(s.server.sessions).to.deep.equal([s.healthy]);
    await s.healthyThroughout();
  });
});
