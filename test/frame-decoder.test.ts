import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { DEFAULT_MAX_ATTACHMENTS, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, payloadText } from '../src/frame-decoder.js';
import type { FrameDecoderOptions } from '../src/frame-decoder.js';
import { type Frame, type FrameInput, FrameFlags, FrameKind, KNOWN_FLAGS, MAGIC, encodeFrame, encodeFrameToBuffer, MAX_FRAME_KIND } from '../src/frame.js';
import { thrown } from './support/async.js';
import { bytewise, cut } from './support/wire.js';

// ---------------------------------------------------------------- helpers

/** A frame with its buffers as hex, for deep comparison. */
interface PlainFrame {
  kind: number;
  flags: number;
  id: number;
  type: string;
  payload: string;
  attachments: string[];
}

function plain(frame: Frame): PlainFrame {
  return {
    kind: frame.kind,
    flags: frame.flags,
    id: frame.id,
    type: frame.type,
    payload: frame.payload.toString('hex'),
    attachments: frame.attachments.map((a) => Buffer.from(a).toString('hex')),
  };
}

function plainInput(input: FrameInput): PlainFrame {
  const payload = input.payload ?? '';
  return {
    kind: input.kind,
    flags: input.flags ?? 0,
    id: input.id ?? 0,
    type: input.type ?? '',
    payload: (typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload).toString('hex'),
    attachments: (input.attachments ?? []).map((a) => Buffer.from(a).toString('hex')),
  };
}

/** Pushes every chunk into a fresh decoder and returns all frames. */
function decodeChunks(chunks: readonly Buffer[], options?: FrameDecoderOptions): PlainFrame[] {
  const decoder = new FrameDecoder(options);
  const out: PlainFrame[] = [];
  for (const chunk of chunks) for (const frame of decoder.push(chunk)) out.push(plain(frame));
  expect(decoder.bufferedBytes).to.equal(0);
  return out;
}

/** Asserts a HopwireError with `code` that the decoder raised itself (not a wrapped internal error). */
function expectCode(err: unknown, code: ErrorCode): HopwireError {
  expect(err).to.be.instanceOf(HopwireError);
  const error = err as HopwireError;
  expect(error.code).to.equal(code, error.message);
  expect(error.cause, `wrapped internal error: ${String(error.cause)}`).to.equal(undefined);
  return error;
}

/** Asserts the decoder is failed, holds nothing, and throws `error` again on any push. */
function expectStaysFailed(decoder: FrameDecoder, error: HopwireError): void {
  expect(decoder.failed).to.be.true;
  expect(decoder.error).to.equal(error);
  expect(decoder.bufferedBytes).to.equal(0);
  expect(thrown(() => decoder.push(encodeFrameToBuffer({ kind: FrameKind.PING })))).to.equal(error);
  expect(thrown(() => decoder.push(Buffer.alloc(0)))).to.equal(error);
  expect(decoder.failed).to.be.true;
  expect(decoder.bufferedBytes).to.equal(0);
}

/** The fields of a header, raw; built here by hand, not by the encoder. */
interface RawHeader {
  length: number;
  kind?: number;
  flags?: number;
  typeLength?: number;
  id?: number;
  payloadLength?: number;
  attachments?: number;
  reserved?: number;
}

function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(h.length, 0);
  b[4] = h.kind ?? FrameKind.MESSAGE;
  b[5] = h.flags ?? 0;
  b.writeUInt16BE(h.typeLength ?? 0, 6);
  b.writeUInt32BE(h.id ?? 0, 8);
  b.writeUInt32BE(h.payloadLength ?? 0, 12);
  b.writeUInt16BE(h.attachments ?? 0, 16);
  b.writeUInt16BE(h.reserved ?? 0, 18);
  return b;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

/** A seeded PRNG (mulberry32): reproducible garbage without fast-check's overhead. */
function prng(seed: number): { next: () => number; int: (n: number) => number; bytes: (n: number) => Buffer } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, bytes };
}

// ---------------------------------------------------------------- the stream

