/**
 * Golden fixtures: the wire of protocol version 1, byte for byte.
 *
 * Every fixture is written out by hand from the layout in `src/frame.ts`
 * (never computed by the encoder) and appears as a hex example in
 * `docs/protocol.md`. Each one is checked both ways: the encoder must produce
 * exactly these bytes, and the decoder must read them back into the input.
 * If one of these tests fails, the wire changed: that is a new protocol
 * version, not a refactor.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Codec } from '../src/codec.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import { type Frame, FrameFlags, FrameKind, MAGIC, PROTOCOL_VERSION, encodeBytesFrameInto, encodeFrameInto, encodeFrameToBuffer, maxFrameBytes } from '../src/frame.js';
import { MsgpackCodec } from '../src/codec-msgpack.js';
import { TypeRegistry } from '../src/type-registry.js';
import { payloadFlags } from '../src/wire.js';

interface Fixture {
  name: string;
  kind: FrameKind;
  flags: number;
  id: number;
  type: string;
  payload: string;
  attachments: string[]; // hex
  /** The frame on the wire, as hex. Written out, one header field per segment. */
  hex: string;
}

/** Joins the annotated segments of a fixture (they are literals; this only removes the commas). */
const wire = (...segments: string[]): string => segments.join('');

// Header fields, in order:
//   length(4) kind(1) flags(1) typeLength(2) id(4) payloadLength(4) attachments(2) reserved(2)
//   [attachment lengths 4×n] [type name] [payload] [attachments]
const fixtures: Fixture[] = [
  {
    name: 'HELLO',
    kind: FrameKind.HELLO,
    flags: 0,
    id: 0,
    type: '',
    payload: '{"version":1,"min":1,"caps":[]}',
    attachments: [],
    hex: wire(
      '0000002f', // length 47 = 16 + 31
      '01', // kind HELLO
      '00', // flags
      '0000', // type name length
      '00000000', // id
      '0000001f', // payload length 31
      '0000', // attachment count
      '0000', // reserved
      '7b2276657273696f6e223a312c226d696e223a312c2263617073223a5b5d7d', // {"version":1,"min":1,"caps":[]}
    ),
  },
  {
    name: 'MESSAGE',
    kind: FrameKind.MESSAGE,
    flags: 0,
    id: 0,
    type: '',
    payload: '{"hello":"world"}',
    attachments: [],
    hex: wire(
      '00000021', // length 33 = 16 + 17
      '02', // kind MESSAGE
      '00', // flags
      '0000', // type name length
      '00000000', // id
      '00000011', // payload length 17
      '0000', // attachment count
      '0000', // reserved
      '7b2268656c6c6f223a22776f726c64227d', // {"hello":"world"}
    ),
  },
  {
    name: 'MESSAGE with a type name',
    kind: FrameKind.MESSAGE,
    flags: 0,
    id: 0,
    type: 'Point',
    payload: '{"x":1,"y":2}',
    attachments: [],
    hex: wire(
      '00000022', // length 34 = 16 + 5 + 13
      '02', // kind MESSAGE
      '00', // flags
      '0005', // type name length 5
      '00000000', // id
      '0000000d', // payload length 13
      '0000', // attachment count
      '0000', // reserved
      '506f696e74', // Point
      '7b2278223a312c2279223a327d', // {"x":1,"y":2}
    ),
  },
  {
    name: 'REQUEST',
    kind: FrameKind.REQUEST,
    flags: 0,
    id: 258,
    type: '',
    payload: '{"add":[2,3]}',
    attachments: [],
    hex: wire(
      '0000001d', // length 29 = 16 + 13
      '03', // kind REQUEST
      '00', // flags
      '0000', // type name length
      '00000102', // id 258
      '0000000d', // payload length 13
      '0000', // attachment count
      '0000', // reserved
      '7b22616464223a5b322c335d7d', // {"add":[2,3]}
    ),
  },
  {
    name: 'REPLY',
    kind: FrameKind.REPLY,
    flags: 0,
    id: 258,
    type: '',
    payload: '5',
    attachments: [],
    hex: wire(
      '00000011', // length 17 = 16 + 1
      '04', // kind REPLY
      '00', // flags
      '0000', // type name length
      '00000102', // id 258 (echoes the request)
      '00000001', // payload length 1
      '0000', // attachment count
      '0000', // reserved
      '35', // 5
    ),
  },
  {
    name: 'ERROR',
    kind: FrameKind.ERROR,
    flags: 0,
    id: 259,
    type: '',
    payload: '{"message":"boom","code":"E_BOOM"}',
    attachments: [],
    hex: wire(
      '00000032', // length 50 = 16 + 34
      '05', // kind ERROR
      '00', // flags
      '0000', // type name length
      '00000103', // id 259 (echoes the request)
      '00000022', // payload length 34
      '0000', // attachment count
      '0000', // reserved
      '7b226d657373616765223a22626f6f6d222c22636f6465223a22455f424f4f4d227d', // {"message":"boom","code":"E_BOOM"}
    ),
  },
  {
    name: 'PING',
    kind: FrameKind.PING,
    flags: 0,
    id: 0,
    type: '',
    payload: '',
    attachments: [],
    hex: wire(
      '00000010', // length 16: the header alone
      '06', // kind PING
      '00', // flags
      '0000', // type name length
      '00000000', // id
      '00000000', // payload length 0
      '0000', // attachment count
      '0000', // reserved
    ),
  },
  {
    name: 'PONG',
    kind: FrameKind.PONG,
    flags: 0,
    id: 0,
    type: '',
    payload: '',
    attachments: [],
    hex: wire(
      '00000010', // length 16
      '07', // kind PONG
      '00', // flags
      '0000', // type name length
      '00000000', // id
      '00000000', // payload length 0
      '0000', // attachment count
      '0000', // reserved
    ),
  },
  {
    name: 'MESSAGE asking for an ACK',
    kind: FrameKind.MESSAGE,
    flags: 0,
    id: 7,
    type: '',
    payload: '{"n":1}',
    attachments: [],
    hex: wire(
      '00000017', // length 23 = 16 + 7
      '02', // kind MESSAGE
      '00', // flags
      '0000', // type name length
      '00000007', // id 7: the sender's sequence number, to be acknowledged
      '00000007', // payload length 7
      '0000', // attachment count
      '0000', // reserved
      '7b226e223a317d', // {"n":1}
    ),
  },
  {
    name: 'ACK',
    kind: FrameKind.ACK,
    flags: 0,
    id: 7,
    type: '',
    payload: '',
    attachments: [],
    hex: wire(
      '00000010', // length 16: the header alone
      '09', // kind ACK
      '00', // flags
      '0000', // type name length
      '00000007', // id 7: the acknowledged MESSAGE
      '00000000', // payload length 0
      '0000', // attachment count
      '0000', // reserved
    ),
  },
  {
    name: 'GOODBYE',
    kind: FrameKind.GOODBYE,
    flags: 0,
    id: 0,
    type: '',
    payload: '{"code":"ERR_VERSION","reason":"no common version"}',
    attachments: [],
    hex: wire(
      '00000043', // length 67 = 16 + 51
      '08', // kind GOODBYE
      '00', // flags
      '0000', // type name length
      '00000000', // id
      '00000033', // payload length 51
      '0000', // attachment count
      '0000', // reserved
      '7b22636f6465223a224552525f56455253494f4e222c22726561736f6e223a226e6f20636f6d6d6f6e2076657273696f6e227d',
    ),
  },
  {
    name: 'TAGGED MESSAGE with two attachments',
    kind: FrameKind.MESSAGE,
    flags: FrameFlags.TAGGED,
    id: 0,
    type: '',
    payload: '[{"$hw":"a","i":0,"t":"Buffer"},{"$hw":"a","i":1,"t":"Uint8Array"}]',
    attachments: ['6869', '010203'],
    hex: wire(
      '00000060', // length 96 = 16 + 2×4 + 67 + 2 + 3
      '02', // kind MESSAGE
      '01', // flags TAGGED
      '0000', // type name length
      '00000000', // id
      '00000043', // payload length 67
      '0002', // attachment count 2
      '0000', // reserved
      '00000002', // attachment 0: 2 bytes
      '00000003', // attachment 1: 3 bytes
      // [{"$hw":"a","i":0,"t":"Buffer"},{"$hw":"a","i":1,"t":"Uint8Array"}]
      '5b7b22246877223a2261222c2269223a302c2274223a22427566666572227d2c',
      '7b22246877223a2261222c2269223a312c2274223a2255696e74384172726179227d5d',
      '6869', // attachment 0: "hi"
      '010203', // attachment 1
    ),
  },
];

