/**
 * Fuzzes the pure wire layer: `FrameDecoder`, `LineDecoder` and `Codec.decode`.
 *
 *     npm run fuzz                       # 1,000,000 inputs, random seed
 *     npx tsx fuzz/fuzz.ts 100000        # another count
 *     FUZZ_SEED=1234 npm run fuzz        # replay a run
 *     FUZZ_SEED=1234 FUZZ_INDEX=5678 npx tsx fuzz/fuzz.ts   # replay one input, verbosely
 *
 * Each input is built from its own PRNG, seeded from the run seed and the
 * input's index, so one input can be replayed alone. Inputs:
 *
 * - frame-random: random bytes (sometimes after the magic or a plausible header);
 * - frame-mutated: valid encoded streams, then bit flips, byte and u32
 *   overwrites, truncation, deletion, duplication, splices of other streams;
 * - frame-valid: valid streams, unmutated, which must decode to their frames;
 * - codec: valid frames whose payloads are random tagged JSON (well-formed or
 *   not), with random attachments;
 * - lines: JSON lines (valid, invalid, invalid UTF-8, blank, long), random
 *   terminators and limits, sometimes mutated.
 *
 * Every input is pushed in random chunks; frame and line inputs are also
 * pushed whole, and both ways must agree. Every decoded frame goes through
 * `Codec.decode(…, tagged = true)`. Values generated for frames are also
 * checked to survive encode → decode → encode unchanged.
 *
 * A finding — any exception that is not a HopwireError, a HopwireError
 * wrapping an internal error, a decoder that does not stay failed, chunking
 * that changes the outcome, a valid stream that does not decode to itself, a
 * value the codec encodes but cannot decode — prints the input as hex and
 * exits with status 1.
 */
import { mulberry32 } from './prng.js';
import { TYPED_ARRAYS } from '../src/codec-builtins.js';
import { Codec } from '../src/codec.js';
import { HopwireError } from '../src/errors.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import type { FrameDecoderOptions } from '../src/frame-decoder.js';
import { type Frame, type FrameInput, FrameFlags, FrameKind, KNOWN_FLAGS, MAGIC, MAX_FRAME_KIND, encodeFrameToBuffer } from '../src/frame.js';
import { LineDecoder } from '../src/line-decoder.js';
import type { LineDecoderOptions, LineResult } from '../src/line-decoder.js';
import { TypeRegistry } from '../src/type-registry.js';

// ---------------------------------------------------------------- PRNG

/** mulberry32: small, fast, good enough for fuzzing. */
class Rng {
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The seed of input `index` (splitmix32 of the run seed and the index). */
function inputSeed(seed: number, index: number): number {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

// ---------------------------------------------------------------- run settings

function parseCount(arg: string | undefined): number {
  if (arg === undefined) return 1_000_000;
  const n = Number(arg.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`usage: tsx fuzz/fuzz.ts [count]   (count must be a positive integer, got ${JSON.stringify(arg)})`);
    process.exit(2);
  }
  return n;
}

function parseSeed(env: string | undefined): number {
  if (env === undefined || env === '') return Math.floor(Math.random() * 0x1_0000_0000);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    console.error(`FUZZ_SEED must be an integer from 0 to 4294967295, got ${JSON.stringify(env)}`);
    process.exit(2);
  }
  return n;
}

const COUNT = parseCount(process.argv[2]);
const SEED = parseSeed(process.env.FUZZ_SEED);
const ONLY = process.env.FUZZ_INDEX === undefined || process.env.FUZZ_INDEX === '' ? undefined : Number(process.env.FUZZ_INDEX);

// ---------------------------------------------------------------- stats and findings

const CATEGORIES = ['frame-random', 'frame-mutated', 'frame-valid', 'codec', 'lines'] as const;
type Category = (typeof CATEGORIES)[number];

const stats = {
  inputs: 0,
  bytes: 0,
  byCategory: new Map<Category, number>(),
  frames: 0,
  values: 0,
  roundTrips: 0,
  lines: 0,
  badLines: 0,
  errors: new Map<string, number>(),
};

function countError(source: string, code: string): void {
  const key = `${source.padEnd(14)} ${code}`;
  stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
}

let currentIndex = 0;
let currentCategory: Category = 'frame-random';