const streamFrames: FrameInput[] = [
  { kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' },
  { kind: FrameKind.MESSAGE, type: 'Point', payload: '{"x":1,"y":2}' },
  { kind: FrameKind.REQUEST, id: 1, type: 'Ünïcødé 😀', payload: '{"op":"put"}', attachments: [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('tail')] },
  { kind: FrameKind.PING },
  { kind: FrameKind.REPLY, id: 1, payload: Buffer.alloc(0) },
  { kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '[{"$hw":"a","i":0,"t":"Buffer"}]', attachments: [Buffer.alloc(300, 7)] },
  { kind: FrameKind.ERROR, id: 0xffff_ffff, payload: '{"message":"no","code":"E"}' },
  { kind: FrameKind.PONG },
  { kind: FrameKind.GOODBYE, payload: '{"code":"bye","reason":"done"}' },
];
const streamBytes = Buffer.concat([MAGIC, ...streamFrames.map((f) => encodeFrameToBuffer(f))]);
const expectedStream = streamFrames.map(plainInput);
const magicOptions = { expectMagic: true };

// ---------------------------------------------------------------- arbitraries

const typeNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 255 }).filter((s) => Buffer.byteLength(s) <= 255),
  fc.string({ unit: 'grapheme-ascii', minLength: 255, maxLength: 255 }),
);

const frameArb: fc.Arbitrary<FrameInput> = fc.record({
  kind: fc.integer({ min: 1, max: 8 }).map((k) => k as FrameKind),
  flags: fc.constantFrom(0, 1),
  id: fc.nat({ max: 0xffff_ffff }),
  type: typeNameArb,
  payload: fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  attachments: fc.array(
    fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
    { maxLength: 5 },
  ),
});

// ---------------------------------------------------------------- tests

