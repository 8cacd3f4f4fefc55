import { expect } from 'chai';
import { Socket } from 'node:net';
import {
  Client,
  type ClientEvents,
  type ClientMessageContext,
  type ClientState,
  type DisconnectInfo,
  type DisconnectReason,
  FrameDecoder,
  FrameKind,
  MAGIC,
  type ReconnectInfo,
  Server,
  type ServerEvents,
  type ServerMessageContext,
  Session,
} from '../src/index.js';
import { nextEvent } from './support/async.js';
import { LineReader, closeAll, defer, rawServer, rawSocket, startClient, startServer, tempSocketPath } from './support/net.js';
import { HELLO } from './support/wire.js';

// ---------------------------------------------------------------- helpers

/** True when A and B are the same type (a compile-time check that becomes a runtime `true`). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the standard exact-type comparison
type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * A raw TCP server acting as a hopwire server: answers the first client's
 * hello, then counts the chunks and bytes that arrive after it and decodes
 * the frames in them.
 */
async function helloServer(): Promise<{
  port: number;
  stats: { chunks: number; bytes: number; messages: number };
  helloDone: Promise<void>;
  messagesReach: (n: number) => Promise<void>;
  bytesReach: (n: number) => Promise<void>;
}> {
  const stats = { chunks: 0, bytes: 0, messages: 0 };
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (w.done()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const until = (done: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      waiters.push({ done, resolve });
      check();
    });
  let markHello!: () => void;
  const helloDone = new Promise<void>((resolve) => (markHello = resolve));
  const { port } = await rawServer((socket) => {
    const decoder = new FrameDecoder({ expectMagic: true, maxFrameBytes: 0xffff_ffff });
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      if (greeted) {
        stats.chunks++;
        stats.bytes += chunk.length;
      }
      // Count MESSAGE frames; big frames are only counted by bytes (no decoding).
      if (stats.bytes < 1024 * 1024) {
        for (const frame of decoder.push(chunk)) {
          if (frame.kind === FrameKind.HELLO && !greeted) {
            greeted = true;
            socket.write(HELLO);
            markHello();
          } else if (frame.kind === FrameKind.MESSAGE) {
            stats.messages++;
          }
        }
      }
      check();
    });
  });
  return {
    port,
    stats,
    helloDone,
    messagesReach: (n) => until(() => stats.messages >= n),
    bytesReach: (n) => until(() => stats.bytes >= n),
  };
}

// ---------------------------------------------------------------- the codec round trip

class Part {
  name: string;
  qty: number;
  constructor(name = '', qty = 0) {
    this.name = name;
    this.qty = qty;
  }
  total(price: number): number {
    return this.qty * price;
  }
}

class Widget {
  name: string;
  parts: Part[];
  extra: unknown;
  constructor(name = '', parts: Part[] = [], extra: unknown = null) {
    this.name = name;
    this.parts = parts;
    this.extra = extra;
  }
  count(): number {
    return this.parts.length;
  }
}

/** A class nobody registers. */
class Gadget {
  label: string;
  constructor(label: string) {
    this.label = label;
  }
  shout(): string {
    return this.label.toUpperCase();
  }
}

const TYPES = [Widget, Part];