/** Reports a finding and exits 1. */
function finding(what: string, input: Buffer, details: Record<string, unknown> = {}, err?: unknown): never {
  console.error('');
  console.error(`FINDING: ${what}`);
  console.error(`  input #${currentIndex} (${currentCategory}); replay: FUZZ_SEED=${SEED} FUZZ_INDEX=${currentIndex} npx tsx fuzz/fuzz.ts`);
  console.error(`  input (hex, ${input.length} bytes): ${input.toString('hex')}`);
  for (const [key, value] of Object.entries(details)) console.error(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (err !== undefined) {
    console.error('  error:');
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    if (err instanceof Error && err.cause !== undefined) console.error('  cause:', err.cause);
  }
  process.exit(1);
}

// ---------------------------------------------------------------- chunking

/** Cuts `bytes` into random chunks: whole, a few cuts, or (short inputs) byte by byte. */
function randomCuts(r: Rng, length: number): number[] {
  if (length === 0) return [];
  if (length <= 400 && r.chance(0.04)) return Array.from({ length: length - 1 }, (_, i) => i + 1);
  const n = r.int(Math.min(length, 8) + 1);
  const cuts = Array.from({ length: n }, () => 1 + r.int(length));
  return [...new Set(cuts)].sort((a, b) => a - b);
}

function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    if (cut > start && cut < bytes.length) {
      chunks.push(bytes.subarray(start, cut));
      start = cut;
    }
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

// ---------------------------------------------------------------- the codec under test

class Point {
  constructor(
    public x: unknown,
    public y: unknown,
  ) {}
}

class Hooked {
  constructor(public items: string[]) {}
}

class Unregistered {
  constructor(public a: unknown) {}
}

const registry = new TypeRegistry([
  Point,
  [
    Hooked,
    {
      toWire: (h: Hooked) => h.items.join(','),
      fromWire: (data: unknown) => {
        if (typeof data !== 'string') throw new TypeError('Hooked needs a string');
        return new Hooked(data.split(','));
      },
    },
  ],
]);
const codec = new Codec(registry);

// ---------------------------------------------------------------- value generators

const STRINGS = ['', 'a', 'héllo', '😀', '$hw', '__proto__', 'constructor', '\u0000', '\n', '\r\n', '"', '\\', '\ud800', 'END', 'x'.repeat(40)];
const KEYS = ['a', 'b', 'x', 'y', '$hw', '__proto__', 'constructor', 'toString', 'v', 'i', 't', 'n', '', '0'];
const TYPE_NAMES = ['', '', 'Point', 'Hooked', 'Unregistered', 'Nope', '__proto__', 'constructor', 'hasOwnProperty', 'Ünïcødé', 'x'.repeat(255)];
const TYPED = Object.values(TYPED_ARRAYS);

function randomString(r: Rng): string {
  if (r.chance(0.5)) return r.pick(STRINGS);
  let s = '';
  const n = r.int(12);
  for (let i = 0; i < n; i++) {
    const c = r.int(10);
    s += c < 6 ? String.fromCharCode(0x20 + r.int(95)) : c < 8 ? String.fromCharCode(r.int(0x800)) : String.fromCodePoint(r.int(0x110000));
  }
  return s;
}

function randomNumber(r: Rng): number {
  switch (r.int(8)) {
    case 0:
      return Number.NaN;
    case 1:
      return r.pick([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    case 2:
      return -0;
    case 3:
      return r.pick([0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE, 1e21, 2 ** 53 + 2]);
    case 4:
      return (r.next() - 0.5) * 1e6;
    default:
      return r.int(1000) - 500;
  }
}

/** Tracks what a generated value contains, for the round-trip oracle. */
interface GenState {
  /** An instance of a class not registered here (it decodes to a plain object, by design). */
  unregistered: boolean;
}

/** A random JavaScript value, of the kinds the codec handles. */
function randomValue(r: Rng, depth: number, g: GenState): unknown {
  if (depth >= 4 || r.chance(0.35)) {
    switch (r.int(9)) {
      case 0:
        return randomNumber(r);
      case 1:
      case 2:
        return randomString(r);
      case 3:
        return r.chance(0.5);
      case 4:
        return null;
      case 5:
        return undefined;
      case 6:
        return BigInt(r.int(2_000_000_000) - 1_000_000_000) * BigInt(r.chance(0.3) ? 10 ** 15 : 1);
      case 7:
        return r.int(100);
      default:
        return r.chance(0.5) ? () => 1 : Symbol('s');
    }
  }
  const d = depth + 1;
  switch (r.int(20)) {
    case 0:
      return new Date(r.pick([0, Date.UTC(2024, 1, 29), -8.64e15, 8.64e15, Number.NaN, r.int(2e12)]));
    case 1:
      return r.pick([/a+b/g, /^x$/imsuy, /\d{2,}/, new RegExp('[\\p{L}--[a-z]]', 'v')]);
    case 2: {
      const err = r.pick([new Error(randomString(r)), new TypeError('bad'), new RangeError('range')]);
      if (r.chance(0.5)) Object.assign(err, { code: r.chance(0.5) ? 'E_CODE' : 42 });
      return err;
    }
    case 3: {
      const m = new Map<unknown, unknown>();
      const n = r.int(4);
      // String keys half the time, so both wire forms of a Map (M and m) come up.
      for (let i = 0; i < n; i++) m.set(r.chance(0.5) ? r.pick(KEYS) : randomValue(r, d, g), randomValue(r, d, g));
      return m;
    }
    case 4: {
      const s = new Set<unknown>();
      const n = r.int(4);
      for (let i = 0; i < n; i++) s.add(randomValue(r, d, g));
      return s;
    }
    case 5:
      return r.bytes(r.int(20));
    case 6: {
      const Typed = r.pick(TYPED);
      const n = r.int(5);
      const raw = r.bytes(n * Typed.BYTES_PER_ELEMENT + 8);
      const memory = new ArrayBuffer(raw.length);
      new Uint8Array(memory).set(raw);
      const offset = r.chance(0.5) ? 0 : Typed.BYTES_PER_ELEMENT;
      return new Typed(memory, offset, n);
    }
    case 7: {
      const b = r.bytes(r.int(16));
      return r.chance(0.5) ? new Uint8Array(b).buffer : new DataView(new Uint8Array(b).buffer, 0, b.length);
    }
    case 8:
      return new Point(randomValue(r, d, g), randomValue(r, d, g));
    case 9:
      return new Hooked(Array.from({ length: 1 + r.int(3) }, () => randomString(r).replaceAll(',', '')).filter((s) => s !== ''));
    case 10:
      g.unregistered = true;
      return new Unregistered(randomValue(r, d, g));
    case 11:
      return r.pick([new String('boxed'), new Number(r.pick([1, Number.NaN, -0])), new Boolean(false)]);
    case 12: {
      // An array nested close to the default maxDepth (256), with a tagged leaf.
      let v: unknown = r.pick<unknown>([undefined, Number.NaN, 1n, new Date(0), new Map([[1, 2]]), { $hw: 'x' }, 'leaf']);
      const n = 250 + r.int(10);
      for (let i = 0; i < n; i++) v = r.chance(0.9) ? [v] : { k: v };
      return v;
    }
    case 13: {
      const o = Object.create(null) as Record<string, unknown>;
      o.k = randomValue(r, d, g);
      return o;
    }
    case 14:
    case 15:
    case 16: {
      const a: unknown[] = [];
      const n = r.int(5);
      for (let i = 0; i < n; i++) a.push(randomValue(r, d, g));
      return a;
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = r.int(5);
      for (let i = 0; i < n; i++) {
        const key = r.pick(KEYS);
        Object.defineProperty(o, key, { value: randomValue(r, d, g), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
  }
}

/** Random tagged JSON text: well-formed tags, malformed ones, and plain data. */
function randomTaggedJson(r: Rng, depth: number, attachments: number): unknown {
  if (depth >= 5 || r.chance(0.3)) {
    return r.pick<unknown>([null, true, 0, -1, 1.5, 1e308, 'x', '', '$hw', randomString(r), r.int(attachments + 2) - 1]);
  }
  const d = depth + 1;
  const kind = r.int(10);
  if (kind < 2) return Array.from({ length: r.int(4) }, () => randomTaggedJson(r, d, attachments));
  if (kind < 4) {
    const o: Record<string, unknown> = {};
    for (let i = r.int(4); i > 0; i--) o[r.pick(KEYS)] = randomTaggedJson(r, d, attachments);
    return o;
  }
  // A tag: a known or unknown name, with plausible or random fields.
  const tag = r.pick<unknown>(['u', 'n', 'b', 'd', 'r', 'e', 'm', 'M', 's', 'a', 'o', 'c', 'z', '', 1, null, ['a']]);
  const node: Record<string, unknown> = { $hw: tag };
  const plausible = r.chance(0.7);
  switch (tag) {
    case 'n':
      node.v = plausible ? r.pick(['NaN', 'Infinity', '-Infinity', '-0']) : randomTaggedJson(r, d, attachments);
      break;
    case 'b':
      node.v = plausible ? r.pick(['0', '-12', '123456789012345678901234567890', '9'.repeat(10_001), '-' + '9'.repeat(10_000)]) : r.pick(['1.5', '', '-', '0x10', ' 1', 12]);
      break;
    case 'd':
      node.v = plausible ? r.pick([0, -1, 8.64e15, 8.64e15 + 1, null]) : r.pick(['2020', true, {}]);
      break;
    case 'r':
      node.v = plausible ? [r.pick(['a+', '(', '[', '\\', '(?<n>x)\\k<n>']), r.pick(['', 'g', 'gg', 'x', 'dgimsuy', 'uv'])] : r.pick([['a'], 'a', [1, 2], null]);
      break;
    case 'e':
      node.v = plausible ? { name: r.pick(['Error', 'TypeError', 7]), message: r.pick(['m', 1, null]), code: r.pick(['C', 2, {}]) } : r.pick([null, 'e', []]);
      break;
    case 'm':
      node.v = plausible ? Array.from({ length: r.int(3) }, () => [randomTaggedJson(r, d, attachments), randomTaggedJson(r, d, attachments)]) : r.pick([[[1]], [1, 2], {}, null]);
      break;
    case 'M': {
      const o: Record<string, unknown> = {};
      for (let i = r.int(3); i > 0; i--) o[r.pick(KEYS)] = randomTaggedJson(r, d, attachments);
      node.v = plausible ? o : r.pick([[['a', 1]], 'ab', null, 1]);
      break;
    }
    case 's':
    case 'o':
      node.v = plausible ? (tag === 's' ? [randomTaggedJson(r, d, attachments)] : { $hw: 'data', k: randomTaggedJson(r, d, attachments) }) : r.pick([null, 1, 'x', []]);
      break;
    case 'a':
      node.i = plausible ? r.int(attachments + 1) : r.pick<unknown>([-1, 1.5, '0', null, 2 ** 32]);
      node.t = r.pick<unknown>(['Buffer', 'ArrayBuffer', 'DataView', 'Uint8Array', 'Float64Array', 'BigInt64Array', 'Int16Array', 'Uint8ClampedArray', 'Float32Array', 'Nope', '__proto__', 'constructor', 1]);
      break;
    case 'c':
      node.n = plausible ? r.pick(TYPE_NAMES) : r.pick<unknown>([1, null, {}]);
      node.v = randomTaggedJson(r, d, attachments);
      break;
    default:
      node.v = randomTaggedJson(r, d, attachments);
  }
  return node;
}

// ---------------------------------------------------------------- frame generators

function randomTypeName(r: Rng): string {
  if (r.chance(0.7)) return r.pick(TYPE_NAMES);
  const s = randomString(r);
  // Lone surrogates do not survive UTF-8 (they arrive as U+FFFD), by nature, not by bug.
  return Buffer.byteLength(s) <= 255 && Buffer.from(s).toString() === s ? s : '';
}

function randomAttachments(r: Rng): Buffer[] {
  const n = r.chance(0.6) ? 0 : r.int(5);
  return Array.from({ length: n }, () => r.bytes(r.pick([0, 1, 2, 3, 4, 7, 8, 16, r.int(40)])));
}

/** The frame inputs whose payload `Codec.encode` wrote (the others are hand-made tagged JSON). */
const fromCodec = new WeakSet<FrameInput>();

/** A random valid frame: a value's encoding, random tagged JSON, random bytes, or empty. */
function randomFrameInput(r: Rng, g: GenState): FrameInput {
  const kind = (1 + r.int(MAX_FRAME_KIND)) as FrameKind;
  const id = r.chance(0.5) ? 0 : r.chance(0.5) ? 1 + r.int(1000) : r.int(0x1_0000_0000);
  const which = r.int(10);
  if (which < 5) {
    const value = randomValue(r, 0, g);
    let e;
    try {
      e = codec.encode(value);
    } catch (err) {
      if (!(err instanceof HopwireError)) finding('Codec.encode threw a non-HopwireError', Buffer.alloc(0), {}, err);
      countError('codec.encode', err.code);
      return { kind, id, payload: 'null' };
    }
    const input: FrameInput = { kind, id, flags: e.tagged ? FrameFlags.TAGGED : 0, type: e.type, payload: e.payload, attachments: e.attachments };
    fromCodec.add(input);
    return input;
  }
  if (which < 8) {
    const attachments = randomAttachments(r);
    const json = JSON.stringify(randomTaggedJson(r, 0, attachments.length));
    return { kind, id, flags: FrameFlags.TAGGED, type: randomTypeName(r), payload: json, attachments };
  }
  if (which < 9) return { kind, id, flags: r.int(2), type: randomTypeName(r), payload: r.bytes(r.int(40)), attachments: randomAttachments(r) };
  return { kind, id };
}

function randomStream(r: Rng, g: GenState, withMagic: boolean): { bytes: Buffer; inputs: FrameInput[] } {
  const inputs = Array.from({ length: 1 + r.int(4) }, () => randomFrameInput(r, g));
  const parts = inputs.map((f) => {
    try {
      return encodeFrameToBuffer(f);
    } catch (err) {
      // The encoder throws RangeError for fields too wide; what the codec produced must always fit.
      return finding('encodeFrame rejected a frame built from Codec.encode output', Buffer.from(JSON.stringify({ ...f, payload: String(f.payload) })), {}, err);
    }
  });
  if (withMagic) parts.unshift(MAGIC);
  return { bytes: Buffer.concat(parts), inputs };
}

const INTERESTING_U8 = [0x00, 0x01, 0x08, 0x09, 0x10, 0x7f, 0x80, 0x89, 0xfe, 0xff];
const INTERESTING_U32 = [0, 1, 15, 16, 17, 20, 255, 256, 0xffff, 0x1_0000, 0x100_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

function mutate(r: Rng, input: Buffer, donor: Buffer): Buffer {
  let b = Buffer.from(input);
  const n = 1 + r.int(r.chance(0.8) ? 2 : 6);
  for (let m = 0; m < n; m++) {
    const at = r.int(b.length + 1);
    switch (r.int(9)) {
      case 0:
        if (at < b.length) b[at] = (b[at] ?? 0) ^ (1 << r.int(8));
        break;
      case 1:
        if (at < b.length) b[at] = r.pick(INTERESTING_U8);
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32BE(r.chance(0.3) ? Math.max(0, b.length - at - 4 + r.int(5) - 2) : r.pick(INTERESTING_U32), at);
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(24))]);
        break;
      case 5: {
        const from = r.int(b.length + 1);
        const slice = b.subarray(from, from + 1 + r.int(40));
        b = Buffer.concat([b.subarray(0, at), slice, b.subarray(at)]);
        break;
      }
      case 6: {
        const from = r.int(donor.length + 1);
        b = Buffer.concat([b.subarray(0, at), donor.subarray(from, from + 1 + r.int(60)), b.subarray(at + r.int(8))]);
        break;
      }
      case 7:
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(8)), b.subarray(at)]);
        break;
      default:
        // Duplicate the whole input (a second copy of every frame, and of the magic).
        b = Buffer.concat([b, b]);
        break;
    }
  }
  return b;
}

// ---------------------------------------------------------------- running the frame decoder

interface FrameRun {
  frames: Frame[];
  error: HopwireError | undefined;
}

/** Checks a failed decoder: a HopwireError of its own, no bytes held, the same error on every later push. */
function checkFailed(decoder: FrameDecoder, err: unknown, input: Buffer, options: FrameDecoderOptions): HopwireError {
  if (!(err instanceof HopwireError)) return finding('FrameDecoder threw a non-HopwireError', input, { options }, err);
  if (err.cause !== undefined) finding('FrameDecoder wrapped an internal error in a HopwireError', input, { options }, err);
  if (!decoder.failed || decoder.error !== err || decoder.bufferedBytes !== 0) {
    finding('FrameDecoder failed but is not failed, reports another error, or still holds bytes', input, { failed: decoder.failed, bufferedBytes: decoder.bufferedBytes }, err);
  }
  let again: unknown;
  try {
    decoder.push(Buffer.from([0]));
  } catch (e) {
    again = e;
  }
  if (again !== err) finding('FrameDecoder did not stay failed with the same error', input, {}, again);
  return err;
}

/**
 * Pushes the chunks. A failure is either thrown (no whole frame before it in
 * that push) or reported by `failed`/`error` after returning the whole frames
 * before it; both end the run.
 */
function runFrames(input: Buffer, chunks: readonly Buffer[], options: FrameDecoderOptions): FrameRun {
  const decoder = new FrameDecoder(options);
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    let out: Frame[];
    try {
      out = decoder.push(chunk);
    } catch (err) {
      return { frames, error: checkFailed(decoder, err, input, options) };
    }
    for (const frame of out) {
      if (frame.kind < 1 || frame.kind > MAX_FRAME_KIND || (frame.flags & ~KNOWN_FLAGS) !== 0 || Buffer.byteLength(frame.type) > 255 * 3) {
        finding('FrameDecoder returned an invalid frame', input, { kind: frame.kind, flags: frame.flags });
      }
      frames.push(frame);
    }
    if (decoder.failed) {
      if (out.length === 0) finding('FrameDecoder failed without throwing and without frames', input, { options });
      return { frames, error: checkFailed(decoder, decoder.error, input, options) };
    }
  }
  if (decoder.error !== undefined) finding('FrameDecoder has an error but is not failed', input, { options }, decoder.error);
  return { frames, error: undefined };
}

function sameFrame(a: Frame, b: Frame): boolean {
  return (
    a.kind === b.kind &&
    a.flags === b.flags &&
    a.id === b.id &&
    a.type === b.type &&
    a.payload.equals(b.payload) &&
    a.attachments.length === b.attachments.length &&
    a.attachments.every((x, i) => b.attachments[i]?.equals(x) === true)
  );
}

function describeFrames(frames: readonly Frame[]): string {
  return JSON.stringify(
    frames.map((f) => ({ kind: f.kind, flags: f.flags, id: f.id, type: f.type, payload: f.payload.toString('hex'), attachments: f.attachments.map((a) => a.toString('hex')) })),
  );
}

/** Decodes a frame's payload as tagged JSON; anything but a HopwireError is a finding. */
function decodeFramePayload(frame: Frame, input: Buffer): void {
  try {
    codec.decode(frame.type, frame.payload, frame.attachments, true);
    stats.values++;
  } catch (err) {
    if (!(err instanceof HopwireError)) {
      finding('Codec.decode threw a non-HopwireError', input, { frame: describeFrames([frame]), payload: frame.payload.toString('utf8').slice(0, 2000) }, err);
    }
    countError('codec.decode', err.code);
  }
}

/** Decodes `input` whole and in random chunks; checks they agree; decodes the payloads. */
function fuzzFrames(r: Rng, input: Buffer, options: FrameDecoderOptions, expected?: readonly FrameInput[]): void {
  const whole = runFrames(input, [input], options);
  const cuts = randomCuts(r, input.length);
  const chunked = runFrames(input, cutAt(input, cuts), options);
  // The whole frames before any failure, and the failure's code, must not depend on chunking.
  if (chunked.frames.length !== whole.frames.length || chunked.frames.some((f, i) => whole.frames[i] === undefined || !sameFrame(f, whole.frames[i]))) {
    finding('chunking changed the frames', input, { cuts, options, whole: describeFrames(whole.frames), chunked: describeFrames(chunked.frames) });
  }
  if (chunked.error?.code !== whole.error?.code) {
    finding('chunking changed the outcome', input, { cuts, options, whole: whole.error?.message ?? 'no error', chunked: chunked.error?.message ?? 'no error' });
  }
  if (whole.error !== undefined) countError('FrameDecoder', whole.error.code);
  if (expected !== undefined) {
    const ok =
      whole.error === undefined &&
      whole.frames.length === expected.length &&
      expected.every((e, i) => {
        const f = whole.frames[i];
        if (f === undefined) return false;
        const payload = e.payload ?? '';
        return (
          f.kind === e.kind &&
          f.flags === (e.flags ?? 0) &&
          f.id === (e.id ?? 0) &&
          f.type === (e.type ?? '') &&
          f.payload.equals(typeof payload === 'string' ? Buffer.from(payload) : payload) &&
          f.attachments.length === (e.attachments ?? []).length &&
          (e.attachments ?? []).every((a, j) => f.attachments[j]?.equals(a) === true)
        );
      });
    if (!ok) finding('a valid stream did not decode to its frames', input, { error: whole.error?.message ?? 'none', frames: describeFrames(whole.frames) });
  }
  stats.frames += chunked.frames.length;
  for (const frame of chunked.frames) decodeFramePayload(frame, input);
}

/** The codec's output as plain data, for comparison. */
interface Encoding {
  type: string;
  payload: string;
  tagged: boolean;
  attachments: Buffer[];
}

function decodeEncoding(e: Encoding, bytes: Buffer, step: string): unknown {
  try {
    return codec.decode(e.type, e.payload, e.attachments, e.tagged).value;
  } catch (err) {
    return finding(`Codec.decode rejected what Codec.encode wrote (${step})`, bytes, { type: e.type, payload: e.payload.slice(0, 4000) }, err);
  }
}

function encodeValue(value: unknown, bytes: Buffer, step: string): Encoding {
  try {
    const e = codec.encode(value);
    return { ...e, attachments: e.attachments.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)) };
  } catch (err) {
    return finding(`Codec.encode rejected a value Codec.decode returned (${step})`, bytes, {}, err);
  }
}