describe('FrameDecoder', () => {
  describe('chunking', () => {
    it('decodes the stream pushed whole', () => {
      expect(decodeChunks([streamBytes], magicOptions)).to.deep.equal(expectedStream);
    });

    it('gives identical frames split at every byte offset into two pushes', () => {
      for (let i = 0; i <= streamBytes.length; i++) {
        expect(decodeChunks(cut(streamBytes, [i]), magicOptions)).to.deep.equal(expectedStream, `split at ${i}`);
      }
    });

    it('gives identical frames fed one byte at a time', () => {
      expect(decodeChunks(bytewise(streamBytes), magicOptions)).to.deep.equal(expectedStream);
    });

    it('returns no frame until the last byte of a frame, then exactly that frame', () => {
      const decoder = new FrameDecoder(magicOptions);
      const boundaries = new Set<number>();
      let offset = MAGIC.length;
      for (const f of streamFrames) boundaries.add((offset += encodeFrameToBuffer(f).length));
      for (let i = 0; i < streamBytes.length; i++) {
        const frames = decoder.push(streamBytes.subarray(i, i + 1));
        expect(frames.length).to.equal(boundaries.has(i + 1) ? 1 : 0, `after byte ${i}`);
      }
    });

    // 10,000 random chunkings in all: 4,000 of the fixed stream, 6,000 of generated streams.
    it('gives identical frames for random chunkings of the stream (property, 4,000 runs)', () => {
      fc.assert(
        fc.property(fc.array(fc.nat({ max: streamBytes.length }), { maxLength: 40 }), (offsets) => {
          expect(decodeChunks(cut(streamBytes, offsets), magicOptions)).to.deep.equal(expectedStream);
        }),
        { numRuns: 4_000 },
      );
    });

    it('gives identical frames for random chunkings of generated streams (property, 6,000 runs)', () => {
      fc.assert(
        fc.property(fc.array(frameArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 20 }), (inputs, offsets) => {
          const bytes = Buffer.concat(inputs.map((f) => encodeFrameToBuffer(f)));
          const chunks = cut(
            bytes,
            offsets.map((o) => o % (bytes.length + 1)),
          );
          expect(decodeChunks(chunks)).to.deep.equal(inputs.map(plainInput));
        }),
        { numRuns: 6_000 },
      );
    });
  });

  describe('round trip', () => {
    it('decodes any generated frame back to its input (property)', () => {
      fc.assert(
        fc.property(frameArb, (input) => {
          const frames = new FrameDecoder().push(encodeFrameToBuffer(input));
          expect(frames.map(plain)).to.deep.equal([plainInput(input)]);
        }),
        { numRuns: 2_000 },
      );
    });

    it('round-trips type names of exactly 255 bytes, ASCII and multi-byte', () => {
      for (const type of ['x'.repeat(255), 'é'.repeat(127) + 'x', '😀'.repeat(63) + 'abc']) {
        expect(Buffer.byteLength(type)).to.equal(255);
        const [frame] = new FrameDecoder().push(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, type, payload: '1' }));
        expect(frame?.type).to.equal(type);
      }
    });

    it('never writes a frame that decodes as something else: fields too wide for the header are a RangeError', () => {
      // A kind or flags value that does not fit its byte used to be truncated silently
      // (flags 0x101 went out as TAGGED, kind 258 as MESSAGE).
      for (const input of [
        { kind: 258 as FrameKind },
        { kind: -1 as FrameKind },
        { kind: FrameKind.MESSAGE, flags: 0x101 },
        { kind: FrameKind.MESSAGE, flags: -1 },
        { kind: FrameKind.REQUEST, id: -1 },
        { kind: FrameKind.REQUEST, id: 2 ** 32 },
        { kind: FrameKind.MESSAGE, type: 'x'.repeat(256) },
      ]) {
        expect(() => encodeFrameToBuffer(input), JSON.stringify(input)).to.throw(RangeError);
      }
    });

    it('decodes a frame of 5 attachments, some empty, with an empty payload', () => {
      const attachments = [Buffer.alloc(0), Buffer.from([9]), Buffer.alloc(0), Buffer.alloc(1000, 1), Buffer.alloc(0)];
      const input: FrameInput = { kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, attachments };
      expect(decodeChunks([encodeFrameToBuffer(input)])).to.deep.equal([plainInput(input)]);
    });
  });

  describe('size limits', () => {
    it('throws ERR_FRAME_TOO_LARGE for a 4 GiB header on the push that completes the 4 length bytes', () => {
      const decoder = new FrameDecoder();
      expect(decoder.push(Buffer.from([0xff, 0xff, 0xff]))).to.deep.equal([]);
      expect(decoder.failed).to.be.false;
      const error = expectCode(
        thrown(() => decoder.push(Buffer.from([0xff]))),
        ErrorCode.FRAME_TOO_LARGE,
      );
      expectStaysFailed(decoder, error);
    });

    it('holds under 1 KiB after a 4 GiB header, even when that push carried extra bytes', () => {
      const decoder = new FrameDecoder();
      expect(decoder.push(Buffer.from([0xff, 0xff]))).to.deep.equal([]);
      const rest = Buffer.concat([Buffer.from([0xff, 0xff]), rawHeader({ length: 16 }).subarray(4), Buffer.alloc(64 * 1024, 0xaa)]);
      const error = expectCode(
        thrown(() => decoder.push(rest)),
        ErrorCode.FRAME_TOO_LARGE,
      );
      expect(decoder.bufferedBytes).to.be.below(1024);
      expectStaysFailed(decoder, error);
    });

    it('checks the default limit (16 MiB) from the length field alone', () => {
      expect(DEFAULT_MAX_FRAME_BYTES).to.equal(16 * 1024 * 1024);
      const over = new FrameDecoder();
      expectCode(
        thrown(() => over.push(u32s(DEFAULT_MAX_FRAME_BYTES + 1))),
        ErrorCode.FRAME_TOO_LARGE,
      );
      // Exactly at the limit: the header is accepted and the decoder waits for the body.
      const at = new FrameDecoder();
      expect(at.push(rawHeader({ length: DEFAULT_MAX_FRAME_BYTES, payloadLength: DEFAULT_MAX_FRAME_BYTES - 16 }))).to.deep.equal([]);
      expect(at.failed).to.be.false;
    });

    it('accepts a frame of exactly maxFrameBytes and rejects one byte more', () => {
      const maxFrameBytes = 100;
      const exact = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: Buffer.alloc(maxFrameBytes - 16, 0x31) });
      expect(exact.readUInt32BE(0)).to.equal(maxFrameBytes);
      expect(decodeChunks([exact], { maxFrameBytes })).to.have.length(1);
      expect(decodeChunks(bytewise(exact), { maxFrameBytes })).to.have.length(1);

      const over = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: Buffer.alloc(maxFrameBytes - 15, 0x31) });
      const decoder = new FrameDecoder({ maxFrameBytes });
      expectCode(
        thrown(() => decoder.push(over)),
        ErrorCode.FRAME_TOO_LARGE,
      );
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('rejects bad limits with ERR_INVALID_OPTION', () => {
      for (const options of [{ maxFrameBytes: 15 }, { maxFrameBytes: 1.5e3 + 0.5 }, { maxAttachments: -1 }, { maxAttachments: 65536 }]) {
        const err = thrown(() => new FrameDecoder(options));
        expect(err).to.be.instanceOf(HopwireError);
        expect((err as HopwireError).code).to.equal(ErrorCode.INVALID_OPTION);
      }
    });
  });

  describe('linear reassembly', () => {
    it('decodes a 64 MiB frame fed in 64 KiB chunks with one large allocation', () => {
      const MiB = 1024 * 1024;
      const big = Buffer.alloc(64 * MiB, 0x5a);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
      const wire = Buffer.concat(encodeFrame({ kind: FrameKind.MESSAGE, type: 'Blob', payload: '{"big":true}', attachments: [big] }));
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i += 64 * 1024) chunks.push(wire.subarray(i, i + 64 * 1024));
      expect(chunks.length).to.be.above(1000);

      const decoder = new FrameDecoder({ maxFrameBytes: wire.length });
      const allocations: number[] = [];
      const original = {
        alloc: Buffer.alloc.bind(Buffer),
        allocUnsafe: Buffer.allocUnsafe.bind(Buffer),
        allocUnsafeSlow: Buffer.allocUnsafeSlow.bind(Buffer),
        concat: Buffer.concat.bind(Buffer),
      };
      const frames: Frame[] = [];
      try {
        Buffer.alloc = (size, fill, encoding) => {
          allocations.push(size);
          return original.alloc(size, fill, encoding);
        };
        Buffer.allocUnsafe = (size) => {
          allocations.push(size);
          return original.allocUnsafe(size);
        };
        Buffer.allocUnsafeSlow = (size) => {
          allocations.push(size);
          return original.allocUnsafeSlow(size);
        };
        Buffer.concat = (list, totalLength) => {
          allocations.push(totalLength ?? list.reduce((n, b) => n + b.length, 0));
          return original.concat(list, totalLength);
        };
        for (const chunk of chunks) frames.push(...decoder.push(chunk));
      } finally {
        Buffer.alloc = original.alloc;
        Buffer.allocUnsafe = original.allocUnsafe;
        Buffer.allocUnsafeSlow = original.allocUnsafeSlow;
        Buffer.concat = original.concat;
      }

      expect(frames).to.have.length(1);
      const frame = frames[0]!;
      expect(frame.type).to.equal('Blob');
      expect(frame.payload.toString()).to.equal('{"big":true}');
      expect(frame.attachments).to.have.length(1);
      expect(frame.attachments[0]!.equals(big)).to.be.true;
      expect(decoder.bufferedBytes).to.equal(0);

      const large = allocations.filter((n) => n >= MiB);
      expect(large.length, `allocations ≥ 1 MiB: ${large.join(', ')}`).to.be.at.most(1);
      const total = allocations.reduce((n, b) => n + b, 0);
      expect(total).to.be.below(2 * wire.length);
    });
  });

  describe('malformed headers', () => {
    /** Pushes `bytes` into a fresh decoder, expects ERR_PROTOCOL and a decoder that stays failed. */
    function expectProtocolError(bytes: Buffer, options?: FrameDecoderOptions): HopwireError {
      const decoder = new FrameDecoder(options);
      const error = expectCode(
        thrown(() => decoder.push(bytes)),
        ErrorCode.PROTOCOL,
      );
      expectStaysFailed(decoder, error);
      // The same bytes one at a time fail the same way, on some byte.
      const slow = new FrameDecoder(options);
      const slowError = thrown(() => {
        for (const b of bytewise(bytes)) slow.push(b);
      });
      expectCode(slowError, ErrorCode.PROTOCOL);
      expect(slow.bufferedBytes).to.equal(0);
      return error;
    }

    const body = (n: number): Buffer => Buffer.alloc(n, 0x30);

    it('accepts the well-formed baseline these cases break', () => {
      const frame = Buffer.concat([rawHeader({ length: 16 + 2, payloadLength: 2 }), body(2)]);
      expect(decodeChunks([frame])).to.have.length(1);
    });

    for (const kind of [0, 11, 63, 64, 255]) {
      it(`rejects kind ${kind}`, () => {
        expectProtocolError(Buffer.concat([rawHeader({ length: 18, kind, payloadLength: 2 }), body(2)]));
      });
    }

    it('accepts the MSGPACK flag 0x4, alone and with the others', () => {
      for (const flags of [FrameFlags.MSGPACK, FrameFlags.MSGPACK | FrameFlags.TAGGED | FrameFlags.STREAM]) {
        const [frame] = new FrameDecoder().push(Buffer.concat([rawHeader({ length: 18, flags, payloadLength: 2 }), body(2)]));
        expect(frame?.flags).to.equal(flags);
      }
    });

    for (const flags of [0x08, 0x0d, 0x80, 0xfe, 0xff]) {
      it(`rejects reserved flag bits 0x${flags.toString(16)}`, () => {
        expectProtocolError(Buffer.concat([rawHeader({ length: 18, flags, payloadLength: 2 }), body(2)]));
      });
    }

    for (const reserved of [1, 0x8000, 0xffff]) {
      it(`rejects a reserved field of 0x${reserved.toString(16)}`, () => {
        expectProtocolError(Buffer.concat([rawHeader({ length: 18, reserved, payloadLength: 2 }), body(2)]));
      });
    }

    it('rejects a type name longer than 255 bytes', () => {
      expectProtocolError(Buffer.concat([rawHeader({ length: 16 + 256, typeLength: 256 }), body(256)]));
      expectProtocolError(rawHeader({ length: 16 + 0xffff, typeLength: 0xffff }));
    });

    for (const length of [0, 1, 4, 15]) {
      it(`rejects a length of ${length}, shorter than the 16-byte header`, () => {
        const decoder = new FrameDecoder();
        const error = expectCode(
          thrown(() => decoder.push(u32s(length))),
          ErrorCode.PROTOCOL,
        );
        expectStaysFailed(decoder, error);
      });
    }

    it('rejects a payload longer than the frame, at the header', () => {
      expectProtocolError(rawHeader({ length: 16 + 10, payloadLength: 11 }));
      expectProtocolError(rawHeader({ length: 16, payloadLength: 0xffff_ffff }));
      expectProtocolError(rawHeader({ length: 16 + 4, typeLength: 3, payloadLength: 2 }));
    });

    it('rejects a frame longer than its type name and payload when it has no attachments, at the header', () => {
      expectProtocolError(rawHeader({ length: 16 + 10, payloadLength: 9 }));
      expectProtocolError(rawHeader({ length: 16 + 10, typeLength: 4, payloadLength: 5 }));
      expectProtocolError(Buffer.concat([rawHeader({ length: 16 + 10, payloadLength: 9 }), body(10)]));
    });

    it('rejects an attachment table larger than the frame, at the header', () => {
      expectProtocolError(rawHeader({ length: 16 + 8, attachments: 3 }));
      expectProtocolError(rawHeader({ length: 16, attachments: 1 }));
    });

    it('rejects attachment lengths that do not add up to the frame', () => {
      // Two attachments declared 3 + 4 bytes, but the frame has room for 3 + 5.
      const tooFew = Buffer.concat([rawHeader({ length: 16 + 8 + 2 + 8, payloadLength: 2, attachments: 2 }), u32s(3, 4), body(2 + 8)]);
      expectProtocolError(tooFew);
      // Lengths summing past the frame, and lengths that overflow 32 bits when summed.
      expectProtocolError(Buffer.concat([rawHeader({ length: 16 + 8 + 4, attachments: 2 }), u32s(3, 4), body(4)]));
      expectProtocolError(Buffer.concat([rawHeader({ length: 16 + 8 + 2, attachments: 2 }), u32s(0xffff_ffff, 3), body(2)]));
    });

    it('rejects more attachments than maxAttachments (default 4096)', () => {
      expect(DEFAULT_MAX_ATTACHMENTS).to.equal(4096);
      const n = DEFAULT_MAX_ATTACHMENTS + 1;
      expectProtocolError(rawHeader({ length: 16 + 4 * n, attachments: n }));
      expectProtocolError(rawHeader({ length: 16 + 4 * 0xffff, attachments: 0xffff }));

      const at = Buffer.concat([rawHeader({ length: 16 + 8, attachments: 2 }), u32s(0, 0)]);
      expect(decodeChunks([at], { maxAttachments: 2 })).to.have.length(1);
      const over = Buffer.concat([rawHeader({ length: 16 + 12, attachments: 3 }), u32s(0, 0, 0)]);
      expectProtocolError(over, { maxAttachments: 2 });
    });

    it('returns the whole frames before a malformed one in the same chunk, then stays failed', () => {
      const good = [
        encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' }),
        encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"last":"words"}' }),
      ];
      const bad = Buffer.concat([rawHeader({ length: 18, kind: 42, payloadLength: 2 }), body(2)]);
      const bytes = Buffer.concat([MAGIC, ...good, bad, encodeFrameToBuffer({ kind: FrameKind.PING })]);
      const decoder = new FrameDecoder(magicOptions);
      const frames = decoder.push(bytes);
      expect(frames.map((f) => f.kind)).to.deep.equal([FrameKind.HELLO, FrameKind.MESSAGE]);
      expect(frames[1]!.payload.toString()).to.equal('{"last":"words"}');
      const error = expectCode(decoder.error, ErrorCode.PROTOCOL);
      expectStaysFailed(decoder, error);
      // Whatever the chunking: the same two frames, then the same failure.
      for (let i = 0; i <= bytes.length; i++) {
        const split = new FrameDecoder(magicOptions);
        const got: Frame[] = [];
        let err: unknown;
        for (const chunk of cut(bytes, [i])) {
          try {
            got.push(...split.push(chunk));
          } catch (e) {
            err = e;
          }
        }
        expect(got.map(plain), `split at ${i}`).to.deep.equal(frames.map(plain));
        expectCode(err ?? split.error, ErrorCode.PROTOCOL);
        expect(split.failed).to.be.true;
      }
    });

    it('rejects a malformed frame after good ones, dropping what it holds', () => {
      const good = encodeFrameToBuffer({ kind: FrameKind.PING });
      const decoder = new FrameDecoder();
      expect(decoder.push(good)).to.have.length(1);
      const error = expectCode(
        thrown(() => decoder.push(Buffer.concat([rawHeader({ length: 18, kind: 11, payloadLength: 2 }), body(2), good]))),
        ErrorCode.PROTOCOL,
      );
      expectStaysFailed(decoder, error);
    });
  });

  describe('magic', () => {
    it('accepts the magic split anywhere', () => {
      const bytes = Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.PING })]);
      for (let i = 0; i <= 4; i++) expect(decodeChunks(cut(bytes, [i]), magicOptions)).to.have.length(1);
    });

    it('rejects a JSON-looking first byte at once, on that byte', () => {
      for (const first of ['{', '[', '"', ' ', 'G']) {
        const decoder = new FrameDecoder(magicOptions);
        const error = expectCode(
          thrown(() => decoder.push(Buffer.from(first))),
          ErrorCode.PROTOCOL,
        );
        expectStaysFailed(decoder, error);
      }
    });

    it('waits on a correct first byte, then rejects a bad magic', () => {
      for (const bad of ['89484f51', '89000000', '8948', '89484f']) {
        const decoder = new FrameDecoder(magicOptions);
        expect(decoder.push(Buffer.from([0x89]))).to.deep.equal([]);
        expect(decoder.failed).to.be.false;
        const rest = Buffer.concat([Buffer.from(bad, 'hex').subarray(1), Buffer.from('ffffffff', 'hex')]);
        const error = expectCode(
          thrown(() => decoder.push(rest)),
          ErrorCode.PROTOCOL,
        );
        expectStaysFailed(decoder, error);
      }
    });

    it('rejects a stream without the magic, even one made of valid frames', () => {
      expectCode(
        thrown(() => new FrameDecoder(magicOptions).push(encodeFrameToBuffer({ kind: FrameKind.PING }))),
        ErrorCode.PROTOCOL,
      );
    });
  });

  describe('garbage', () => {
    /**
     * Runs `chunks` through `decoder`; returns the frames, and the error if the decoder
     * failed (thrown, or reported by `failed`/`error` after returning the whole frames
     * before it). Anything but a HopwireError the decoder raised itself fails the test.
     * Plain checks, not chai: this runs 100,000 times.
     */
    function survive(decoder: FrameDecoder, chunks: readonly Buffer[]): { frames: PlainFrame[]; error?: HopwireError } {
      const frames: PlainFrame[] = [];
      const fail = (what: string, cause?: unknown): never => {
        throw new Error(`${what} on input ${Buffer.concat(chunks).toString('hex')}`, { cause });
      };
      for (const chunk of chunks) {
        let out: Frame[];
        try {
          out = decoder.push(chunk);
        } catch (err) {
          if (!(err instanceof HopwireError) || err.cause !== undefined) return fail(`non-protocol failure ${String(err)}`, err);
          if (err.code !== ErrorCode.PROTOCOL && err.code !== ErrorCode.FRAME_TOO_LARGE) fail(`unexpected code ${err.code}`);
          if (!decoder.failed || decoder.bufferedBytes !== 0) fail('a failed decoder that is not failed or still holds bytes');
          return { frames, error: err };
        }
        for (const frame of out) {
          if (frame.kind < 1 || frame.kind > MAX_FRAME_KIND || (frame.flags & ~KNOWN_FLAGS) !== 0) fail(`invalid frame ${JSON.stringify(plain(frame))}`);
          frames.push(plain(frame));
        }
        if (decoder.failed) {
          const err = decoder.error;
          if (out.length === 0) fail('failed without throwing and without frames');
          if (!(err instanceof HopwireError) || err.cause !== undefined) return fail(`non-protocol failure ${String(err)}`, err);
          if (decoder.bufferedBytes !== 0) fail('a failed decoder still holds bytes');
          return { frames, error: err };
        }
      }
      if (decoder.error !== undefined) fail('error set on a decoder that is not failed');
      return { frames };
    }

    it('throws nothing but HopwireError on 100,000 random chunks', () => {
      const rnd = prng(0x5eed_0001);
      const codes = new Map<string, number>();
      let frameCount = 0;
      let decoder = new FrameDecoder({ maxFrameBytes: 4096 });
      for (let i = 0; i < 100_000; i++) {
        let chunk: Buffer;
        const r = rnd.next();
        if (r < 0.5) {
          chunk = rnd.bytes(rnd.int(48));
        } else {
          // A plausible frame (consistent header, random body), often with one field perturbed,
          // so that the header and body states see garbage too, not only the length state.
          const typeLength = rnd.int(20);
          const payloadLength = rnd.int(64);
          const sizes = Array.from({ length: rnd.next() < 0.6 ? 0 : rnd.int(6) }, () => rnd.int(10));
          const bodyLength = 4 * sizes.length + typeLength + payloadLength + sizes.reduce((n, x) => n + x, 0);
          const fields: RawHeader = {
            length: 16 + bodyLength,
            kind: 1 + rnd.int(8),
            flags: rnd.int(2),
            typeLength,
            id: rnd.int(0x1_0000_0000),
            payloadLength,
            attachments: sizes.length,
          };
          if (rnd.next() < 0.5) {
            const perturbed = rnd.int(256);
            switch (rnd.int(7)) {
              case 0:
                fields.length = 16 + rnd.int(100);
                break;
              case 1:
                fields.kind = perturbed;
                break;
              case 2:
                fields.flags = perturbed;
                break;
              case 3:
                fields.typeLength = rnd.int(300);
                break;
              case 4:
                fields.payloadLength = rnd.int(100);
                break;
              case 5:
                fields.attachments = rnd.int(8);
                break;
              default:
                fields.reserved = 1 + rnd.int(0xffff);
                break;
            }
          }
          chunk = Buffer.concat([rawHeader(fields), u32s(...sizes), rnd.bytes(bodyLength - 4 * sizes.length + (rnd.next() < 0.8 ? 0 : rnd.int(8)))]);
        }
        const { frames, error } = survive(decoder, [chunk]);
        frameCount += frames.length;
        if (error !== undefined) {
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
          decoder = new FrameDecoder({ maxFrameBytes: 4096, expectMagic: rnd.next() < 0.1 });
        }
      }
      // The garbage reached every state: frames came out, and both errors happened.
      expect(frameCount).to.be.above(100);
      expect(codes.get(ErrorCode.PROTOCOL)).to.be.above(1000);
      expect(codes.get(ErrorCode.FRAME_TOO_LARGE)).to.be.above(1000);
    });

    it('throws nothing but HopwireError on mutated valid streams, and chunking never changes the outcome', () => {
      const rnd = prng(0x5eed_0002);
      let failures = 0;
      let successes = 0;
      for (let i = 0; i < 20_000; i++) {
        const bytes = Buffer.from(streamBytes);
        let mutated: Buffer = bytes;
        const mutations = 1 + rnd.int(3);
        for (let m = 0; m < mutations; m++) {
          const at = rnd.int(mutated.length + 1);
          switch (rnd.int(5)) {
            case 0: // flip a bit
              if (at < mutated.length) mutated[at] = (mutated[at] ?? 0) ^ (1 << rnd.int(8));
              break;
            case 1: // truncate
              mutated = mutated.subarray(0, at);
              break;
            case 2: // insert random bytes
              mutated = Buffer.concat([mutated.subarray(0, at), rnd.bytes(1 + rnd.int(8)), mutated.subarray(at)]);
              break;
            case 3: // delete a range
              mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1 + rnd.int(16))]);
              break;
            default: // overwrite a byte with an extreme value
              if (at < mutated.length) mutated[at] = rnd.next() < 0.5 ? 0xff : 0;
              break;
          }
        }
        const options = { ...magicOptions, maxFrameBytes: 4096 };
        const whole = survive(new FrameDecoder(options), [mutated]);
        const offsets = Array.from({ length: rnd.int(6) }, () => rnd.int(mutated.length + 1));
        const chunked = survive(new FrameDecoder(options), cut(mutated, offsets));
        // The whole frames before any failure, and the failure's code, do not depend on chunking.
        if (JSON.stringify(chunked.frames) !== JSON.stringify(whole.frames)) {
          expect.fail(`chunking ${JSON.stringify(offsets)} changed the frames of ${mutated.toString('hex')}`);
        }
        if (chunked.error?.code !== whole.error?.code) {
          expect.fail(`chunking ${JSON.stringify(offsets)} changed the error of ${mutated.toString('hex')}`);
        }
        if (whole.error === undefined) successes++;
        else failures++;
      }
      expect(failures).to.be.above(1000);
      expect(successes).to.be.above(100);
    });
  });

  describe('zero-copy', () => {
    it('yields payload, type and attachments that share memory with a chunk holding the whole frame', () => {
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, type: 'T', payload: '{"a":1}', attachments: [Buffer.from([1, 2, 3])] });
      const second = encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 7, payload: '[2]' });
      // An ArrayBuffer of its own (never Node's shared pool), at a non-zero offset.
      const memory = new ArrayBuffer(5 + frame.length + second.length);
      const chunk = Buffer.from(memory, 5, frame.length + second.length);
      frame.copy(chunk, 0);
      second.copy(chunk, frame.length);

      const frames = new FrameDecoder().push(chunk);
      expect(frames).to.have.length(2);
      const [first, next] = frames as [Frame, Frame];
      expect(first.payload.buffer).to.equal(chunk.buffer);
      expect(first.payload.byteOffset).to.equal(chunk.byteOffset + 20 + 4 + 1);
      expect(first.attachments[0]!.buffer).to.equal(chunk.buffer);
      expect(first.attachments[0]!.byteOffset).to.equal(chunk.byteOffset + 20 + 4 + 1 + 7);
      expect(next.payload.buffer).to.equal(chunk.buffer);
      expect(next.payload.byteOffset).to.equal(chunk.byteOffset + frame.length + 20);
      // Sharing is real: writing the chunk shows through the payload.
      chunk[20 + 4 + 1 + 2] = 0x62; // 'a' -> 'b'
      expect(first.payload.toString()).to.equal('{"b":1}');
    });

    it('still decodes correctly when a frame spans chunks (one copy)', () => {
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"a":1}' });
      const [a, b] = cut(frame, [23]) as [Buffer, Buffer];
      const decoder = new FrameDecoder();
      expect(decoder.push(a)).to.deep.equal([]);
      const [decoded] = decoder.push(b);
      expect(decoded?.payload.toString()).to.equal('{"a":1}');
    });
  });
});