/** Every type the codec carries, in one value. */
function everything(): Record<string, unknown> {
  const viewBytes = new Uint8Array([0, 9, 8, 7, 6, 0]);
  return {
    date: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
    invalidDate: new Date(Number.NaN),
    map: new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [3] }],
      [new Date(0), new Set([1])],
    ]),
    set: new Set<unknown>([1, 'two', 3n, undefined]),
    big: 12345678901234567890123456789n,
    negBig: -42n,
    buffer: Buffer.from('héllo wörld'),
    emptyBuffer: Buffer.alloc(0),
    u8: new Uint8Array([1, 2, 255]),
    i16: new Int16Array([-1, 2, 30000]),
    u32: new Uint32Array([0xffff_ffff, 1]),
    f32: new Float32Array([1.5, -2.25]),
    f64: new Float64Array([1.5, -0, Number.NaN, Infinity]),
    i64: new BigInt64Array([-5n, 2n ** 62n]),
    clamped: new Uint8ClampedArray([0, 128, 255]),
    view: new DataView(viewBytes.buffer, 1, 4),
    arr: [1, undefined, 3, [undefined]],
    obj: { defined: 1, missing: undefined },
    nan: Number.NaN,
    inf: Infinity,
    ninf: -Infinity,
    negZero: -0,
    regexp: /^h(o+)p\/[a-z]$/giu,
    text: 'ünïcødé 😀 "quotes" \n newline',
    nothing: null,
    flag: false,
    widget: new Widget('crate', [new Part('bolt', 2), new Part('nut', 5)]),
    deep: { list: [{ w: new Widget('inner', [new Part('pin', 7)], { when: new Date(1) }) }] },
  };
}

function bytesOf(v: ArrayBufferView): number[] {
  return [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];
}

/** Checks a received `everything()` value field by field. */
function checkEverything(got: unknown): void {
  expect(got).to.be.an('object');
  const g = got as Record<string, unknown>;
  const want = everything();

  expect(g.date).to.be.instanceOf(Date);
  expect((g.date as Date).getTime()).to.equal((want.date as Date).getTime());
  expect(g.invalidDate).to.be.instanceOf(Date);
  expect((g.invalidDate as Date).getTime()).to.be.NaN;

  expect(g.map).to.be.instanceOf(Map);
  const map = g.map as Map<unknown, unknown>;
  expect(map.get('a')).to.equal(1);
  expect(map.get(2)).to.deep.equal({ b: [3] });
  const [dateKey, setValue] = [...map.entries()][2] ?? [];
  expect(dateKey).to.be.instanceOf(Date);
  expect(setValue).to.be.instanceOf(Set);

  expect(g.set).to.be.instanceOf(Set);
  expect([...(g.set as Set<unknown>)]).to.deep.equal([1, 'two', 3n, undefined]);
  expect(g.big).to.equal(12345678901234567890123456789n);
  expect(g.negBig).to.equal(-42n);

  expect(Buffer.isBuffer(g.buffer)).to.equal(true);
  expect((g.buffer as Buffer).toString()).to.equal('héllo wörld');
  expect(Buffer.isBuffer(g.emptyBuffer)).to.equal(true);
  expect(g.emptyBuffer).to.have.length(0);

  const typed: [string, new (...args: never[]) => ArrayBufferView][] = [
    ['u8', Uint8Array],
    ['i16', Int16Array],
    ['u32', Uint32Array],
    ['f32', Float32Array],
    ['f64', Float64Array],
    ['i64', BigInt64Array],
    ['clamped', Uint8ClampedArray],
  ];
  for (const [key, ctor] of typed) {
    expect(g[key], key).to.be.instanceOf(ctor);
    expect(Buffer.isBuffer(g[key]), `${key} is not a Buffer`).to.equal(false);
    expect(Array.from(g[key] as ArrayLike<unknown>), key).to.deep.equal(Array.from(want[key] as ArrayLike<unknown>));
  }
  expect(Object.is((g.f64 as Float64Array)[1], -0)).to.equal(true);

  expect(g.view).to.be.instanceOf(DataView);
  expect(bytesOf(g.view as DataView)).to.deep.equal([9, 8, 7, 6]);

  expect(g.arr).to.deep.equal([1, undefined, 3, [undefined]]);
  expect(g.arr).to.have.length(4);
  expect(Object.hasOwn(g.arr as object, 1)).to.equal(true);
  expect(g.obj).to.deep.equal({ defined: 1, missing: undefined });
  expect(Object.hasOwn(g.obj as object, 'missing')).to.equal(true);

  expect(g.nan).to.be.NaN;
  expect(g.inf).to.equal(Infinity);
  expect(g.ninf).to.equal(-Infinity);
  expect(Object.is(g.negZero, -0)).to.equal(true);

  expect(g.regexp).to.be.instanceOf(RegExp);
  expect((g.regexp as RegExp).source).to.equal(/^h(o+)p\/[a-z]$/giu.source);
  expect((g.regexp as RegExp).flags).to.equal('giu');
  expect((g.regexp as RegExp).test('HOOP/x')).to.equal(true);

  expect(g.text).to.equal(want.text);
  expect(g.nothing).to.equal(null);
  expect(g.flag).to.equal(false);

  const widget = g.widget as Widget;
  expect(widget).to.be.instanceOf(Widget);
  expect(widget.count()).to.equal(2);
  expect(widget.parts[0]).to.be.instanceOf(Part);
  expect(widget.parts[1]?.total(3)).to.equal(15);
  expect(widget.name).to.equal('crate');

  const inner = ((g.deep as { list: { w: Widget }[] }).list[0] as { w: Widget }).w;
  expect(inner).to.be.instanceOf(Widget);
  expect(inner.count()).to.equal(1);
  expect(inner.parts[0]).to.be.instanceOf(Part);
  expect(inner.parts[0]?.total(10)).to.equal(70);
  expect((inner.extra as { when: Date }).when).to.be.instanceOf(Date);
}