/**
 * What the codec encodes, it must decode; and after one decode (which drops
 * functions, unboxes primitives and so on) encode → decode → encode must be
 * stable, byte for byte. Skipped for values holding unregistered classes,
 * which decode to plain objects by design.
 */
function checkRoundTrip(input: FrameInput, g: GenState, bytes: Buffer): void {
  if (!fromCodec.has(input) || g.unregistered || typeof input.payload !== 'string') return;
  const first: Encoding = {
    type: input.type ?? '',
    payload: input.payload,
    tagged: ((input.flags ?? 0) & FrameFlags.TAGGED) !== 0,
    attachments: (input.attachments ?? []).map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
  };
  const second = encodeValue(decodeEncoding(first, bytes, 'first'), bytes, 'second');
  const third = encodeValue(decodeEncoding(second, bytes, 'second'), bytes, 'third');
  const same =
    third.type === second.type &&
    third.payload === second.payload &&
    third.tagged === second.tagged &&
    third.attachments.length === second.attachments.length &&
    third.attachments.every((a, i) => second.attachments[i]?.equals(a) === true);
  if (!same) {
    finding('encode → decode → encode is not stable', bytes, {
      original: first.payload.slice(0, 2000),
      second: second.payload.slice(0, 2000),
      third: third.payload.slice(0, 2000),
      types: [first.type, second.type, third.type],
    });
  }
  stats.roundTrips++;
}

