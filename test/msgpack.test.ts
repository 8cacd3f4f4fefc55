import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  Client,
  type ClientOptions,
  type DisconnectInfo,
  ErrorCode,
  type Frame,
  FrameDecoder,
  FrameFlags,
  FrameKind,
  HopwireError,
  MsgpackCodec,
  type Server,
  type ServerEvents,
  type ServerOptions,
  type Session,
  encodeFrameToBuffer,
} from '../src/index.js';
import { Packr } from 'msgpackr';
import { Codec } from '../src/codec.js';
import { TypeRegistry } from '../src/type-registry.js';
import { Inbox, nextEvent, rejection, thrown, within } from './support/async.js';
import { LineReader, closeAll, defer, rawSocket, startClient, startServer } from './support/net.js';
import { helloBytes } from './support/wire.js';

class Point {
  constructor(
    public x = 0,
    public y = 0,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** A value with every kind the codec tags, nested. */
function richValue(): Record<string, unknown> {
  return {
    point: new Point(3, 4),
    when: new Date(1_700_000_000_000),
    invalid: new Date(Number.NaN),
    map: new Map<unknown, unknown>([['a', 1], [2, new Point(1, 1)]]),
    set: new Set([1, 'two', null]),
    big: 12_345_678_901_234_567_890n,
    bytes: Buffer.from([1, 2, 3, 250]),
    floats: new Float64Array([1.5, -2]),
    nothing: undefined,
    nan: Number.NaN,
    negZero: -0,
    inf: -Infinity,
    re: /a+b/giu,
    err: Object.assign(new RangeError('too far'), { code: 'E_FAR' }),
    tagLike: { $hw: 'c', n: 'Point', v: {} },
    nested: [{ deep: [[new Point(5, 12)]] }, 'text ✓', 1.25, -7, 2 ** 40, true, null],
    unicode: 'héllo wörld 🌍',
  };
}

/** Frames received anywhere in this process, through the `hopwire:frame` channel. */
function watchFrames(): { frames: Frame[]; stop: () => void } {
  const frames: Frame[] = [];
  const listener = (msg: unknown): void => {
    frames.push((msg as { frame: Frame }).frame);
  };
  subscribe('hopwire:frame', listener);
  return { frames, stop: () => unsubscribe('hopwire:frame', listener) };
}

const valueFrames = (frames: readonly Frame[]): Frame[] => frames.filter((f) => f.kind === FrameKind.MESSAGE || f.kind === FrameKind.REQUEST || f.kind === FrameKind.REPLY);

async function pair(serverOptions: ServerOptions, clientOptions: Partial<ClientOptions>): Promise<{ server: Server; client: Client; session: Session }> {
  const { server, port } = await startServer({ types: [Point], ...serverOptions });
  const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
  const client = await startClient({ port, reconnect: false, types: [Point], ...clientOptions });
  const [session] = await connected;
  return { server, client, session };
}

/** Sends `value` from client to server and returns what the server got. */
async function roundTrip(server: Server, client: Client, value: unknown): Promise<unknown> {
  const got = nextEvent<ServerEvents, 'message'>(server, 'message');
  await client.send(value);
  const [message] = await within(got, 2000, 'the message');
  return message;
}

describe('codec: msgpack', () => {
  afterEach(closeAll);

  describe('negotiation', () => {
    it('both sides asking for msgpack use it: payloadFormat says so and the frames carry the MSGPACK flag', async () => {
      const watch = watchFrames();
      try {
        const { server, client, session } = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
        expect(client.payloadFormat).to.equal('msgpack');
        expect(session.payloadFormat).to.equal('msgpack');
        server.handle((req) => req);
        await roundTrip(server, client, { a: 1 });
        expect(await client.request({ b: 2 })).to.deep.equal({ b: 2 });
        const frames = valueFrames(watch.frames);
        expect(frames.length).to.be.at.least(3);
        for (const f of frames) expect(f.flags & FrameFlags.MSGPACK, `kind ${f.kind}`).to.equal(FrameFlags.MSGPACK);
      } finally {
        watch.stop();
      }
    });

    for (const [serverCodec, clientCodec] of [
      ['msgpack', 'json'],
      ['json', 'msgpack'],
      ['msgpack', undefined],
    ] as const) {
      it(`a ${serverCodec} server and a ${clientCodec ?? 'default'} client fall back to JSON`, async () => {
        const watch = watchFrames();
        try {
          const { server, client, session } = await pair({ codec: serverCodec }, clientCodec === undefined ? {} : { codec: clientCodec });
          expect(client.payloadFormat).to.equal('json');
          expect(session.payloadFormat).to.equal('json');
          server.handle((req) => req);
          expect(await roundTrip(server, client, new Point(1, 2))).to.be.instanceOf(Point);
          expect(await client.request({ b: 2 })).to.deep.equal({ b: 2 });
          for (const f of valueFrames(watch.frames)) expect(f.flags & FrameFlags.MSGPACK).to.equal(0);
        } finally {
          watch.stop();
        }
      });
    }

    it('a JSON-lines peer of a msgpack server keeps working', async () => {
      const { server, port } = await startServer({ codec: 'msgpack', protocol: 'lines' });
      const client = await startClient({ port, protocol: 'lines', reconnect: false, codec: 'msgpack' });
      expect(client.payloadFormat).to.equal('json');
      expect(await roundTrip(server, client, { hello: 'lines' })).to.deep.equal({ hello: 'lines' });
    });

    it('payloadFormat is json before connecting', () => {
      const client = new Client({ port: 1, codec: 'msgpack' });
      expect(client.payloadFormat).to.equal('json');
    });
  });

  describe('values round-trip exactly as with JSON', () => {
    it('classes, Date, Map, Set, BigInt, binary data, special numbers, errors, nested', async () => {
      const json = await pair({}, {});
      const packed = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
      expect(packed.client.payloadFormat).to.equal('msgpack');
      const viaJson = (await roundTrip(json.server, json.client, richValue())) as Record<string, unknown>;
      const viaMsgpack = (await roundTrip(packed.server, packed.client, richValue())) as Record<string, unknown>;
      expect(viaMsgpack).to.deep.equal(viaJson);
      expect(viaMsgpack.point).to.be.instanceOf(Point);
      expect((viaMsgpack.point as Point).norm()).to.equal(5);
      expect(viaMsgpack.big).to.equal(12_345_678_901_234_567_890n);
      expect(Buffer.isBuffer(viaMsgpack.bytes)).to.equal(true);
      expect(viaMsgpack.bytes).to.deep.equal(Buffer.from([1, 2, 3, 250]));
      expect(Object.is(viaMsgpack.negZero, -0)).to.equal(true);
      expect(viaMsgpack.tagLike).to.deep.equal({ $hw: 'c', n: 'Point', v: {} });
      expect(Object.hasOwn(viaMsgpack, 'nothing')).to.equal(true);
    });

    it('plain values, a top-level class instance and scalars', async () => {
      const { server, client } = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
      for (const value of [{ a: [1, 'b', { c: null }] }, [], 'just a string', 42, 1.5, false, null, new Point(7, 8)]) {
        expect(await roundTrip(server, client, value)).to.deep.equal(value);
      }
      expect(await roundTrip(server, client, new Point(7, 8))).to.be.instanceOf(Point);
    });

    it('functions in a plain object are dropped, as JSON drops them', async () => {
      const { server, client } = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
      server.handle((req) => Object.keys(req as object));
      expect(await client.request({ a: 1, f: Symbol('s') })).to.deep.equal(['a']);
      expect(await roundTrip(server, client, { a: 1, s: Symbol('s') })).to.deep.equal({ a: 1 });
    });
  });

  describe('requests, streams, functions, errors', () => {
    it('replies, remote errors and streams travel as msgpack', async () => {
      const { server, client } = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
      server.handle((req) => {
        const r = req as { op: string };
        if (r.op === 'fail') throw Object.assign(new Error('no such thing'), { code: 'E_NOPE' });
        if (r.op === 'stream') {
          return (function* () {
            yield new Point(1, 0);
            yield new Map([['k', 2n]]);
          })();
        }
        return { echo: req, at: new Date(5) };
      });
      const reply = (await client.request({ op: 'echo', p: new Point(2, 3) })) as { echo: { p: Point }; at: Date };
      expect(reply.echo.p).to.be.instanceOf(Point);
      expect(reply.at.getTime()).to.equal(5);
      const err = await rejection(client.request({ op: 'fail' }));
      expect(err).to.be.instanceOf(HopwireError);
      expect(err).to.include({ code: ErrorCode.REMOTE, remoteCode: 'E_NOPE', message: 'no such thing' });
      const items: unknown[] = [];
      for await (const item of client.requestStream({ op: 'stream' })) items.push(item);
      expect(items).to.deep.equal([new Point(1, 0), new Map([['k', 2n]])]);
      expect(items[0]).to.be.instanceOf(Point);
    });

    it('a function passed inside a request is called back over msgpack', async () => {
      const { server, client } = await pair({ codec: 'msgpack' }, { codec: 'msgpack' });
      server.handle(async (req) => {
        const { progress } = req as { progress: (n: number, p: Point) => Promise<string> };
        return [await progress(1, new Point(0, 1)), await progress(2, new Point(0, 2))];
      });
      const seen: unknown[] = [];
      const reply = await client.request({
        progress: (n: number, p: Point) => {
          seen.push([n, p instanceof Point]);
          return `ok ${n}`;
        },
      });
      expect(reply).to.deep.equal(['ok 1', 'ok 2']);
      expect(seen).to.deep.equal([
        [1, true],
        [2, true],
      ]);
    });

    it('the server answers a msgpack client and a JSON client side by side, and sendAll reaches both', async () => {
      const watch = watchFrames();
      try {
        const { server, port } = await startServer({ codec: 'msgpack', types: [Point] });
        server.handle((req) => ({ got: req }));
        const packed = await startClient({ port, codec: 'msgpack', types: [Point], reconnect: false });
        const plain = await startClient({ port, types: [Point], reconnect: false });
        expect([packed.payloadFormat, plain.payloadFormat]).to.deep.equal(['msgpack', 'json']);
        expect(server.sessions.map((s) => s.payloadFormat).sort()).to.deep.equal(['json', 'msgpack']);
        expect(await packed.request(new Point(1, 1))).to.deep.equal({ got: new Point(1, 1) });
        expect(await plain.request(new Point(2, 2))).to.deep.equal({ got: new Point(2, 2) });

        const inboxes = [new Inbox(), new Inbox()];
        packed.on('message', (m) => inboxes[0]?.push(m));
        plain.on('message', (m) => inboxes[1]?.push(m));
        watch.frames.length = 0;
        expect(await server.sendAll({ all: new Point(9, 9) })).to.equal(2);
        expect(await server.sendAll('second')).to.equal(2);
        for (const inbox of inboxes) {
          await within(inbox.until(2), 2000, 'the broadcasts');
          expect(inbox.items).to.deep.equal([{ all: new Point(9, 9) }, 'second']);
          expect((inbox.items[0] as { all: unknown }).all).to.be.instanceOf(Point);
        }
        const flags = valueFrames(watch.frames).map((f) => f.flags & FrameFlags.MSGPACK);
        expect(flags.filter((f) => f !== 0)).to.have.length(2);
        expect(flags.filter((f) => f === 0)).to.have.length(2);
      } finally {
        watch.stop();
      }
    });
    it('broadcasts of one tick reach JSON, MessagePack and lines sessions whole and in order, big ones and replies among them', async () => {
      const { server, port } = await startServer({ codec: 'msgpack', types: [Point], detectTimeout: 30 });
      server.handle((req) => ({ echo: req }));
      const packed = await startClient({ port, codec: 'msgpack', types: [Point], reconnect: false });
      const plain = await startClient({ port, types: [Point], reconnect: false });
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      const raw = await rawSocket({ port }); // says nothing: a lines session after detectTimeout
      const lines = new LineReader(raw);
      await connected;
      expect(server.sessions.map((s) => s.protocol).sort()).to.deep.equal(['binary', 'binary', 'lines']);
      const inboxes = [new Inbox(), new Inbox()];
      packed.on('message', (m) => inboxes[0]?.push(m));
      plain.on('message', (m) => inboxes[1]?.push(m));
      const sent: unknown[] = [];
      const broadcasts: Promise<number>[] = [];
      let replies: Promise<unknown>[] = [];
      for (let i = 0; i < 3000; i++) {
        // Big values (past the 16 KiB the shared chunk takes) go to each session as they are, in their place.
        const value = i % 997 === 5 ? { i, big: 'b'.repeat(20_000) } : { i, at: new Point(i, -i) };
        sent.push(value);
        broadcasts.push(server.sendAll(value));
        // Frames of a session's own (replies) written between broadcasts of the same tick.
        if (i % 500 === 0) replies = [...replies, packed.request(i), plain.request(-i)];
      }
      expect(await within(Promise.all(broadcasts), 5000, 'the broadcasts')).to.satisfy((counts: number[]) => counts.every((n) => n === 3));
      expect(await Promise.all(replies)).to.have.length(12);
      for (const inbox of inboxes) {
        await within(inbox.until(sent.length), 5000, 'every broadcast');
        expect(inbox.items).to.deep.equal(sent);
        expect((inbox.items[1] as { at: unknown }).at).to.be.instanceOf(Point);
      }
      for (let i = 0; i < sent.length; i++) {
        const got = (await within(lines.json(), 2000, `line ${i}`)) as { i: number };
        expect(got.i).to.equal(i);
      }
    });
  });

  describe('what stays JSON', () => {
    it('queued and acknowledged sends go as JSON on a msgpack connection, and arrive whole', async () => {
      const watch = watchFrames();
      try {
        const { server, port } = await startServer({ codec: 'msgpack', types: [Point] });
        const inbox = new Inbox();
        server.on('message', (m) => {
          inbox.push(m);
        });
        const client = new Client({ port, codec: 'msgpack', types: [Point] });
        defer(() => client.close());
        const connecting = client.connect();
        const queued = client.send({ queued: new Point(1, 1) }); // while connecting: the offline queue
        await connecting;
        await queued;
        expect(client.payloadFormat).to.equal('msgpack');
        await client.send({ acked: new Point(2, 2) }, { ack: true });
        await client.send({ direct: new Point(3, 3) });
        await within(inbox.until(3), 2000, 'the three messages');
        expect(inbox.items).to.deep.equal([{ queued: new Point(1, 1) }, { acked: new Point(2, 2) }, { direct: new Point(3, 3) }]);
        const flags = valueFrames(watch.frames).map((f) => f.flags & FrameFlags.MSGPACK);
        expect(flags).to.deep.equal([0, 0, FrameFlags.MSGPACK]);
      } finally {
        watch.stop();
      }
    });

    it('a lone surrogate becomes U+FFFD over MessagePack (JSON keeps it), as docs/codecs.md says', () => {
      const codec = new MsgpackCodec(new Codec());
      const e = codec.encode({ s: 'a\ud800b' });
      expect(codec.decode('', e.payload, [], e.tagged).value).to.deep.equal({ s: 'a\ufffdb' });
      const json = new Codec();
      expect(json.decode('', json.encode({ s: 'a\ud800b' }).payload).value).to.deep.equal({ s: 'a\ud800b' });
    });

    it('a value msgpackr cannot pack is ERR_ENCODE, as any value that cannot be sent', () => {
      const codec = new MsgpackCodec(new Codec());
      const err = thrown(() => codec.encode({ constructor: 1, toJSON: 1 }));
      expect(err).to.be.instanceOf(HopwireError);
      expect((err as HopwireError).code).to.equal(ErrorCode.ENCODE);
    });
  });

  describe('a peer that sends bad payloads', () => {
    /** A raw peer that says hello with `caps`, then sends `frame`; resolves with why its session ended. */
    async function rawPeer(server: Server, port: number, caps: string[], frame: Buffer): Promise<DisconnectInfo> {
      const disconnected = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
      const socket = await rawSocket({ port });
      const decoder = new FrameDecoder({ expectMagic: true });
      let helloSeen = false;
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.kind === FrameKind.HELLO && !helloSeen) {
            helloSeen = true;
            socket.write(frame);
          }
        }
      });
      socket.write(helloBytes(caps));
      const [, info] = await within(disconnected, 2000, 'the session to close');
      return info;
    }

    const badMsgpack = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: FrameFlags.MSGPACK, payload: Buffer.from([0x92, 0x01]) });

    it('truncated MessagePack closes that session with ERR_DECODE; the server keeps serving others', async () => {
      const { server, port } = await startServer({ codec: 'msgpack' });
      const good = await startClient({ port, codec: 'msgpack', reconnect: false });
      const info = await rawPeer(server, port, ['ack', 'msgpack'], badMsgpack);
      expect(info.reason).to.equal('protocol-error');
      expect(info.error).to.be.instanceOf(HopwireError);
      expect(info.error).to.have.property('code', ErrorCode.DECODE);
      expect(info.message).to.match(/not valid MessagePack/);
      expect(await roundTrip(server, good, { still: 'here' })).to.deep.equal({ still: 'here' });
      expect(server.stats().decodeErrors).to.equal(1);
    });

    it('a MessagePack payload the hello did not agree on closes the session with ERR_PROTOCOL', async () => {
      const { server, port } = await startServer({ codec: 'msgpack' });
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: FrameFlags.MSGPACK, payload: Buffer.from([0x01]) });
      const info = await rawPeer(server, port, ['ack'], frame);
      expect(info.error).to.have.property('code', ErrorCode.PROTOCOL);
      expect(info.message).to.match(/did not agree/);
    });

    it('the codec refuses trailing bytes and bad tags with ERR_DECODE, as the JSON codec does', () => {
      const codec = new MsgpackCodec(new Codec(new TypeRegistry([Point])));
      const escaped = codec.encode({ $hw: 'zzz' }); // user data with a $hw key is escaped, never a tag
      expect(codec.decode('', escaped.payload, [], escaped.tagged).value).to.deep.equal({ $hw: 'zzz' });
      const one = codec.encode({ v: 1 }).payload;
      expect(thrown(() => codec.decode('', Buffer.concat([one, Buffer.from([0x01])])))).to.have.property('code', ErrorCode.DECODE);
      const forged = new Packr({ useRecords: false }).pack({ $hw: 'q' });
      const err = thrown(() => codec.decode('', forged, [], true));
      expect(err).to.have.property('code', ErrorCode.DECODE);
      expect((err as Error).message).to.match(/unknown tag/);
      // msgpackr's structured-clone references could build a cycle: refused
      const reference = Buffer.from([0xd6, 0x69, 0, 0, 0, 1, 0x90]);
      expect(thrown(() => codec.decode('', reference))).to.have.property('code', ErrorCode.DECODE);
    });
  });

  describe('what other MessagePack writers can send', () => {
    it('only what JSON can carry is accepted: extension types, bin, NaN and undefined are ERR_DECODE', () => {
      const codec = new MsgpackCodec(new Codec(new TypeRegistry([Point])));
      const packr = new Packr({ useRecords: false, moreTypes: true });
      const foreign: unknown[] = [new Date(0), new Set([1]), /a+$/, new Error('e'), new Uint16Array(2), Buffer.from([1]), Number.NaN, Infinity, undefined, 2n ** 70n];
      for (const v of foreign) {
        for (const wrapped of [v, [1, v], { deep: { deeper: [v] } }]) {
          const err = thrown(() => codec.decode('', packr.pack(wrapped), [], false));
          expect(err, String(v)).to.have.property('code', ErrorCode.DECODE);
          expect((err as Error).message).to.match(/hopwire never sends/);
        }
      }
      // What hopwire itself writes still decodes, the same values through tags included.
      const sent = { when: new Date(0), tags: new Set(['a']), big: 2n ** 70n, nothing: undefined, n: Number.NaN };
      const e = codec.encode(sent);
      expect(codec.decode(e.type, e.payload, e.attachments.map((a) => Buffer.from(a)), e.tagged).value).to.deep.equal(sent);
    });

    it('a deeply nested payload is checked without overflowing the stack', () => {
      const codec = new MsgpackCodec(new Codec(new TypeRegistry([Point])));
      const depth = 100_000;
      const bytes = Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x01])]); // [[[…[1]…]]]
      const err = thrown(() => codec.decode('', bytes, [], false));
      expect(err).to.be.instanceOf(HopwireError);
    });
  });

  describe('options', () => {
    it('refuses an unknown codec and msgpack over UDP', () => {
      expect(thrown(() => new Client({ port: 1, codec: 'xml' as 'json' }))).to.have.property('code', ErrorCode.INVALID_OPTION);
      const udp = thrown(() => new Client({ port: 1, transport: 'udp', codec: 'msgpack' }));
      expect(udp).to.have.property('code', ErrorCode.INVALID_OPTION);
      expect((udp as Error).message).to.match(/hello/);
    });
  });
});