describe('server and client', () => {
  afterEach(closeAll);

  for (const transport of ['TCP', 'a Unix socket'] as const) {
    describe(`every codec type round-trips over ${transport}`, () => {
      async function connected(): Promise<{ server: Server; client: Client; session: Session }> {
        let server: Server;
        let target: { port: number } | { path: string };
        if (transport === 'TCP') {
          let port: number;
          ({ server, port } = await startServer({ types: TYPES }));
          target = { port };
        } else {
          // startServer() always adds port: 0, which a Unix socket server refuses; build it here.
          const path = tempSocketPath();
          const unixServer = new Server({ types: TYPES, path });
          defer(() => unixServer.close());
          await unixServer.listen();
          server = unixServer;
          target = { path };
        }
        const client = await startClient({ ...target, types: TYPES, reconnect: false });
        const [session] = server.sessions;
        if (session === undefined) throw new Error('no session');
        return { server, client, session };
      }

      it('client → server (message event)', async () => {
        const { server, client } = await connected();
        const received = nextEvent<ServerEvents, 'message'>(server, 'message');
        await client.send(new Widget('envelope', [new Part('p', 1)], everything()));
        const [message, ctx] = await received;
        expect(message).to.be.instanceOf(Widget);
        expect(ctx.type).to.equal('Widget');
        expect(ctx.known).to.equal(true);
        expect(ctx.unknownTypes).to.deep.equal([]);
        expect(ctx.protocol).to.equal('binary');
        expect(ctx.session).to.be.instanceOf(Session);
        const envelope = message as Widget;
        expect(envelope.count()).to.equal(1);
        checkEverything(envelope.extra);

        const plain = nextEvent<ServerEvents, 'message'>(server, 'message');
        await client.send(everything());
        const [value, plainCtx] = await plain;
        expect(plainCtx.type).to.equal('');
        checkEverything(value);
      });

      it('server → client (session.send and the messages() iterator)', async () => {
        const { client, session } = await connected();
        const messages = client.messages();
        try {
          await session.send(new Widget('envelope', [], everything()));
          await session.send(everything());
          const first = await messages.next();
          expect(first.done).to.equal(false);
          const { message, type, ctx } = first.value as { message: unknown; type: string; ctx: ClientMessageContext };
          expect(type).to.equal('Widget');
          expect(ctx.known).to.equal(true);
          expect(ctx.client).to.equal(client);
          expect(message).to.be.instanceOf(Widget);
          checkEverything((message as Widget).extra);
          const second = await messages.next();
          checkEverything((second.value as { message: unknown }).message);
        } finally {
          await messages.return?.();
        }
      });
    });
  }

  it('an unregistered class arrives as a plain object named in ctx.type, with ctx.known false', async () => {
    const { server, port } = await startServer({ types: TYPES });
    const client = await startClient({ port, types: TYPES, reconnect: false });
    const received = nextEvent<ServerEvents, 'message'>(server, 'message');
    await client.send(new Gadget('loud'));
    const [message, ctx] = await received;
    expect(ctx.type).to.equal('Gadget');
    expect(ctx.known).to.equal(false);
    expect(Object.getPrototypeOf(message)).to.equal(Object.prototype);
    expect(message).to.deep.equal({ label: 'loud' });

    const nested = nextEvent<ServerEvents, 'message'>(server, 'message');
    await client.send(new Widget('box', [], new Gadget('inside')));
    const [box, boxCtx] = await nested;
    expect(boxCtx.type).to.equal('Widget');
    expect(boxCtx.known).to.equal(true);
    expect(boxCtx.unknownTypes).to.deep.equal(['Gadget']);
    expect(box).to.be.instanceOf(Widget);
    const extra = (box as Widget).extra;
    expect(Object.getPrototypeOf(extra)).to.equal(Object.prototype);
    expect(extra).to.deep.equal({ label: 'inside' });
  });

  describe('broadcast and targeted sends', () => {
    it('sendAll reaches 10 clients and a JSON-lines peer, and resolves with 11', async () => {
      const { server, port } = await startServer();
      let connects = 0;
      const all = new Promise<void>((resolve) => {
        server.on('connect', () => {
          if (++connects === 11) resolve();
        });
      });
      const clients = await Promise.all(Array.from({ length: 10 }, () => startClient({ port, reconnect: false })));
      const raw = await rawSocket({ port });
      const lines = new LineReader(raw);
      raw.write('{"hello":"from nc"}\n'); // its first byte makes it a lines peer at once
      await all;
      expect(server.sessions.map((s) => s.protocol).sort()).to.deep.equal([...Array<string>(10).fill('binary'), 'lines']);

      const received = clients.map((c) => nextEvent<ClientEvents, 'message'>(c, 'message'));
      expect(await server.sendAll({ news: 'for everyone', n: 1 })).to.equal(11);
      for (const [message, ctx] of await Promise.all(received)) {
        expect(message).to.deep.equal({ news: 'for everyone', n: 1 });
        expect(ctx.protocol).to.equal('binary');
      }
      expect(await lines.next()).to.equal('{"news":"for everyone","n":1}');
    });

    it('session.send reaches only the chosen client', async () => {
      const { server, port } = await startServer();
      const clients = await Promise.all([0, 1, 2].map(() => startClient({ port, reconnect: false })));
      const iterators = clients.map((c) => c.messages());
      defer(async () => {
        for (const it of iterators) await it.return?.();
      });
      // Find the session of client 1: it introduces itself.
      const intro = nextEvent<ServerEvents, 'message'>(server, 'message');
      await clients[1]!.send({ me: 1 });
      const [, ctx] = await intro;
      await ctx.session.send({ only: 'for client 1' });
      // A broadcast marker after it: on each connection, order is kept, so
      // the first thing clients 0 and 2 see must be the marker.
      expect(await server.sendAll({ marker: true })).to.equal(3);
      const firsts = await Promise.all(iterators.map(async (it) => ((await it.next()).value as { message: unknown }).message));
      expect(firsts).to.deep.equal([{ marker: true }, { only: 'for client 1' }, { marker: true }]);
      expect(((await iterators[1]!.next()).value as { message: unknown }).message).to.deep.equal({ marker: true });
    });

    it('a session closed between two broadcasts of one tick is skipped by the second, and nothing is left unhandled', async () => {
      const { server, port } = await startServer();
      const [a, b] = await Promise.all([startClient({ port, reconnect: false }), startClient({ port, reconnect: false })]);
      a.on('error', () => undefined);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      defer(() => {
        process.off('unhandledRejection', onUnhandled);
        return undefined;
      });
      const itB = b.messages();
      defer(async () => {
        await itB.return?.();
      });
      const intro = nextEvent<ServerEvents, 'message'>(server, 'message');
      await a.send('me');
      const [, ctx] = await intro;
      const first = server.sendAll({ n: 1 });
      void ctx.session.close();
      const second = server.sendAll({ n: 2 });
      const third = server.sendAll({ n: 3 });
      expect(await Promise.all([first, second, third])).to.deep.equal([2, 1, 1]);
      const got = [];
      for (let i = 0; i < 3; i++) got.push(((await itB.next()).value as { message: unknown }).message);
      expect(got).to.deep.equal([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await new Promise((resolve) => setImmediate(resolve)); // past Node's unhandled-rejection check
      expect(unhandled).to.deep.equal([]);
    });

    it('a broadcast that joins its batch after the session writer flushed, and whose write then fails, rejects nothing unhandled', async () => {
      const { server, port } = await startServer({ ping: false });
      const a = await startClient({ port, reconnect: false, ping: false });
      a.on('error', () => undefined);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      defer(() => {
        process.off('unhandledRejection', onUnhandled);
        return undefined;
      });
      const intro = nextEvent<ServerEvents, 'message'>(server, 'message');
      await a.send('me');
      const [, ctx] = await intro;
      const session = ctx.session;
      let later: Promise<number> | undefined;
      session.send('own').catch(() => undefined); // the session's writer schedules its flush first
      process.nextTick(() => {
        later = server.sendAll({ n: 2 }); // joins the open batch after that flush: its write waits on the writer's next batch
        session.connection.destroy(); // which then fails
      });
      expect(await server.sendAll({ n: 1 })).to.equal(1);
      expect(await later).to.equal(1);
      await new Promise((resolve) => setImmediate(resolve)); // past Node's unhandled-rejection check
      expect(unhandled).to.deep.equal([]);
    });

    it('ctx.reply answers the sender only', async () => {
      const { server, port } = await startServer();
      server.on('message', (message, ctx) => {
        void ctx.reply({ echo: message });
      });
      const [a, b] = await Promise.all([startClient({ port, reconnect: false }), startClient({ port, reconnect: false })]);
      const itA = a.messages();
      const itB = b.messages();
      defer(async () => {
        await itA.return?.();
        await itB.return?.();
      });
      await a.send('from a');
      expect(((await itA.next()).value as { message: unknown }).message).to.deep.equal({ echo: 'from a' });
      await server.sendAll('marker');
      expect(((await itB.next()).value as { message: unknown }).message).to.equal('marker');
    });
  });

  describe('sessions and events', () => {
    it('server.sessions lists the ready sessions, and forgets closed ones', async () => {
      const { server, port } = await startServer({ detectTimeout: 5000 });
      expect(server.sessions).to.deep.equal([]);
      const seen: Session[] = [];
      server.on('connect', (session) => seen.push(session));
      // A peer still in its hello: accepted before the clients below, but not ready.
      const halfway = await rawSocket({ port });
      halfway.write(MAGIC);
      const a = await startClient({ port, reconnect: false });
      await startClient({ port, reconnect: false });
      expect(server.sessions).to.have.length(2);
      expect(new Set(server.sessions)).to.deep.equal(new Set(seen));
      for (const s of server.sessions) {
        expect(s.ready).to.equal(true);
        expect(s.protocol).to.equal('binary');
        expect(s.remoteAddress).to.equal('127.0.0.1');
      }
      const gone = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
      await a.close();
      const [session] = await gone;
      expect(server.sessions).to.have.length(1);
      expect(server.sessions).to.not.include(session);
      expect(session.ready).to.equal(false);
    });

    it('connect and disconnect events carry the session and a DisconnectInfo with reason remote-closed', async () => {
      const { server, port } = await startServer();
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      const client = await startClient({ port, reconnect: false });
      const [session] = await connected;
      expect(session).to.be.instanceOf(Session);
      expect(server.sessions).to.deep.equal([session]);

      const disconnected = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
      await client.close();
      const [gone, info] = await disconnected;
      expect(gone).to.equal(session);
      expect(info.reason).to.equal('remote-closed');
      expect(info.message).to.be.a('string').and.not.equal('');
      expect(session.closed).to.equal(true);
      expect(session.disconnectInfo?.reason).to.equal('remote-closed');
    });

    it('the client gets a disconnect event when the server closes, then reports disconnected', async () => {
      const { server, port } = await startServer();
      const client = await startClient({ port, reconnect: false });
      const disconnected = nextEvent<ClientEvents, 'disconnect'>(client, 'disconnect');
      await server.close();
      const [info] = await disconnected;
      expect(info.reason).to.equal('remote-closed');
      expect(client.state).to.equal('disconnected');
      expect(client.connected).to.equal(false);
    });

    it('client.state goes idle → connecting → connected → disconnected → closed', async () => {
      const { server, port } = await startServer();
      const client = new Client({ port, reconnect: false });
      defer(() => client.close());
      const states: ClientState[] = [client.state];
      const connecting = client.connect();
      states.push(client.state);
      await connecting;
      states.push(client.state);
      const disconnected = nextEvent<ClientEvents, 'disconnect'>(client, 'disconnect');
      await server.close();
      await disconnected;
      states.push(client.state);
      await client.close();
      states.push(client.state);
      expect(states).to.deep.equal(['idle', 'connecting', 'connected', 'disconnected', 'closed']);
    });

    it('with reconnect on, a lost server sends the client to reconnecting, and close() ends it', async () => {
      const { server, port } = await startServer();
      const client = await startClient({ port, reconnect: { initial: 10, max: 50 } });
      const reconnecting = nextEvent<ClientEvents, 'reconnecting'>(client, 'reconnecting');
      await server.close();
      const [info] = await reconnecting;
      expect(info.attempt).to.equal(1);
      expect(info.delay).to.be.at.least(0).and.at.most(50);
      expect(client.state).to.equal('reconnecting');
      await client.close();
      expect(client.state).to.equal('closed');
    });

    it('inside its disconnect listener the client no longer claims to be connected', async () => {
      const { server, port } = await startServer();
      const client = await startClient({ port, reconnect: false });
      let seen: { state: ClientState; connected: boolean } | undefined;
      const disconnected = new Promise<void>((resolve) => {
        client.on('disconnect', () => {
          seen = { state: client.state, connected: client.connected };
          resolve();
        });
      });
      await server.close();
      await disconnected;
      // client.send() already fails with ERR_NOT_CONNECTED here; state must agree.
      expect(seen).to.deep.equal({ state: 'disconnected', connected: false });
    });

    it('event listeners are typed: no casts are needed', async () => {
      const { server, port } = await startServer({ detectTimeout: 5000 });
      const checks: boolean[] = [];
      const fired = new Set<string>();
      server.on('connect', (session) => {
        const ok: IsExact<typeof session, Session> = true;
        fired.add('server connect');
        checks.push(ok, session.ready);
      });
      server.on('message', (message, ctx) => {
        const ok: IsExact<typeof message, unknown> = true;
        const okCtx: IsExact<typeof ctx, ServerMessageContext> = true;
        fired.add('server message');
        checks.push(ok, okCtx, ctx.session.ready);
      });
      server.on('disconnect', (session, info) => {
        const reason: DisconnectReason = info.reason;
        const ok: IsExact<typeof info, DisconnectInfo> = true;
        fired.add('server disconnect');
        checks.push(ok, session.closed, reason === 'remote-closed');
      });
      // @ts-expect-error -- 'nonsense' is not an event of Server
      server.on('nonsense', () => undefined);

      const client = new Client({ port, reconnect: false });
      defer(() => client.close());
      client.on('connect', () => {
        fired.add('client connect');
        checks.push(client.connected);
      });
      client.on('message', (message, ctx) => {
        const ok: IsExact<typeof ctx, ClientMessageContext> = true;
        fired.add('client message');
        checks.push(ok, ctx.client === client, message === 'hi');
      });
      client.on('reconnecting', (info) => {
        const ok: IsExact<typeof info, ReconnectInfo> = true;
        checks.push(ok, info.attempt > 0);
      });
      client.on('disconnect', (info) => {
        const ok: IsExact<typeof info, DisconnectInfo> = true;
        checks.push(ok, info.reason.length > 0);
      });
      // @ts-expect-error -- a message listener gets (message, ctx), not a number
      client.on('message', (n: number) => n);

      await client.connect();
      const gotMessage = nextEvent<ServerEvents, 'message'>(server, 'message');
      const clientGot = nextEvent<ClientEvents, 'message'>(client, 'message');
      await client.send('hi');
      await gotMessage;
      await server.sendAll('hi');
      await clientGot;
      const gone = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
      await client.close();
      await gone;
      expect([...fired].sort()).to.deep.equal(['client connect', 'client message', 'server connect', 'server disconnect', 'server message']);
      expect(checks.every(Boolean), `checks: ${checks.join(', ')}`).to.equal(true);
    });
  });

  describe('writing', () => {
    it('send() resolves only once its bytes were handed to the OS', async () => {
      const peer = await helloServer();
      const client = new Client({ port: peer.port, reconnect: false, ping: false });
      defer(() => client.close());
      await client.connect();
      // 128 MiB cannot sit in the kernel's socket buffers (here at most
      // tcp_wmem max + tcp_rmem max = 36 MiB): by the time send() resolves,
      // most of it must have reached the peer.
      const size = 128 * 1024 * 1024;
      let receivedAtResolve = -1;
      const sent = client.send(Buffer.alloc(size, 1)).then(() => {
        receivedAtResolve = peer.stats.bytes;
      });
      expect(receivedAtResolve).to.equal(-1);
      await sent;
      expect(receivedAtResolve).to.be.greaterThan(size - 64 * 1024 * 1024);
      await peer.bytesReach(size);
    });

    it('a send() followed at once by close() still arrives', async () => {
      const { server, port } = await startServer();
      const client = await startClient({ port, reconnect: false });
      const received = nextEvent<ServerEvents, 'message'>(server, 'message');
      await client.send({ last: 'words' });
      await client.close();
      const [message] = await received;
      expect(message).to.deep.equal({ last: 'words' });
    });

    it('many sends in one tick are batched into few writes', async () => {
      const peer = await helloServer();
      const client = new Client({ port: peer.port, reconnect: false, ping: false });
      defer(() => client.close());
      await client.connect();
      await peer.helloDone;

      // Count the write calls the client's socket makes (each one is a
      // write(v) syscall): Socket#_write for one chunk, Socket#_writev for a batch.
      const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
      const originals = { _write: proto._write, _writev: proto._writev };
      let writeCalls = 0;
      for (const name of ['_write', '_writev'] as const) {
        const original = originals[name];
        proto[name] = function (this: Socket, ...args: unknown[]): unknown {
          if (this.remotePort === peer.port) writeCalls++;
          return original.apply(this, args);
        };
      }
      try {
        const sends: Promise<void>[] = [];
        for (let i = 0; i < 100; i++) sends.push(client.send({ i, text: 'x'.repeat(20) }));
        await Promise.all(sends);
      } finally {
        proto._write = originals._write;
        proto._writev = originals._writev;
      }
      await peer.messagesReach(100);
      expect(peer.stats.messages).to.equal(100);
      expect(writeCalls).to.be.at.most(3);
      expect(peer.stats.chunks).to.be.at.most(5);
    });
  });
});