// ---------------------------------------------------------------- lines

const TERMINATORS = ['\n', '\n', '\n', '\r\n', 'END', '\u0000', 'é', 'ENEND'];

/** `JSON.stringify` (BigInts as strings), typed honestly: undefined for undefined, functions and symbols. */
function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function randomJsonText(r: Rng): string {
  const g: GenState = { unregistered: false };
  try {
    return jsonText(randomValue(r, 1, g)) ?? 'null';
  } catch {
    return '{}';
  }
}

function randomLineStream(r: Rng): { bytes: Buffer; options: LineDecoderOptions } {
  const terminator = r.pick(TERMINATORS);
  const options: LineDecoderOptions = { terminator };
  if (r.chance(0.4)) options.maxLineBytes = 1 + r.int(120);
  const parts: Buffer[] = [];
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) {
    switch (r.int(8)) {
      case 0:
        parts.push(r.bytes(r.int(30)));
        break;
      case 1:
        parts.push(Buffer.from(r.pick(['', ' ', '\t', '\r', ' \r'])));
        break;
      case 2:
        parts.push(Buffer.from(JSON.stringify('x'.repeat(r.int(300)))));
        break;
      case 3:
        parts.push(Buffer.concat([Buffer.from('"'), Buffer.from([r.pick([0xff, 0xc0, 0xe2, 0xed, 0xf4])]), Buffer.from('"')]));
        break;
      case 4:
        parts.push(Buffer.from(r.pick(['{', '[1,', '"unterminated', 'nul', '{"a":1}{"b":2}', '1 2', '{"$hw":"u"}', '{"__proto__":{"x":1}}'])));
        break;
      default:
        parts.push(Buffer.from(randomJsonText(r) + (r.chance(0.1) ? '\r' : '')));
    }
    if (i < n - 1 || r.chance(0.7)) parts.push(Buffer.from(terminator));
  }
  let bytes: Buffer = Buffer.concat(parts);
  if (r.chance(0.2)) bytes = mutate(r, bytes, Buffer.from(terminator.repeat(3)));
  return { bytes, options };
}

