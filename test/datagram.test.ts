import { expect } from 'chai';
import fc from 'fast-check';
import { Codec } from '../src/codec.js';
import {
  DATAGRAM_PREFIX_BYTES,
  MAX_DATAGRAM_BYTES_IPV4,
  MAX_DATAGRAM_BYTES_IPV6,
  datagramLimit,
  datagramSize,
  decodeDatagram,
  readDatagram,
  writeDatagram,
} from '../src/datagram.js';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { type FrameInput, FrameFlags, FrameKind, MAGIC, encodeFrameToBuffer } from '../src/frame.js';
import { TypeRegistry } from '../src/type-registry.js';
import { thrown } from './support/async.js';

class Widget {
  constructor(
    public name = '',
    public qty = 0,
  ) {}

  total(price: number): number {
    return this.qty * price;
  }
}

const codec = new Codec(new TypeRegistry([Widget]));
const LIMITS = { maxDatagramBytes: MAX_DATAGRAM_BYTES_IPV4, maxFrameBytes: 16 * 1024 * 1024, maxAttachments: 4096 };

/** A datagram as the wire has it: magic, version, one frame. */
function datagram(frame: FrameInput, version = 1): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([version]), encodeFrameToBuffer(frame)]);
}

function expectCode(err: unknown, code: ErrorCode): void {
  expect(err).to.be.instanceOf(HopwireError);
  expect((err as HopwireError).code).to.equal(code, (err as HopwireError).message);
}