/** MessagePack payloads (the MSGPACK flag): the payload is given as hex, with the value the codec encodes to it. */
interface MsgpackFixture {
  name: string;
  value: unknown;
  flags: number;
  type: string;
  payloadHex: string;
  hex: string;
}

class Point {
  constructor(
    public x = 0,
    public y = 0,
  ) {}
}

const msgpackFixtures: MsgpackFixture[] = [
  {
    name: 'MSGPACK MESSAGE with a type name',
    value: new Point(1, 2),
    flags: FrameFlags.MSGPACK,
    type: 'Point',
    payloadHex: 'de0002a17801a17902',
    hex: wire(
      '0000001e', // length 30 = 16 + 5 + 9
      '02', // kind MESSAGE
      '04', // flags MSGPACK
      '0005', // type name length 5
      '00000000', // id
      '00000009', // payload length 9
      '0000', // attachment count
      '0000', // reserved
      '506f696e74', // Point
      'de0002a17801a17902', // map16 of 2: "x" 1, "y" 2
    ),
  },
  {
    name: 'TAGGED MSGPACK MESSAGE',
    value: { when: new Date(0) },
    flags: FrameFlags.TAGGED | FrameFlags.MSGPACK,
    type: '',
    payloadHex: 'de0001a47768656ede0002a3246877a164a17600',
    hex: wire(
      '00000024', // length 36 = 16 + 20
      '02', // kind MESSAGE
      '05', // flags TAGGED | MSGPACK
      '0000', // type name length
      '00000000', // id
      '00000014', // payload length 20
      '0000', // attachment count
      '0000', // reserved
      'de0001a47768656e', // map16 of 1: "when" →
      'de0002a3246877a164a17600', // map16 of 2: "$hw" "d", "v" 0
    ),
  },
];