interface LineRun {
  results: LineResult[];
  error: HopwireError | undefined;
  buffered: number;
}

function runLines(input: Buffer, chunks: readonly Buffer[], options: LineDecoderOptions): LineRun {
  const decoder = new LineDecoder(options);
  const results: LineResult[] = [];
  for (const chunk of chunks) {
    try {
      results.push(...decoder.push(chunk));
    } catch (err) {
      if (!(err instanceof HopwireError)) finding('LineDecoder threw a non-HopwireError', input, { options }, err);
      if (!decoder.failed) finding('LineDecoder threw but is not failed', input, { options }, err);
      let again: unknown;
      try {
        decoder.push(Buffer.from('1\n'));
      } catch (e) {
        again = e;
      }
      if (again !== err) finding('LineDecoder did not stay failed with the same error', input, { options }, again);
      return { results, error: err, buffered: decoder.bufferedBytes };
    }
  }
  for (const result of results) {
    if (!result.ok && !(result.error instanceof HopwireError)) finding('LineDecoder returned an error result that is not a HopwireError', input, { options });
  }
  return { results, error: undefined, buffered: decoder.bufferedBytes };
}

function resultKey(result: LineResult): string {
  return result.ok ? `ok ${JSON.stringify(result.value)}` : `bad ${result.error.code} ${JSON.stringify(result.line)}`;
}