describe('datagram', () => {
  it('is the magic, version 1, then one MESSAGE frame', () => {
    const bytes = Buffer.concat(writeDatagram(codec, { a: 1 }, LIMITS.maxDatagramBytes));
    expect(bytes.subarray(0, 4).equals(MAGIC)).to.equal(true);
    expect(bytes[4]).to.equal(1);
    expect(bytes.subarray(DATAGRAM_PREFIX_BYTES).equals(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"a":1}' }))).to.equal(true);
  });

  it('carries a registered class, with its methods, and Buffers as attachments', () => {
    const value = { w: new Widget('bolt', 3), raw: Buffer.from([0, 1, 2, 255]) };
    const { value: back, meta } = readDatagram(Buffer.concat(writeDatagram(codec, value, LIMITS.maxDatagramBytes)), codec, LIMITS);
    const got = back as typeof value;
    expect(got.w).to.be.instanceOf(Widget);
    expect(got.w.total(2)).to.equal(6);
    expect(Buffer.isBuffer(got.raw) && got.raw.equals(value.raw)).to.equal(true);
    expect(meta).to.deep.equal({ type: '', known: false, unknownTypes: [], protocol: 'binary' });
    expect(readDatagram(Buffer.concat(writeDatagram(codec, new Widget('nut', 1), 1000)), codec, LIMITS).meta.type).to.equal('Widget');
  });

  it('knows its size before building it, attachments and multi-byte text included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }), (text, blobs) => {
        const value = { text, blobs: blobs.map((b) => Buffer.from(b)) };
        const e = codec.encode(value);
        expect(datagramSize(e)).to.equal(Buffer.concat(writeDatagram(codec, value, 65_000)).length);
      }),
    );
  });

  it('refuses a value one byte over the limit with ERR_DATAGRAM_TOO_LARGE, and takes one exactly at it', () => {
    const size = datagramSize(codec.encode({ s: 'x'.repeat(100) }));
    expect(Buffer.concat(writeDatagram(codec, { s: 'x'.repeat(100) }, size)).length).to.equal(size);
    const err = thrown(() => writeDatagram(codec, { s: 'x'.repeat(100) }, size - 1));
    expectCode(err, ErrorCode.DATAGRAM_TOO_LARGE);
    expect((err as Error).message).to.include(`${size} bytes`);
  });

  it('refuses functions inside a value with ERR_UNSUPPORTED (nobody could call them back)', () => {
    expectCode(
      thrown(() => writeDatagram(codec, { onDone: () => 1 }, 1000)),
      ErrorCode.UNSUPPORTED,
    );
  });

  it('limits each family to what it carries, lowering a configured limit but never raising it', () => {
    expect(datagramLimit(4, undefined)).to.equal(65_507);
    expect(datagramLimit(6, undefined)).to.equal(65_527);
    expect(datagramLimit(4, 65_527)).to.equal(65_507);
    expect(datagramLimit(6, 1200)).to.equal(1200);
    expect(MAX_DATAGRAM_BYTES_IPV6 - MAX_DATAGRAM_BYTES_IPV4).to.equal(20);
  });

  describe('refuses', () => {
    const good = datagram({ kind: FrameKind.MESSAGE, payload: '{"ok":true}' });
    const cases: [string, Buffer, ErrorCode][] = [
      ['an empty datagram', Buffer.alloc(0), ErrorCode.PROTOCOL],
      ['random bytes', Buffer.from('hello, is anyone there?'), ErrorCode.PROTOCOL],
      ['the magic alone', Buffer.from(MAGIC), ErrorCode.PROTOCOL],
      ['a bad magic', Buffer.concat([Buffer.from('XHOP'), good.subarray(4)]), ErrorCode.PROTOCOL],
      ['another version', datagram({ kind: FrameKind.MESSAGE, payload: '{}' }, 2), ErrorCode.PROTOCOL],
      ['a frame without the prefix', encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"no":"prefix"}' }), ErrorCode.PROTOCOL],
      ['a truncated frame', good.subarray(0, good.length - 1), ErrorCode.PROTOCOL],
      ['bytes after the frame', Buffer.concat([good, Buffer.from([0])]), ErrorCode.PROTOCOL],
      ['two frames', Buffer.concat([good, encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{}' })]), ErrorCode.PROTOCOL],
      ['a REQUEST', datagram({ kind: FrameKind.REQUEST, id: 1, payload: '{}' }), ErrorCode.PROTOCOL],
      ['a HELLO', datagram({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' }), ErrorCode.PROTOCOL],
      ['a PING', datagram({ kind: FrameKind.PING }), ErrorCode.PROTOCOL],
      ['an unknown kind', (() => { const b = Buffer.from(good); b[DATAGRAM_PREFIX_BYTES + 4] = 63; return b; })(), ErrorCode.PROTOCOL],
      ['a MESSAGE asking for an ACK', datagram({ kind: FrameKind.MESSAGE, id: 7, payload: '{}' }), ErrorCode.PROTOCOL],
      ['the STREAM flag', datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.STREAM, payload: '{}' }), ErrorCode.PROTOCOL],
      ['a reserved flag', datagram({ kind: FrameKind.MESSAGE, flags: 0x80, payload: '{}' }), ErrorCode.PROTOCOL],
      ['a length field claiming 4 GiB', (() => { const b = Buffer.from(good); b.writeUInt32BE(0xffff_ffff, DATAGRAM_PREFIX_BYTES); return b; })(), ErrorCode.FRAME_TOO_LARGE],
      ['a datagram over maxDatagramBytes', datagram({ kind: FrameKind.MESSAGE, payload: JSON.stringify('x'.repeat(70_000)) }), ErrorCode.DATAGRAM_TOO_LARGE],
    ];
    for (const [what, bytes, code] of cases) {
      it(`${what} (${code})`, () => {
        expectCode(thrown(() => decodeDatagram(bytes, LIMITS)), code);
      });
    }

    it('a frame over maxFrameBytes, and more attachments than maxAttachments', () => {
      const big = datagram({ kind: FrameKind.MESSAGE, payload: JSON.stringify('y'.repeat(500)) });
      expectCode(thrown(() => decodeDatagram(big, { ...LIMITS, maxFrameBytes: 100 })), ErrorCode.FRAME_TOO_LARGE);
      const three = Buffer.concat(writeDatagram(codec, [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)], 1000));
      expectCode(thrown(() => decodeDatagram(three, { ...LIMITS, maxAttachments: 2 })), ErrorCode.PROTOCOL);
    });

    it('a payload that does not decode: bad JSON, a bad tag, a function (ERR_DECODE)', () => {
      const bad = [
        datagram({ kind: FrameKind.MESSAGE, payload: '{"unterminated' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"nope"}' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"f","i":1}' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"a","i":3,"t":"Buffer"}' }),
      ];
      for (const bytes of bad) expectCode(thrown(() => readDatagram(bytes, codec, LIMITS)), ErrorCode.DECODE);
    });
  });

  it('never throws anything but a HopwireError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, prefixed) => {
        const input = prefixed ? Buffer.concat([MAGIC, Buffer.from([1]), bytes]) : Buffer.from(bytes);
        try {
          readDatagram(input, codec, LIMITS);
        } catch (err) {
          expect(err).to.be.instanceOf(HopwireError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a hostile payload cannot reach a prototype', () => {
    const bytes = datagram({ kind: FrameKind.MESSAGE, payload: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}' });
    const { value } = readDatagram(bytes, codec, LIMITS);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(Object.getPrototypeOf(value)).to.equal(Object.prototype);
  });
});