describe('FrameDecoder: payloads', () => {
  it('payloadText decodes the payload where it arrived; payload is a view of the same bytes', () => {
    const texts = ['{"a":"é ✓ 😀"}', '', '[1,2]'];
    const bytes = Buffer.concat(texts.map((payload, i) => encodeFrameToBuffer({ kind: FrameKind.MESSAGE, id: i, type: i === 1 ? 'T' : '', payload, attachments: i === 2 ? [Buffer.from([7])] : [] })));
    for (const pieces of [[bytes], cut(bytes, [5, 40]), bytewise(bytes)]) {
      const decoder = new FrameDecoder();
      const frames = pieces.flatMap((piece) => decoder.push(piece));
      expect(frames.map((f) => payloadText(f))).to.deep.equal(texts);
      expect(frames.map((f) => f.payload.toString('utf8'))).to.deep.equal(texts);
      expect(frames[0]?.payload).to.equal(frames[0]?.payload); // one view, made once
      expect(frames.map((f) => f.attachments.length)).to.deep.equal([0, 0, 1]);
    }
    // A frame the caller built itself works too.
    const own: Frame = { kind: FrameKind.MESSAGE, flags: 0, id: 0, type: '', payload: Buffer.from('{"x":1}'), attachments: [] };
    expect(payloadText(own)).to.equal('{"x":1}');
  });
});