function fuzzLines(r: Rng): Buffer {
  const { bytes, options } = randomLineStream(r);
  const whole = runLines(bytes, [bytes], options);
  const cuts = randomCuts(r, bytes.length);
  const chunked = runLines(bytes, cutAt(bytes, cuts), options);
  if ((whole.error === undefined) !== (chunked.error === undefined) || whole.error?.code !== chunked.error?.code) {
    finding('chunking changed whether the LineDecoder failed', bytes, { options, cuts, whole: whole.error?.message ?? 'no error', chunked: chunked.error?.message ?? 'no error' });
  }
  if (whole.error === undefined) {
    const a = whole.results.map(resultKey);
    const b = chunked.results.map(resultKey);
    if (a.length !== b.length || a.some((k, i) => k !== b[i]) || whole.buffered !== chunked.buffered) {
      finding('chunking changed the lines', bytes, { options, cuts, whole: a, chunked: b, bufferedWhole: whole.buffered, bufferedChunked: chunked.buffered });
    }
  } else {
    countError('LineDecoder', whole.error.code);
  }
  for (const result of chunked.results) {
    stats.lines++;
    if (!result.ok) {
      stats.badLines++;
      countError('LineDecoder', `${result.error.code} (result)`);
    }
  }
  return bytes;
}