function decodeOne(bytes: Buffer): Frame {
  const frames = new FrameDecoder().push(bytes);
  expect(frames).to.have.length(1);
  return frames[0]!;
}

describe('frame golden fixtures (protocol version 1)', () => {
  it('pins the protocol version', () => {
    expect(PROTOCOL_VERSION).to.equal(1);
  });

  it('MAGIC is 89 48 4f 50', () => {
    expect(Buffer.from(MAGIC).toString('hex')).to.equal('89484f50');
    // The decoder accepts exactly these bytes before the first frame, and no others.
    const ping = fixtures.find((f) => f.kind === FrameKind.PING)!.hex;
    const frames = new FrameDecoder({ expectMagic: true }).push(Buffer.from('89484f50' + ping, 'hex'));
    expect(frames.map((f) => f.kind)).to.deep.equal([FrameKind.PING]);
    expect(() => new FrameDecoder({ expectMagic: true }).push(Buffer.from('89484f51' + ping, 'hex'))).to.throw(/magic/);
  });

  for (const fixture of fixtures) {
    describe(fixture.name, () => {
      const input = {
        kind: fixture.kind,
        flags: fixture.flags,
        id: fixture.id,
        type: fixture.type,
        payload: fixture.payload,
        attachments: fixture.attachments.map((hex) => Buffer.from(hex, 'hex')),
      };

      it('encodes to the fixture', () => {
        expect(encodeFrameToBuffer(input).toString('hex')).to.equal(fixture.hex);
      });

      if (fixture.attachments.length === 0) {
        it('encodes to the fixture when written in place (the socket writer\'s path)', () => {
          const target = Buffer.alloc(7 + maxFrameBytes(fixture.type, fixture.payload), 0xee);
          const n = encodeFrameInto(target, 7, fixture.kind, fixture.flags, fixture.id, fixture.type, fixture.payload);
          expect(target.subarray(7, 7 + n).toString('hex')).to.equal(fixture.hex);
          expect(target.subarray(0, 7).every((b) => b === 0xee)).to.equal(true); // nothing written before the offset
        });
      }

      it('decodes from the fixture', () => {
        const frame = decodeOne(Buffer.from(fixture.hex, 'hex'));
        expect(frame.kind).to.equal(fixture.kind);
        expect(frame.flags).to.equal(fixture.flags);
        expect(frame.id).to.equal(fixture.id);
        expect(frame.type).to.equal(fixture.type);
        expect(frame.payload.toString('utf8')).to.equal(fixture.payload);
        expect(frame.attachments.map((a) => a.toString('hex'))).to.deep.equal(fixture.attachments);
      });
    });
  }

  it('the TAGGED fixture is what the codec writes for [Buffer, Uint8Array], and reads back', () => {
    const tagged = fixtures.find((f) => f.flags === FrameFlags.TAGGED)!;
    const codec = new Codec();
    const encoded = codec.encode([Buffer.from('hi'), new Uint8Array([1, 2, 3])]);
    expect(encoded.type).to.equal('');
    expect(encoded.tagged).to.be.true;
    expect(encoded.payload).to.equal(tagged.payload);
    expect(encoded.attachments.map((a) => Buffer.from(a).toString('hex'))).to.deep.equal(tagged.attachments);

    const frame = decodeOne(Buffer.from(tagged.hex, 'hex'));
    const { value } = codec.decode(frame.type, frame.payload, frame.attachments, true);
    expect(value).to.be.an('array').with.length(2);
    const [buf, u8] = value as [unknown, unknown];
    expect(Buffer.isBuffer(buf)).to.be.true;
    expect((buf as Buffer).toString()).to.equal('hi');
    expect(u8).to.be.instanceOf(Uint8Array);
    expect(Buffer.isBuffer(u8)).to.be.false;
    expect([...(u8 as Uint8Array)]).to.deep.equal([1, 2, 3]);
  });

  it('docs/protocol.md shows every fixture as a hex example', () => {
    const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
    expect(doc).to.match(/protocol version: 1/i);
    expect(doc).to.include('`89484f50`');
    for (const fixture of fixtures) expect(doc, fixture.name).to.include(`\`${fixture.hex}\``);
  });

  for (const fixture of msgpackFixtures) {
    describe(fixture.name, () => {
      const codec = new MsgpackCodec(new Codec(new TypeRegistry([Point])));
      const payload = Buffer.from(fixture.payloadHex, 'hex');

      it('is what the MessagePack codec writes for its value, and reads back', () => {
        const e = codec.encode(fixture.value);
        expect(e.type).to.equal(fixture.type);
        expect(payloadFlags(e)).to.equal(fixture.flags);
        expect(e.payload.toString('hex')).to.equal(fixture.payloadHex);
        const frame = decodeOne(Buffer.from(fixture.hex, 'hex'));
        expect(frame.flags).to.equal(fixture.flags);
        expect(frame.type).to.equal(fixture.type);
        expect(frame.payload.toString('hex')).to.equal(fixture.payloadHex);
        expect(codec.decode(frame.type, frame.payload, [], (frame.flags & FrameFlags.TAGGED) !== 0).value).to.deep.equal(fixture.value);
      });

      it('encodes to the fixture, and in place', () => {
        expect(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: fixture.flags, type: fixture.type, payload }).toString('hex')).to.equal(fixture.hex);
        const target = Buffer.alloc(7 + 20 + 3 * fixture.type.length + payload.length, 0xee);
        const n = encodeBytesFrameInto(target, 7, FrameKind.MESSAGE, fixture.flags, 0, fixture.type, payload);
        expect(target.subarray(7, 7 + n).toString('hex')).to.equal(fixture.hex);
        expect(target.subarray(0, 7).every((b) => b === 0xee)).to.equal(true);
      });
    });
  }

  it('docs/protocol.md shows every MessagePack fixture as a hex example', () => {
    const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
    for (const fixture of msgpackFixtures) expect(doc, fixture.name).to.include(`\`${fixture.hex}\``);
  });

  it('a MAGIC-prefixed stream of every fixture decodes in order', () => {
    const stream = Buffer.from('89484f50' + fixtures.map((f) => f.hex).join(''), 'hex');
    const frames = new FrameDecoder({ expectMagic: true }).push(stream);
    expect(frames.map((f) => f.kind)).to.deep.equal(fixtures.map((f) => f.kind));
  });
});