// ---------------------------------------------------------------- one input

function pickCategory(r: Rng): Category {
  const x = r.next();
  if (x < 0.15) return 'frame-random';
  if (x < 0.5) return 'frame-mutated';
  if (x < 0.6) return 'frame-valid';
  if (x < 0.75) return 'codec';
  return 'lines';
}

function runInput(index: number): number {
  currentIndex = index;
  const r = new Rng(inputSeed(SEED, index));
  const category = pickCategory(r);
  currentCategory = category;
  stats.byCategory.set(category, (stats.byCategory.get(category) ?? 0) + 1);
  const expectMagic = r.chance(0.5);
  const options: FrameDecoderOptions = { expectMagic };
  if (r.chance(0.5)) options.maxFrameBytes = r.pick([16, 64, 256, 4096]);
  if (r.chance(0.3)) options.maxAttachments = r.int(6);

  switch (category) {
    case 'frame-random': {
      let bytes = r.bytes(r.int(256));
      if (r.chance(0.3)) {
        const header = Buffer.alloc(20);
        header.writeUInt32BE(16 + r.int(64), 0);
        header[4] = 1 + r.int(8);
        bytes = Buffer.concat([header.subarray(0, 4 + r.int(17)), bytes]);
      }
      if (expectMagic && r.chance(0.5)) bytes = Buffer.concat([MAGIC, bytes]);
      fuzzFrames(r, bytes, options);
      return bytes.length;
    }
    case 'frame-mutated': {
      const g: GenState = { unregistered: false };
      const { bytes } = randomStream(r, g, expectMagic);
      const donor = randomStream(r, g, false).bytes;
      const mutated = mutate(r, bytes, donor);
      fuzzFrames(r, mutated, options);
      return mutated.length;
    }
    case 'frame-valid':
    case 'codec': {
      const g: GenState = { unregistered: false };
      let inputs: FrameInput[];
      let bytes: Buffer;
      if (category === 'frame-valid') {
        ({ bytes, inputs } = randomStream(r, g, expectMagic));
        for (const input of inputs) checkRoundTrip(input, g, bytes);
      } else {
        inputs = Array.from({ length: 1 + r.int(3) }, () => {
          const attachments = randomAttachments(r);
          const json = JSON.stringify(randomTaggedJson(r, 0, attachments.length));
          return { kind: r.pick([FrameKind.MESSAGE, FrameKind.REQUEST, FrameKind.REPLY]), id: 1 + r.int(100), flags: FrameFlags.TAGGED, type: randomTypeName(r), payload: json, attachments };
        });
        bytes = Buffer.concat([...(expectMagic ? [MAGIC] : []), ...inputs.map((f) => encodeFrameToBuffer(f))]);
      }
      // Valid streams must decode: no size limits here.
      const valid: FrameDecoderOptions = { expectMagic, maxFrameBytes: 1 << 24 };
      fuzzFrames(r, bytes, valid, inputs);
      return bytes.length;
    }
    default:
      return fuzzLines(r).length;
  }
}

// ---------------------------------------------------------------- main

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function main(): void {
  if (ONLY !== undefined) {
    if (!Number.isSafeInteger(ONLY) || ONLY < 0) {
      console.error('FUZZ_INDEX must be a non-negative integer');
      process.exit(2);
    }
    console.log(`hopwire fuzz: replaying input #${ONLY} of seed ${SEED}`);
    const bytes = runInput(ONLY);
    console.log(`input #${ONLY} (${currentCategory}, ${bytes} bytes): no finding`);
    return;
  }

  console.log(`hopwire fuzz: ${fmt(COUNT)} inputs, seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const start = process.hrtime.bigint();
  const step = Math.max(1, Math.floor(COUNT / 10));
  for (let i = 0; i < COUNT; i++) {
    stats.bytes += runInput(i);
    stats.inputs++;
    if ((i + 1) % step === 0 && i + 1 < COUNT) {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      console.log(`  ${fmt(i + 1)} inputs, ${s.toFixed(1)} s`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  const pad = 18;
  console.log('');
  console.log('summary');
  console.log(`  ${'seed'.padEnd(pad)}${SEED}`);
  console.log(`  ${'inputs run'.padEnd(pad)}${fmt(stats.inputs)} (${fmt(stats.bytes)} bytes)`);
  for (const c of CATEGORIES) console.log(`    ${c.padEnd(pad - 2)}${fmt(stats.byCategory.get(c) ?? 0)}`);
  console.log(`  ${'frames decoded'.padEnd(pad)}${fmt(stats.frames)}`);
  console.log(`  ${'payloads decoded'.padEnd(pad)}${fmt(stats.values)} (Codec.decode, tagged)`);
  console.log(`  ${'round trips'.padEnd(pad)}${fmt(stats.roundTrips)} (encode → decode → encode)`);
  console.log(`  ${'lines decoded'.padEnd(pad)}${fmt(stats.lines)} (${fmt(stats.badLines)} error results)`);
  console.log('  errors by code (all HopwireError, as expected):');
  for (const [key, n] of [...stats.errors].sort(([a], [b]) => a.localeCompare(b))) console.log(`    ${key.padEnd(44)}${fmt(n)}`);
  console.log(`  ${'time taken'.padEnd(pad)}${seconds.toFixed(1)} s (${fmt(Math.round(stats.inputs / seconds))} inputs/s)`);
  console.log('  findings          none');
}

main();
