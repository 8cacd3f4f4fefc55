import { expect } from 'chai';
import fc from 'fast-check';
import { Codec } from '../src/codec.js';
import { MsgpackCodec } from '../src/codec-msgpack.js';
import type { DecodedValue, EncodedValue } from '../src/codec.js';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import { FrameFlags, FrameKind, encodeFrameToBuffer } from '../src/frame.js';
import type { Frame } from '../src/frame.js';
import { TypeRegistry } from '../src/type-registry.js';

// ---------------------------------------------------------------------------
// Classes

/** Registered with the default wire form; counts constructor calls. */
class Widget {
  static calls = 0;
  name: string;
  count: number;
  made: Date;
  extra: unknown;
  constructor(name: string, count: number, made: Date = new Date(0), extra?: unknown) {
    Widget.calls++;
    this.name = name;
    this.count = count;
    this.made = made;
    this.extra = extra;
  }
  label(): string {
    return `${this.name}×${this.count}`;
  }
}

/** Registered; holds other instances. */
class Gear {
  teeth: number;
  inner: unknown;
  constructor(teeth: number, inner: unknown = null) {
    this.teeth = teeth;
    this.inner = inner;
  }
  double(): number {
    return this.teeth * 2;
  }
}

/** Registered under a custom name with toWire/fromWire hooks. */
class Point {
  static fromWireCalls = 0;
  readonly x: number;
  readonly y: number;
  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** Registered; its fromWire hook always throws. */
class Fragile {
  v = 1;
}

/** Never registered anywhere. */
class Stranger {
  a = 1;
  b: unknown = 'two';
}

function makeRegistry(): TypeRegistry {
  return new TypeRegistry([
    Widget,
    Gear,
    [
      Point,
      {
        name: 'geo.Point',
        toWire: (p: Point) => [p.x, p.y],
        fromWire: (data: unknown) => {
          Point.fromWireCalls++;
          if (!Array.isArray(data) || typeof data[0] !== 'number' || typeof data[1] !== 'number') {
            throw new TypeError('geo.Point needs [x, y]');
          }
          return new Point(data[0], data[1]);
        },
      },
    ],
    [
      Fragile,
      {
        fromWire: () => {
          throw new Error('fromWire always fails');
        },
      },
    ],
  ]);
}

const registry = makeRegistry();
const codec = new Codec(registry);

// ---------------------------------------------------------------------------
// Helpers

/** Attachments as the receiver gets them: Buffers sharing the sender's memory. */
function toBuffers(attachments: readonly Uint8Array[]): Buffer[] {
  return attachments.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

function frameOf(e: EncodedValue): Buffer {
  return encodeFrameToBuffer({
    kind: FrameKind.MESSAGE,
    flags: e.tagged ? FrameFlags.TAGGED : 0,
    type: e.type,
    payload: e.payload,
    attachments: e.attachments,
  });
}

/** Runs `bytes` through a fresh FrameDecoder, placed `pad` bytes into a larger buffer. */
function receive(bytes: Buffer, pad = 0): Frame {
  const holder = Buffer.alloc(bytes.length + pad);
  bytes.copy(holder, pad);
  const frames = new FrameDecoder().push(holder.subarray(pad));
  expect(frames).to.have.length(1);
  return frames[0]!;
}

function decodeFrame(c: Codec, frame: Frame): DecodedValue {
  return c.decode(frame.type, frame.payload, frame.attachments, (frame.flags & FrameFlags.TAGGED) !== 0);
}

/** encode → decode. */
function roundTrip(value: unknown, c: Codec = codec): DecodedValue {
  const e = c.encode(value);
  return c.decode(e.type, e.payload, toBuffers(e.attachments), e.tagged);
}

/** encode → frame bytes → FrameDecoder → decode. */
function wireTrip(value: unknown, c: Codec = codec, pad = 0): DecodedValue {
  return decodeFrame(c, receive(frameOf(c.encode(value)), pad));
}

/** Both trips, to check each result the same way. */
function trips(value: unknown, c: Codec = codec): DecodedValue[] {
  return [roundTrip(value, c), wireTrip(value, c)];
}

/** The decoded values of both trips. */
function both(value: unknown, c: Codec = codec): unknown[] {
  return trips(value, c).map((d) => d.value);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return expect.fail('expected an error to be thrown');
}

/** Asserts `fn` throws a HopwireError with `code` (and nothing else). */
function expectCode(fn: () => unknown, code: ErrorCode): HopwireError {
  const err = caught(fn);
  expect(err).to.be.instanceOf(HopwireError);
  expect((err as HopwireError).code).to.equal(code);
  return err as HopwireError;
}

function show(v: unknown): string {
  if (typeof v === 'object' && v !== null) return Object.prototype.toString.call(v);
  if (Object.is(v, -0)) return '-0';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v.toString()}n`;
  return String(v);
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Buffer {
  return v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * The first structural difference between `actual` and `expected`, or
 * undefined. Stricter than chai's deep equality: numbers by `Object.is`,
 * exact prototypes (a null prototype in `expected` counts as a plain
 * object), binary data by type and bytes, Errors by name, message and code.
 * A hole in `expected` matches `undefined`.
 */
function difference(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (typeof expected !== 'object' || expected === null) {
    return Object.is(actual, expected) ? undefined : `${path}: got ${show(actual)}, expected ${show(expected)}`;
  }
  if (typeof actual !== 'object' || actual === null) return `${path}: got ${show(actual)}, expected an object`;
  const proto = (Object.getPrototypeOf(expected) as object | null) ?? Object.prototype;
  if (Object.getPrototypeOf(actual) !== proto) return `${path}: got ${show(actual)}, expected ${show(expected)} (prototype)`;
  if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) {
    return bytesOf(actual as ArrayBuffer).equals(bytesOf(expected)) ? undefined : `${path}: bytes differ`;
  }
  if (expected instanceof Date) {
    return Object.is((actual as Date).getTime(), expected.getTime()) ? undefined : `${path}: dates differ`;
  }
  if (expected instanceof RegExp) {
    const a = actual as RegExp;
    return a.source === expected.source && a.flags === expected.flags ? undefined : `${path}: ${String(a)} vs ${String(expected)}`;
  }
  if (expected instanceof Error) {
    const a = actual as Error & { code?: unknown };
    const e = expected as Error & { code?: unknown };
    if (a.name !== e.name || a.message !== e.message || a.code !== e.code) return `${path}: errors differ`;
    return undefined;
  }
  if (expected instanceof Map) {
    const a = [...(actual as Map<unknown, unknown>)];
    const e = [...expected];
    if (a.length !== e.length) return `${path}: map of ${a.length}, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i]![0], e[i]![0], `${path}.key(${i})`) ?? difference(a[i]![1], e[i]![1], `${path}.get(${i})`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (expected instanceof Set) {
    const a = [...(actual as Set<unknown>)];
    const e = [...expected];
    if (a.length !== e.length) return `${path}: set of ${a.length}, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i], e[i], `${path}.item(${i})`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (a.length !== expected.length) return `${path}: length ${a.length}, expected ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(a[i], expected[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const aKeys = Object.keys(actual).sort();
  const eKeys = Object.keys(expected).sort();
  if (JSON.stringify(aKeys) !== JSON.stringify(eKeys)) {
    return `${path}: keys ${JSON.stringify(aKeys)}, expected ${JSON.stringify(eKeys)}`;
  }
  for (const key of eKeys) {
    const d = difference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

function expectSame(actual: unknown, expected: unknown): void {
  const d = difference(actual, expected);
  if (d !== undefined) expect.fail(d);
}

/** Own property names of the built-in prototypes a payload could try to pollute. */
function prototypeSnapshot(): string {
  return JSON.stringify([
    Object.getOwnPropertyNames(Object.prototype).sort(),
    Object.getOwnPropertyNames(Array.prototype).sort(),
    Object.getOwnPropertyNames(Function.prototype).sort(),
    Object.getOwnPropertyNames(Widget.prototype).sort(),
  ]);
}

function expectUnpolluted(before: string): void {
  expect(prototypeSnapshot()).to.equal(before);
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).to.equal(undefined);
  expect(probe.evil).to.equal(undefined);
  expect(([] as unknown as Record<string, unknown>).polluted).to.equal(undefined);
}

// ---------------------------------------------------------------------------
// Arbitraries

const dateArb = fc.oneof(fc.date({ noInvalidDate: true }), fc.constant(new Date(Number.NaN)));

const typedArrayArb: fc.Arbitrary<ArrayBufferView> = fc.oneof(
  fc.int8Array({ maxLength: 5 }),
  fc.uint8Array({ maxLength: 5 }),
  fc.uint8ClampedArray({ maxLength: 5 }),
  fc.int16Array({ maxLength: 5 }),
  fc.uint16Array({ maxLength: 5 }),
  fc.int32Array({ maxLength: 5 }),
  fc.uint32Array({ maxLength: 5 }),
  fc.float32Array({ maxLength: 5 }),
  fc.float64Array({ maxLength: 5 }),
  fc.bigInt64Array({ maxLength: 5 }),
  fc.bigUint64Array({ maxLength: 5 }),
);

const binaryArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a).subarray(Math.min(1, a.length))),
  typedArrayArb,
  fc.uint8Array({ maxLength: 16 }).map((a) => a.slice().buffer),
  fc.uint8Array({ minLength: 2, maxLength: 16 }).map((a) => new DataView(a.buffer, 1)),
);

const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  dateArb,
  binaryArb,
  fc.constantFrom(/a+b/giu, /^\/$/m, new RegExp('x{2,}', 'sy')),
  fc
    .record({ name: fc.constantFrom('Error', 'TypeError', 'Oops'), message: fc.string({ maxLength: 8 }), code: fc.option(fc.oneof(fc.string({ maxLength: 4 }), fc.integer())) })
    .map(({ name, message, code }) => {
      const err = new Error(message);
      err.name = name;
      return code === null ? err : Object.assign(err, { code });
    }),
);

const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('$hw', '__proto__', 'constructor', 'toString', 'n', 'v') },
);

/** Values of every kind the codec carries; with `strangers`, also instances of an unregistered class. */
function valueArbitrary(strangers: boolean): fc.Arbitrary<unknown> {
  return fc.letrec<Record<string, unknown>>((tie) => ({
    value: fc.oneof(
      { maxDepth: 4, depthSize: 'small' },
      leafArb,
      tie('array'),
      tie('sparse'),
      tie('object'),
      tie('map'),
      tie('set'),
      tie('widget'),
      tie('gear'),
      tie('point'),
      strangers ? tie('stranger') : tie('object'),
    ),
    array: fc.array(tie('value'), { maxLength: 4 }),
    sparse: fc.sparseArray(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(keyArb, tie('value'), { maxKeys: 4, noNullPrototype: true }),
    map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((pairs) => new Map(pairs)),
    set: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    widget: fc
      .tuple(fc.string({ maxLength: 6 }), fc.integer(), dateArb, tie('value'))
      .map(([name, count, made, extra]) => new Widget(name, count, made, extra)),
    gear: fc.tuple(fc.nat(), tie('value')).map(([teeth, inner]) => new Gear(teeth, inner)),
    point: fc.tuple(fc.double(), fc.double()).map(([x, y]) => new Point(x, y)),
    stranger: tie('value').map((b) => Object.assign(new Stranger(), { b })),
  })).value!;
}

const valueArb = valueArbitrary(false);

// ---------------------------------------------------------------------------

describe('Codec', () => {
  describe('round trip of built-in types', () => {
    it('Date, including an invalid Date', () => {
      const dates = [new Date(0), new Date(1_700_000_000_123), new Date(-8.64e15), new Date(Number.NaN)];
      for (const out of both({ dates, top: new Date(86_400_000) })) {
        const { dates: got, top } = out as { dates: Date[]; top: Date };
        expect(top).to.be.instanceOf(Date);
        expect(top.getTime()).to.equal(86_400_000);
        expect(got).to.have.length(4);
        for (let i = 0; i < dates.length; i++) {
          expect(got[i]).to.be.instanceOf(Date);
          expect(Object.is(got[i]!.getTime(), dates[i]!.getTime())).to.equal(true);
        }
        expect(Number.isNaN(got[3]!.getTime())).to.equal(true);
      }
      for (const out of both(new Date(42))) expectSame(out, new Date(42));
      for (const out of both(new Date(Number.NaN))) expectSame(out, new Date(Number.NaN));
    });

    it('Map with primitive and object keys, in order', () => {
      const objKey = { id: 7, at: new Date(5) };
      const map = new Map<unknown, unknown>([
        ['a', 1],
        [2, 'two'],
        [objKey, new Map([[1n, [undefined]]])],
        [[1, 2], new Set([3])],
        [null, undefined],
      ]);
      for (const out of both(map)) {
        expect(out).to.be.instanceOf(Map);
        const got = out as Map<unknown, unknown>;
        expect(got.size).to.equal(5);
        expect(got.get('a')).to.equal(1);
        expect(got.get(2)).to.equal('two');
        const keys = [...got.keys()];
        expect(keys[2]).to.deep.equal(objKey);
        expect((keys[2] as { at: unknown }).at).to.be.instanceOf(Date);
        expect(got.get(keys[2])).to.be.instanceOf(Map);
        expect(got.has(null)).to.equal(true);
        expectSame(got, map);
      }
    });

    it('a Map whose keys are all strings travels as an object (tag M), in order, its values revived', () => {
      const map = new Map<string, unknown>([
        ['w', 12],
        ['$hw', 'not a tag'],
        ['toString', new Date(7)],
        ['', new Map([['inner', 1n]])],
        ['x1', undefined],
      ]);
      const e = codec.encode(map);
      expect(e.payload).to.equal(
        '{"$hw":"M","v":{"w":12,"$hw":"not a tag","toString":{"$hw":"d","v":7},"":{"$hw":"M","v":{"inner":{"$hw":"b","v":"1"}}},"x1":{"$hw":"u"}}}',
      );
      for (const out of both(map)) {
        expect(out).to.be.instanceOf(Map);
        expect([...(out as Map<string, unknown>).keys()]).to.deep.equal(['w', '$hw', 'toString', '', 'x1']);
        expect((out as Map<string, unknown>).get('toString')).to.be.instanceOf(Date);
        expectSame(out, map);
      }
      expect(codec.encode(new Map()).payload).to.equal('{"$hw":"M","v":{}}');
    });

    it('a Map with a key an object would reorder or misread keeps the pairs form (tag m)', () => {
      const maps: Map<unknown, unknown>[] = [
        new Map<unknown, unknown>([['b', 1], ['2', 2], ['a', 3]]), // "2" would move to the front of an object
        new Map<unknown, unknown>([['b', 1], ['0x', 2]]),
        new Map<unknown, unknown>([['__proto__', { polluted: 1 }]]),
        new Map<unknown, unknown>([['a', 1], [2, 2]]),
        // msgpackr would take an object with these keys for a non-plain one and call its toJSON
        new Map<unknown, unknown>([['toJSON', 1], ['constructor', false]]),
        new Map<unknown, unknown>([['constructor', 'x']]),
      ];
      for (const map of maps) {
        expect(codec.encode(map).payload).to.match(/^\{"\$hw":"m","v":\[\[/);
        const packed = new MsgpackCodec(codec);
        const e = packed.encode(map);
        for (const out of [...both(map), packed.decode(e.type, e.payload, [], e.tagged).value]) {
          expect([...(out as Map<unknown, unknown>).keys()]).to.deep.equal([...map.keys()]);
          expectSame(out, map);
        }
      }
    });

    it('decodes an M tag from the wire: own keys in order, __proto__ as a plain key', () => {
      const { value } = codec.decode('', '{"$hw":"M","v":{"b":1,"__proto__":{"polluted":1},"a":{"$hw":"d","v":0}}}', [], true);
      const map = value as Map<string, unknown>;
      expect(map).to.be.instanceOf(Map);
      expect([...map.keys()]).to.deep.equal(['b', '__proto__', 'a']);
      expect(map.get('__proto__')).to.deep.equal({ polluted: 1 });
      expect(map.get('a')).to.be.instanceOf(Date);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('Set, in order, with objects in it', () => {
      const set = new Set<unknown>(['x', 1, { a: 1 }, [2], new Date(3), null]);
      for (const out of both({ set })) {
        const got = (out as { set: Set<unknown> }).set;
        expect(got).to.be.instanceOf(Set);
        expect(got.has('x')).to.equal(true);
        expect(got.has(1)).to.equal(true);
        expectSame(got, set);
      }
    });

    it('BigInt: zero, negative, beyond 64 bits, huge', () => {
      const values = [0n, -1n, 2n ** 64n + 1n, -(2n ** 63n), -(7n ** 1000n), 10n ** 5000n];
      for (const out of both(values)) expect(out).to.deep.equal(values);
      for (const out of both(-(3n ** 200n))) expect(out).to.equal(-(3n ** 200n));
    });

    it('Buffer, including an empty one and a slice of the shared pool', () => {
      const pooled = Buffer.from('hello, world');
      expect(pooled.byteOffset !== 0 || pooled.buffer.byteLength > pooled.length).to.equal(true); // a view on a bigger buffer
      const value = { pooled, empty: Buffer.alloc(0), bytes: Buffer.from([0, 255, 128, 7]) };
      for (const out of both(value)) {
        const got = out as typeof value;
        expect(Buffer.isBuffer(got.pooled)).to.equal(true);
        expect(got.pooled.toString()).to.equal('hello, world');
        expect(got.empty.length).to.equal(0);
        expect([...got.bytes]).to.deep.equal([0, 255, 128, 7]);
        expectSame(got, value);
      }
    });

    it('every typed array kind, including views at an offset', () => {
      const backing = new ArrayBuffer(64);
      const arrays: ArrayBufferView[] = [
        Int8Array.from([-128, -1, 0, 127]),
        Uint8Array.from([0, 1, 255]),
        Uint8ClampedArray.from([0, 128, 255]),
        Int16Array.from([-32768, -1, 32767]),
        Uint16Array.from([0, 65535]),
        Int32Array.from([-2147483648, 2147483647]),
        Uint32Array.from([0, 4294967295]),
        Float32Array.from([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY]),
        Float64Array.from([Math.PI, -0, Number.NaN, Number.NEGATIVE_INFINITY, Number.MIN_VALUE]),
        BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]),
        BigUint64Array.from([0n, 2n ** 64n - 1n]),
        new Float64Array(backing, 8, 2).fill(2.5),
        new Uint16Array(backing, 2, 3).fill(9),
      ];
      for (const out of both(arrays)) {
        const got = out as ArrayBufferView[];
        for (let i = 0; i < arrays.length; i++) {
          const want = arrays[i]!;
          expect(got[i]!.constructor).to.equal(want.constructor);
          expect(got[i]!.byteLength).to.equal(want.byteLength);
          expect([...(got[i] as unknown as Iterable<unknown>)]).to.deep.equal([...(want as unknown as Iterable<unknown>)]);
        }
        expectSame(got, arrays);
      }
      expect(codec.encode(arrays[11]).attachments[0]!.byteLength).to.equal(16); // only the view's bytes travel
    });

    it('DataView and ArrayBuffer', () => {
      const ab = Uint8Array.from([1, 2, 3, 4, 5, 6]).buffer;
      const view = new DataView(ab, 2, 3);
      for (const out of both({ ab, view })) {
        const got = out as { ab: ArrayBuffer; view: DataView };
        expect(got.ab).to.be.instanceOf(ArrayBuffer);
        expect([...new Uint8Array(got.ab)]).to.deep.equal([1, 2, 3, 4, 5, 6]);
        expect(got.view).to.be.instanceOf(DataView);
        expect(got.view.byteLength).to.equal(3);
        expect([got.view.getUint8(0), got.view.getUint8(1), got.view.getUint8(2)]).to.deep.equal([3, 4, 5]);
      }
      for (const out of both(ab)) expectSame(out, ab);
    });

    it('undefined in arrays, as a property value (the key stays), and at the top level', () => {
      const value = { k: undefined, list: [undefined, 1, undefined], nested: { deep: undefined } };
      for (const out of both(value)) {
        const got = out as typeof value;
        expect('k' in got).to.equal(true);
        expect(got.k).to.equal(undefined);
        expect('deep' in got.nested).to.equal(true);
        expect(got.list).to.have.length(3);
        expect(got.list[0]).to.equal(undefined);
        expect(got.list[2]).to.equal(undefined);
      }
      for (const out of both(undefined)) expect(out).to.equal(undefined);
    });

    it('holes in arrays come back as undefined (JSON would give null), length kept', () => {
      // eslint-disable-next-line no-sparse-arrays
      const sparse = [, 1, , 'x', ,] as unknown[];
      expect(sparse).to.have.length(5);
      for (const out of both({ sparse })) {
        const got = (out as { sparse: unknown[] }).sparse;
        expect(got).to.have.length(5);
        expect([got[0], got[2], got[4]]).to.deep.equal([undefined, undefined, undefined]);
        expect([got[1], got[3]]).to.deep.equal([1, 'x']);
      }
    });

    it('NaN, ±Infinity and -0, at the top level and nested', () => {
      const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
      for (const out of both({ specials, neg: -0 })) {
        const got = out as { specials: number[]; neg: number };
        expect(got.specials.map((n) => (Object.is(n, -0) ? '-0' : String(n)))).to.deep.equal(['NaN', 'Infinity', '-Infinity', '-0', '0']);
        expect(Object.is(got.neg, -0)).to.equal(true);
      }
      for (const n of specials) for (const out of both(n)) expect(Object.is(out, n)).to.equal(true);
    });

    it('RegExp keeps source and flags', () => {
      const re = /a+(b)?\/c[\]]/giu;
      for (const out of both({ re })) {
        const got = (out as { re: RegExp }).re;
        expect(got).to.be.instanceOf(RegExp);
        expect(got.source).to.equal(re.source);
        expect(got.flags).to.equal('giu');
        expect(new RegExp(got.source, 'u').test('AAb/c]'.toLowerCase())).to.equal(true);
      }
    });

    it('Error keeps name, message and code, and carries no stack from the sender', () => {
      const typed = Object.assign(new TypeError('boom'), { code: 'E_BOOM' });
      const numbered = Object.assign(new Error('numbered'), { code: 42 });
      for (const out of both({ typed, numbered, plain: new Error('') })) {
        const got = out as Record<string, Error & { code?: unknown }>;
        expect(got.typed).to.be.instanceOf(Error);
        expect(got.typed!.name).to.equal('TypeError');
        expect(got.typed!.message).to.equal('boom');
        expect(got.typed!.code).to.equal('E_BOOM');
        expect(got.numbered!.code).to.equal(42);
        expect(got.plain!.message).to.equal('');
        expect('code' in got.plain!).to.equal(false);
        for (const err of Object.values(got)) {
          expect(err.stack ?? '').to.not.include('\n    at ');
          expect(err.stack ?? '').to.not.include('codec.test');
        }
      }
    });

    it('null-prototype objects arrive as plain objects', () => {
      const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, d: new Date(1) });
      for (const out of both(bare)) {
        expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
        expectSame(out, bare);
      }
    });
  });

  describe('class instances', () => {
    it('a registered class at the top level comes back as an instance, without calling its constructor', () => {
      const w = new Widget('bolt', 3, new Date(99));
      const calls = Widget.calls;
      for (const d of trips(w)) {
        expect(d.type).to.equal('Widget');
        expect(d.known).to.equal(true);
        expect(d.unknownTypes).to.deep.equal([]);
        const got = d.value as Widget;
        expect(got).to.be.instanceOf(Widget);
        expect(Object.getPrototypeOf(got)).to.equal(Widget.prototype);
        expect(got.label()).to.equal('bolt×3');
        expect(got.made).to.be.instanceOf(Date);
        expect(got.made.getTime()).to.equal(99);
        expect('extra' in got).to.equal(true);
      }
      expect(Widget.calls).to.equal(calls);
    });

    it('toWire and fromWire shape the wire form and rebuild the instance', () => {
      const calls = Point.fromWireCalls;
      const e = codec.encode({ at: new Point(3, 4) });
      expect(e.payload).to.include('[3,4]');
      expect(e.payload).to.include('geo.Point');
      expect(e.payload).to.not.include('"x"');
      const top = codec.encode(new Point(1, 2));
      expect(top.type).to.equal('geo.Point');
      expect(top.payload).to.equal('[1,2]');
      for (const out of both({ at: new Point(3, 4) })) {
        const p = (out as { at: Point }).at;
        expect(p).to.be.instanceOf(Point);
        expect(p.norm()).to.equal(5);
      }
      for (const d of trips(new Point(1, 2))) {
        expect(d.known).to.equal(true);
        expect(d.value).to.be.instanceOf(Point);
        expect((d.value as Point).y).to.equal(2);
      }
      expect(Point.fromWireCalls).to.equal(calls + 4);
    });

    it('nested instances at any depth: in arrays, Map keys and values, Sets and other instances', () => {
      let chain: unknown = new Widget('core', 0);
      for (let i = 1; i <= 40; i++) chain = new Gear(i, i % 2 === 0 ? [chain] : new Map([['next', chain]]));
      const keyWidget = new Widget('key', 1);
      const value = {
        list: [new Widget('a', 1), [[new Point(1, 1)]]],
        map: new Map<unknown, unknown>([[keyWidget, new Gear(8, new Widget('in-gear', 2, new Date(7)))]]),
        set: new Set([new Gear(3), new Widget('s', 5)]),
        chain,
      };
      for (const out of both(value)) {
        const got = out as typeof value;
        expect((got.list[0] as Widget).label()).to.equal('a×1');
        expect(((got.list[1] as unknown[][])[0]![0] as Point).norm()).to.equal(Math.SQRT2);
        const [[k, v]] = [...got.map] as [[Widget, Gear]];
        expect(k).to.be.instanceOf(Widget);
        expect(k.label()).to.equal('key×1');
        expect(v.double()).to.equal(16);
        expect((v.inner as Widget).made.getTime()).to.equal(7);
        const items = [...got.set] as [Gear, Widget];
        expect(items[0].double()).to.equal(6);
        expect(items[1].label()).to.equal('s×5');
        let node = got.chain as Gear;
        for (let i = 40; i >= 1; i--) {
          expect(node).to.be.instanceOf(Gear);
          expect(node.teeth).to.equal(i);
          node = (i % 2 === 0 ? (node.inner as unknown[])[0] : (node.inner as Map<string, unknown>).get('next')) as Gear;
        }
        expect((node as unknown as Widget).label()).to.equal('core×0');
        expectSame(got, value);
      }
    });

    it('an unregistered class at the top level arrives as a plain object named by the frame type', () => {
      for (const d of trips(new Stranger())) {
        expect(d.type).to.equal('Stranger');
        expect(d.known).to.equal(false);
        expect(Object.getPrototypeOf(d.value)).to.equal(Object.prototype);
        expect(d.value).to.deep.equal({ a: 1, b: 'two' });
      }
    });

    it('a nested unregistered class arrives as a plain object and is listed in unknownTypes once', () => {
      const value = { one: new Stranger(), list: [new Stranger()], w: new Widget('w', 1, new Date(0), new Stranger()) };
      for (const d of trips(value)) {
        expect(d.type).to.equal('');
        expect(d.unknownTypes).to.deep.equal(['Stranger']);
        const got = d.value as { one: object; list: object[]; w: Widget };
        expect(Object.getPrototypeOf(got.one)).to.equal(Object.prototype);
        expect(got.one).to.deep.equal({ a: 1, b: 'two' });
        expect(Object.getPrototypeOf(got.list[0])).to.equal(Object.prototype);
        expect(got.w).to.be.instanceOf(Widget);
        expect(Object.getPrototypeOf(got.w.extra)).to.equal(Object.prototype);
      }
    });

    it('a class the receiver has not registered arrives as plain data, and is reported', () => {
      const receiver = new Codec(new TypeRegistry());
      const e = codec.encode({ g: new Gear(2, new Widget('x', 1)) });
      const d = receiver.decode(e.type, e.payload, toBuffers(e.attachments), e.tagged);
      expect(d.unknownTypes).to.have.members(['Gear', 'Widget']);
      const g = (d.value as { g: { teeth: number; inner: { made: unknown } } }).g;
      expect(Object.getPrototypeOf(g)).to.equal(Object.prototype);
      expect(g.teeth).to.equal(2);
      expect(g.inner.made).to.be.instanceOf(Date);
      const top = codec.encode(new Widget('t', 1));
      const d2 = receiver.decode(top.type, top.payload, [], top.tagged);
      expect(d2.type).to.equal('Widget');
      expect(d2.known).to.equal(false);
      expect(Object.getPrototypeOf(d2.value)).to.equal(Object.prototype);
    });
  });

  describe('$hw escape', () => {
    it('plain objects with a $hw key round-trip unchanged, nested too', () => {
      const values: unknown[] = [
        { $hw: 'd', v: 0 },
        { $hw: 'u' },
        { $hw: 'c', n: 'Widget', v: { name: 'x' } },
        { $hw: { $hw: { $hw: 'a', i: 0, t: 'Buffer' } } },
        { list: [{ $hw: 'n', v: 'NaN' }], map: new Map([['k', { $hw: 's', v: [] }]]) },
        new Widget('w', 1, new Date(0), { $hw: 'b', v: '1' }),
      ];
      for (const value of values) {
        expect(codec.encode(value).tagged).to.equal(true);
        for (const out of both(value)) expectSame(out, value);
      }
    });

    it('an unregistered instance with a $hw property is escaped too', () => {
      const odd = Object.assign(new Stranger(), { $hw: 'u' });
      const alsoOdd = Object.assign(new Stranger(), { $hw: 'zz' });
      for (const d of trips({ odd, alsoOdd })) {
        expect(d.unknownTypes).to.deep.equal(['Stranger']);
        expect(d.value).to.deep.equal({ odd: { a: 1, b: 'two', $hw: 'u' }, alsoOdd: { a: 1, b: 'two', $hw: 'zz' } });
      }
    });
  });

  describe('fast path', () => {
    it('a JSON-native value is sent untagged as exactly JSON.stringify(value)', () => {
      const values: unknown[] = [
        { id: 1, name: 'widget', tags: ['a', 'b'], price: 12.5, ok: true, none: null },
        [1, 'two', [3, { four: 4 }]],
        'text',
        17,
        true,
        null,
        {},
        [],
      ];
      for (const value of values) {
        const e = codec.encode(value);
        expect(e.tagged).to.equal(false);
        expect(e.type).to.equal('');
        expect(e.attachments).to.deep.equal([]);
        expect(e.payload).to.equal(JSON.stringify(value));
        for (const out of both(value)) expect(out).to.deep.equal(value);
      }
    });

    it('function- and symbol-valued properties are dropped as JSON drops them', () => {
      const value = { a: 1, f: () => 1, s: Symbol('s'), nested: { g() {} } };
      const e = codec.encode(value);
      expect(e.tagged).to.equal(false);
      expect(e.payload).to.equal(JSON.stringify(value));
      for (const out of both(value)) {
        expect(out).to.deep.equal({ a: 1, nested: {} });
        expect('f' in (out as object)).to.equal(false);
      }
      for (const out of both([1, () => 2, Symbol('s')])) expect(out).to.deep.equal([1, null, null]); // as JSON has it
      const tagged = { d: new Date(0), f: () => 1, s: Symbol('s'), list: [() => 2], m() {} };
      for (const out of both(tagged)) {
        expect(Object.keys(out as object)).to.deep.equal(['d', 'list']);
        expect((out as { list: unknown[] }).list).to.deep.equal([null]);
      }
    });

    it('symbol-keyed properties are never sent, by either codec, whatever they hold', () => {
      const key = Symbol('s');
      const packed = new MsgpackCodec(codec);
      for (const value of [{ d: new Date(0), [key]: 1n }, Object.assign(new Gear(3, new Date(0)), { [key]: () => 1 })]) {
        const fromJson = roundTrip(value).value;
        const e = packed.encode(value);
        const fromPack = packed.decode(e.type, e.payload, toBuffers(e.attachments), e.tagged).value;
        for (const out of [fromJson, fromPack]) {
          expect(Object.getOwnPropertySymbols(out)).to.deep.equal([]);
          expect(Object.getPrototypeOf(out)).to.equal(Object.getPrototypeOf(value));
        }
      }
    });

    it('an enumerable property a library put on Object.prototype is neither sent nor taken as a key on receipt', () => {
      const proto = Object.prototype as Record<string, unknown>;
      Object.defineProperty(proto, 'injected', { value: { $hw: 'd', v: 0 }, enumerable: true, configurable: true, writable: true });
      let sent: string[];
      let got: unknown[];
      try {
        sent = [
          codec.encode({ d: new Date(0), inner: { n: -0 } }).payload,
          codec.encode(new Gear(1, new Date(0))).payload,
          codec.encode(new Map([['a', { d: new Date(0) }]])).payload,
        ];
        got = [
          codec.decode('', '{"a":{"$hw":"d","v":0},"b":{"c":1}}', [], true).value,
          codec.decode('Gear', '{"teeth":1,"inner":{"$hw":"d","v":0}}', [], true).value,
          codec.decode('Gear', '{"teeth":1,"inner":null}', [], false).value,
          codec.decode('', '{"$hw":"c","n":"Gear","v":{"teeth":1,"inner":{"$hw":"M","v":{"k":{"x":1}}}}}', [], true).value,
        ];
      } finally {
        delete proto.injected;
      }
      for (const text of sent) expect(text).not.to.include('injected');
      const owners: object[] = [];
      const collect = (v: unknown): void => {
        if (v instanceof Map) {
          expect(v.has('injected')).to.equal(false);
          for (const x of v.values()) collect(x);
        } else if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
          owners.push(v);
          for (const x of Object.values(v)) collect(x);
        }
      };
      got.forEach(collect);
      expect(owners.length).to.equal(6);
      for (const o of owners) expect(Object.hasOwn(o, 'injected')).to.equal(false);
      expect((got[1] as Gear).inner).to.be.instanceOf(Date);
      expect((got[3] as Gear).double()).to.equal(2);
    });

    it('anything JSON cannot carry exactly makes the payload tagged', () => {
      const specials: [string, unknown][] = [
        ['Date', new Date(0)],
        ['undefined', undefined],
        ['-0', -0],
        ['NaN', Number.NaN],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['-Infinity', Number.NEGATIVE_INFINITY],
        ['BigInt', 1n],
        ['Map', new Map()],
        ['Set', new Set()],
        ['Buffer', Buffer.alloc(1)],
        ['Uint8Array', new Uint8Array(1)],
        ['ArrayBuffer', new ArrayBuffer(1)],
        ['DataView', new DataView(new ArrayBuffer(1))],
        ['RegExp', /x/],
        ['Error', new Error('x')],
        ['registered instance', new Gear(1)],
        ['unregistered instance', new Stranger()],
        ['$hw key', { $hw: 1 }],
        // eslint-disable-next-line no-sparse-arrays
        ['hole', [, 1]],
      ];
      for (const [name, special] of specials) {
        expect(codec.encode({ x: special }).tagged, `{ x: ${name} }`).to.equal(true);
        expect(codec.encode([[special]]).tagged, `[[${name}]]`).to.equal(true);
      }
    });
  });

  describe('binary data', () => {
    it('travels raw in attachments, never as base64 in the payload', () => {
      const buf = Buffer.alloc(1024, 7);
      const e = codec.encode({ b: buf });
      expect(e.tagged).to.equal(true);
      expect(e.payload.length).to.be.lessThan(100);
      expect(e.payload).to.not.include(buf.toString('base64').slice(0, 16));
      expect(e.payload).to.not.include('7,7,7');
      expect(e.attachments).to.have.length(1);
      expect(e.attachments[0]!.byteLength).to.equal(1024);
      expect(e.attachments[0]!.buffer).to.not.equal(buf.buffer); // small: copied at the call
      const big = Buffer.alloc(128 * 1024, 9);
      expect(codec.encode({ big }).attachments[0]!.buffer).to.equal(big.buffer); // big: a view, not a copy
      const frame = frameOf(e);
      expect(frame.length).to.be.lessThan(1024 + 100);
      const got = (decodeFrame(codec, receive(frame)).value as { b: Buffer }).b;
      expect(got.equals(buf)).to.equal(true);
    });

    it('several attachments keep their order', () => {
      const value = [Buffer.from('first'), new Uint16Array([1, 2]), Buffer.from('third'), { nested: [Buffer.from('fourth')] }];
      const e = codec.encode(value);
      expect(e.attachments).to.have.length(4);
      for (const out of both(value)) expectSame(out, value);
    });

    it('typed arrays decode right wherever the frame puts their bytes, aligned or not', () => {
      const samples: ArrayBufferView[] = [
        Int16Array.from([-2, 300]),
        Uint16Array.from([65535, 1]),
        Int32Array.from([-7, 1 << 30]),
        Uint32Array.from([4294967295]),
        Float32Array.from([1.25, -0]),
        Float64Array.from([Math.E, -1e300]),
        BigInt64Array.from([-5n]),
        BigUint64Array.from([2n ** 64n - 2n]),
        new DataView(Uint8Array.from([9, 8, 7]).buffer),
      ];
      for (const sample of samples) {
        let odd = 0;
        for (let pad = 0; pad < 8; pad++) {
          const frame = receive(frameOf(codec.encode({ x: sample })), pad);
          if (frame.attachments[0]!.byteOffset % 2 === 1) odd++;
          const got = (decodeFrame(codec, frame).value as { x: ArrayBufferView }).x;
          expectSame(got, sample);
        }
        expect(odd, 'some placements start the attachment at an odd offset').to.be.greaterThan(0);
      }
    });

    it('an unaligned attachment handed to decode directly is copied into an aligned array', () => {
      const holder = Buffer.alloc(17);
      const att = holder.subarray(1);
      expect(att.byteOffset % 8).to.not.equal(0);
      Buffer.from(Float64Array.from([1.5, -2.25]).buffer).copy(att);
      const d = codec.decode('', '{"$hw":"a","i":0,"t":"Float64Array"}', [att], true);
      expect(d.value).to.be.instanceOf(Float64Array);
      expect([...(d.value as Float64Array)]).to.deep.equal([1.5, -2.25]);
    });
  });

  describe('encode errors and limits', () => {
    // A deep limit too: a cycle must be named as one, not run into the depth limit.
    const deep = new Codec(registry, { maxDepth: 1000 });

    it('rejects cycles with ERR_ENCODE, not a stack overflow', () => {
      const self: Record<string, unknown> = { a: 1 };
      self.self = self;
      const viaArray: unknown[] = [1];
      viaArray.push({ back: viaArray });
      const viaMap = new Map<string, unknown>();
      viaMap.set('m', { inner: viaMap });
      const viaMapKey = new Map<unknown, unknown>();
      viaMapKey.set({ k: viaMapKey }, 1);
      const viaSet = new Set<unknown>();
      viaSet.add([viaSet]);
      const viaInstance = new Gear(1);
      viaInstance.inner = { g: viaInstance };
      for (const cyclic of [self, { wrap: self }, viaArray, viaMap, viaMapKey, viaSet, viaInstance]) {
        for (const c of [deep, codec]) {
          const err = expectCode(() => c.encode(cyclic), ErrorCode.ENCODE);
          expect(err.message).to.match(/circular/);
        }
      }
    });

    it('names the path where an encode fails', () => {
      const self: Record<string, unknown> = {};
      self.self = self;
      const gear = new Gear(1);
      gear.inner = { back: gear };
      const map = new Map<unknown, unknown>([['ok', 1], ['loop', undefined]]);
      map.set('loop', { m: map });
      const keyed = new Map<unknown, unknown>([[1, 1]]);
      keyed.set({ k: keyed }, 2);
      const set = new Set<unknown>([1]);
      set.add([set]);
      const cases: [unknown, string][] = [
        [{ wrap: self }, 'circular reference at $.wrap.self'],
        [{ list: [1, 2, { d: new Date(0), up: self }] }, 'circular reference at $.list[2].up.self'],
        [{ g: gear }, 'circular reference at $.g<Gear>.inner.back'],
        [{ map }, 'circular reference at $.map.get(1).m'],
        [{ keyed }, 'circular reference at $.keyed.key(1).k'],
        [{ set }, 'circular reference at $.set.item(1)[0]'],
      ];
      for (const [value, message] of cases) {
        for (const c of [deep, codec]) expect(expectCode(() => c.encode(value), ErrorCode.ENCODE).message).to.equal(message);
      }
      const four = new Codec(registry, { maxDepth: 4 });
      expect(expectCode(() => four.encode({ a: [{ b: [new Date(0)] }] }), ErrorCode.ENCODE).message).to.equal('value is nested deeper than maxDepth (4) at $.a[0].b[0]');
      class Float16ish extends Uint16Array {}
      expect(expectCode(() => codec.encode({ x: [0, new Float16ish(2)] }), ErrorCode.ENCODE).message).to.equal('cannot send a Float16ish at $.x[1]');
    });

    it('walks class instances without copying them, reading each own property once', () => {
      let reads = 0;
      class Counted {
        a = 1;
        constructor() {
          Object.defineProperty(this, 'g', { get: () => ++reads, enumerable: true });
        }
      }
      // An enumerable getter on the prototype is not an own property: never read, never sent.
      Object.defineProperty(Counted.prototype, 'inherited', {
        get() {
          throw new Error('inherited getters are not read');
        },
        enumerable: true,
      });
      class Boxed extends String {}
      class Hidden {
        constructor(
          public v: number | undefined,
          public secret = 'hidden',
        ) {}
      }
      const c = new Codec(new TypeRegistry([Counted, Boxed, [Hidden, { toWire: (h: Hidden) => h.v, fromWire: (d: unknown) => new Hidden(d as number | undefined) }]]));
      for (const [value, payload] of [
        [new Counted(), '{"a":1,"g":1}'],
        [{ x: new Counted() }, '{"x":{"$hw":"c","n":"Counted","v":{"a":1,"g":2}}}'],
        [new Boxed('ab'), '{"0":"a","1":"b"}'], // as its own properties, as before
        [{ h: new Hidden(undefined) }, '{"h":{"$hw":"c","n":"Hidden","v":{"$hw":"u"}}}'], // toWire gave undefined: not the own properties
      ] as const) {
        const e = c.encode(value);
        expect(e.payload).to.equal(payload);
        expect(c.decode(e.type, e.payload, [], e.tagged).known).to.equal(e.type !== '');
      }
      expect(reads).to.equal(2);
      const back = c.decode('', '{"h":{"$hw":"c","n":"Hidden","v":{"$hw":"u"}}}', [], true).value as { h: Hidden };
      expect(back.h).to.be.instanceOf(Hidden);
      expect([back.h.v, back.h.secret]).to.deep.equal([undefined, 'hidden']);
      // A cycle back to a top-level instance is named where it closes.
      const gear = new Gear(1);
      gear.inner = { back: gear };
      expect(expectCode(() => codec.encode(gear), ErrorCode.ENCODE).message).to.equal('circular reference at $.inner.back');
    });

    it('adopts only the parser’s own objects: what a fromWire returned keeps its prototype', () => {
      const shared = { kind: 'shared' };
      const frozen = Object.freeze({ kind: 'frozen' });
      class Inner {
        kind = 'inner';
      }
      class Cold {
        kind = 'cold';
      }
      class Outer {
        kind = 'outer';
      }
      const c = new Codec(new TypeRegistry([[Inner, { fromWire: () => shared }], [Cold, { fromWire: () => frozen }], Outer]));
      const { value } = c.decode('', '{"a":{"$hw":"c","n":"Outer","v":{"$hw":"c","n":"Inner","v":{}}}}', [], true);
      expect(Object.getPrototypeOf(shared)).to.equal(Object.prototype);
      expect((value as { a: unknown }).a).to.be.instanceOf(Outer).and.to.not.equal(shared);
      const top = c.decode('Outer', '{"$hw":"c","n":"Cold","v":{}}', [], true).value;
      expect(top).to.be.instanceOf(Outer);
      expect((top as { kind: string }).kind).to.equal('frozen');
      expect(Object.getPrototypeOf(frozen)).to.equal(Object.prototype);
    });

    it('finds cycles far from the root, and shared objects there are no cycle', () => {
      // Past the depth where ancestors are compared one by one (32), they are kept in a Set.
      const chain = (levels: number): Record<string, unknown>[] => {
        const nodes: Record<string, unknown>[] = [{ n: 0 }];
        for (let i = 1; i < levels; i++) {
          const node: Record<string, unknown> = { n: i, when: new Date(i) };
          (nodes[i - 1] as Record<string, unknown>).next = node;
          nodes.push(node);
        }
        return nodes;
      };
      for (const [from, to] of [[40, 35], [40, 5], [33, 32], [31, 30]] as const) {
        const nodes = chain(from + 1);
        const last = nodes[from] as Record<string, unknown>;
        last.back = nodes[to];
        const err = expectCode(() => deep.encode(nodes[0]), ErrorCode.ENCODE);
        expect(err.message).to.equal(`circular reference at $${'.next'.repeat(from)}.back`);
        // A failure deep down leaves nothing behind: the same objects encode once the cycle is gone.
        delete last.back;
        expect(roundTrip(nodes[0], deep).value).to.deep.equal(nodes[0]);
      }
      const nodes = chain(60);
      const shared = { s: new Date(1) };
      for (const node of nodes) node.shared = shared;
      const out = roundTrip(nodes[0], deep).value as Record<string, unknown>;
      let depth = 0;
      for (let node: Record<string, unknown> | undefined = out; node !== undefined; node = node.next as Record<string, unknown> | undefined) {
        expect(node.shared).to.deep.equal(shared);
        depth++;
      }
      expect(depth).to.equal(60);
    });

    it('the same object twice is not a cycle', () => {
      const shared = { d: new Date(5), n: -0 };
      const value = { a: shared, b: shared, list: [shared, shared], map: new Map([[1, shared]]) };
      for (const c of [deep, codec]) {
        for (const out of both(value, c)) expectSame(out, value);
      }
      const plainShared = { x: 1 };
      expect(codec.encode([plainShared, plainShared]).tagged).to.equal(false);
    });

    it('nesting past maxDepth is ERR_ENCODE, on the fast path and the tagged path', () => {
      const nest = (levels: number, leaf: unknown): unknown => {
        let v = leaf;
        for (let i = 0; i < levels; i++) v = [v];
        return v;
      };
      const four = new Codec(registry, { maxDepth: 4 });
      expect(four.encode(nest(4, 1)).tagged).to.equal(false); // four arrays: levels 0–3
      expect(four.encode(nest(4, -0)).tagged).to.equal(true);
      expectCode(() => four.encode(nest(5, 1)), ErrorCode.ENCODE);
      expectCode(() => four.encode(nest(4, [])), ErrorCode.ENCODE);
      expectCode(() => four.encode(nest(4, new Date(0))), ErrorCode.ENCODE);
      expectCode(() => four.encode(nest(3, new Gear(1, [1]))), ErrorCode.ENCODE);
      expect(() => codec.encode(nest(256, 1))).to.not.throw();
      expectCode(() => codec.encode(nest(257, 1)), ErrorCode.ENCODE);
      expectCode(() => codec.encode(nest(300, new Date(0))), ErrorCode.ENCODE);
      expectCode(() => codec.encode({ a: nest(3000, 1) }), ErrorCode.ENCODE);
    });

    it('a top-level function or symbol is ERR_ENCODE', () => {
      for (const v of [() => 1, function named() {}, class K { k = 1; }, Symbol('s'), Symbol.iterator]) {
        expectCode(() => codec.encode(v), ErrorCode.ENCODE);
      }
    });

    it('a toWire hook that throws, or returns something unsendable, is ERR_ENCODE', () => {
      class Bad {
        bad = true;
      }
      class Fn {
        fn = true;
      }
      const c = new Codec(
        new TypeRegistry([
          [Bad, { toWire: () => { throw new Error('nope'); } }],
          [Fn, { toWire: () => () => 1 }],
        ]),
      );
      expectCode(() => c.encode(new Bad()), ErrorCode.ENCODE);
      expectCode(() => c.encode({ nested: [new Bad()] }), ErrorCode.ENCODE);
      expectCode(() => c.encode(new Fn()), ErrorCode.ENCODE);
    });

    it('rejects bad options with ERR_INVALID_OPTION', () => {
      for (const options of [{ maxDepth: 0 }, { maxDepth: 1.5 }, { maxBigIntDigits: 0 }, { maxBigIntDigits: Number.NaN }]) {
        expectCode(() => new Codec(registry, options), ErrorCode.INVALID_OPTION);
      }
    });
  });

  describe('decode limits', () => {
    it('a tagged payload nested deeper than maxDepth is ERR_DECODE', () => {
      const arrays = `${'['.repeat(300)}${']'.repeat(300)}`;
      expectCode(() => codec.decode('', arrays, [], true), ErrorCode.DECODE);
      const sets = `${'{"$hw":"s","v":['.repeat(300)}${']}'.repeat(300)}`;
      expectCode(() => codec.decode('', sets, [], true), ErrorCode.DECODE);
      const objects = `${'{"a":'.repeat(300)}1${'}'.repeat(300)}`;
      expectCode(() => codec.decode('', objects, [], true), ErrorCode.DECODE);
      const four = new Codec(registry, { maxDepth: 4 });
      expect(four.decode('', '[[[[{"$hw":"u"}]]]]', [], true).value).to.deep.equal([[[[undefined]]]]);
      expectCode(() => four.decode('', '[[[[[]]]]]', [], true), ErrorCode.DECODE);
      expectCode(() => four.decode('', '[[[[{"$hw":"d","v":0}]]]]', [], true), ErrorCode.DECODE);
    });

    it('decode accepts exactly what encode accepts under the same maxDepth', () => {
      const withStrangers = valueArbitrary(true);
      fc.assert(
        fc.property(withStrangers, fc.integer({ min: 1, max: 6 }), (value, maxDepth) => {
          const limited = new Codec(registry, { maxDepth });
          let encoded: EncodedValue | undefined;
          try {
            encoded = limited.encode(value);
          } catch (err) {
            expect(err).to.be.instanceOf(HopwireError);
            expect((err as HopwireError).code).to.equal(ErrorCode.ENCODE);
          }
          if (encoded !== undefined) {
            expect(() => limited.decode(encoded.type, encoded.payload, toBuffers(encoded.attachments), encoded.tagged)).to.not.throw();
            return;
          }
          const full = codec.encode(value);
          if (!full.tagged) return; // untagged payloads are not walked on receipt
          expectCode(() => limited.decode(full.type, full.payload, toBuffers(full.attachments), true), ErrorCode.DECODE);
        }),
        { numRuns: 300 },
      );
    });

    it('maxBigIntDigits counts digits, not the sign', () => {
      const three = new Codec(registry, { maxBigIntDigits: 3 });
      expect(three.decode('', '{"$hw":"b","v":"999"}', [], true).value).to.equal(999n);
      expect(three.decode('', '{"$hw":"b","v":"-999"}', [], true).value).to.equal(-999n);
      expectCode(() => three.decode('', '{"$hw":"b","v":"1000"}', [], true), ErrorCode.DECODE);
      expectCode(() => three.decode('', '{"$hw":"b","v":"-1000"}', [], true), ErrorCode.DECODE);
    });

    it('many distinct unknown type names decode in linear time', () => {
      const n = 40_000;
      const payload = (name: (i: number) => string): string => {
        const parts: string[] = [];
        for (let i = 0; i < n; i++) parts.push(`{"$hw":"c","n":"${name(i)}","v":0}`);
        return `[${parts.join(',')}]`;
      };
      const distinct = payload((i) => `T${String(i).padStart(5, '0')}`);
      const same = payload((i) => `T${String(i % 10).padStart(5, '0')}`); // as long, but only 10 names
      const time = (text: string): [number, DecodedValue] => {
        const started = performance.now();
        const d = codec.decode('', text, [], true);
        return [performance.now() - started, d];
      };
      time(same);
      const [msSame, dSame] = time(same);
      const [msDistinct, d] = time(distinct);
      expect(dSame.unknownTypes).to.have.length(10);
      expect(d.unknownTypes).to.have.length(n);
      expect(d.unknownTypes[n - 1]).to.equal(`T${String(n - 1).padStart(5, '0')}`);
      expect(msDistinct).to.be.lessThan(5 * msSame + 100);
    });
  });

  describe('malformed payloads', () => {
    const one = [Buffer.from([1, 2, 3])];
    const cases: [string, string, Buffer[]?][] = [
      ['unknown tag', '{"$hw":"zz"}'],
      ['numeric tag', '{"$hw":5}'],
      ['null tag', '{"$hw":null}'],
      ['tag named after a prototype member', '{"$hw":"constructor"}'],
      ['n with a bad string', '{"$hw":"n","v":"nan"}'],
      ['n with a number', '{"$hw":"n","v":1}'],
      ['n without a value', '{"$hw":"n"}'],
      ['b with 12x', '{"$hw":"b","v":"12x"}'],
      ['b with an exponent', '{"$hw":"b","v":"1e5"}'],
      ['b empty', '{"$hw":"b","v":""}'],
      ['b with a number', '{"$hw":"b","v":12}'],
      ['b with too many digits', `{"$hw":"b","v":"${'9'.repeat(10_001)}"}`],
      ['b negative with too many digits', `{"$hw":"b","v":"-${'9'.repeat(10_001)}"}`],
      ['d with a string', '{"$hw":"d","v":"2020-01-01"}'],
      ['d with an object', '{"$hw":"d","v":{}}'],
      ['m not an array', '{"$hw":"m","v":{}}'],
      ['m with a non-pair', '{"$hw":"m","v":[1]}'],
      ['m with a one-element pair', '{"$hw":"m","v":[[1]]}'],
      ['m with a three-element pair', '{"$hw":"m","v":[[1,2,3]]}'],
      ['M with an array', '{"$hw":"M","v":[["a",1]]}'],
      ['M with null', '{"$hw":"M","v":null}'],
      ['M with a string', '{"$hw":"M","v":"ab"}'],
      ['M without a value', '{"$hw":"M"}'],
      ['s not an array', '{"$hw":"s","v":"abc"}'],
      ['o with an array', '{"$hw":"o","v":[1]}'],
      ['o with null', '{"$hw":"o","v":null}'],
      ['a index out of range', '{"$hw":"a","i":1,"t":"Buffer"}', one],
      ['a index with no attachments', '{"$hw":"a","i":0,"t":"Buffer"}', []],
      ['a negative index', '{"$hw":"a","i":-1,"t":"Buffer"}', one],
      ['a non-integer index', '{"$hw":"a","i":0.5,"t":"Buffer"}', one],
      ['a string index', '{"$hw":"a","i":"0","t":"Buffer"}', one],
      ['a without an index', '{"$hw":"a","t":"Buffer"}', one],
      ['a unknown type', '{"$hw":"a","i":0,"t":"Float16Array"}', one],
      ['a without a type', '{"$hw":"a","i":0}', one],
      ['a type constructor', '{"$hw":"a","i":0,"t":"constructor"}', one],
      ['a type __proto__', '{"$hw":"a","i":0,"t":"__proto__"}', one],
      ['a type toString', '{"$hw":"a","i":0,"t":"toString"}', one],
      ['a Int16Array of odd length', '{"$hw":"a","i":0,"t":"Int16Array"}', one],
      ['a Float64Array of 3 bytes', '{"$hw":"a","i":0,"t":"Float64Array"}', one],
      ['a BigInt64Array of 12 bytes', '{"$hw":"a","i":0,"t":"BigInt64Array"}', [Buffer.alloc(12)]],
      ['c without a name', '{"$hw":"c","v":{}}'],
      ['c with a numeric name', '{"$hw":"c","n":1,"v":{}}'],
      ['r with an invalid pattern', '{"$hw":"r","v":["(",""]}'],
      ['r with invalid flags', '{"$hw":"r","v":["a","zz"]}'],
      ['r not a pair', '{"$hw":"r","v":"a"}'],
      ['e not an object', '{"$hw":"e","v":"boom"}'],
      ['registered class given a number', '{"$hw":"c","n":"Widget","v":5}'],
      ['registered class given null', '{"$hw":"c","n":"Widget","v":null}'],
      ['registered class given an array', '{"$hw":"c","n":"Widget","v":[1]}'],
      ['a fromWire hook that throws', '{"$hw":"c","n":"Fragile","v":{}}'],
      ['fromWire rejecting its data', '{"$hw":"c","n":"geo.Point","v":{"x":1}}'],
      ['a malformed tag deep inside', '{"a":[{"b":{"$hw":"m","v":5}}]}'],
    ];
    for (const [name, payload, attachments] of cases) {
      it(`${name} is ERR_DECODE`, () => {
        expectCode(() => codec.decode('', payload, attachments ?? [], true), ErrorCode.DECODE);
        expectCode(() => codec.decode('', Buffer.from(payload), attachments ?? [], true), ErrorCode.DECODE);
      });
    }

    it('a registered frame type with a payload it cannot rebuild from is ERR_DECODE', () => {
      for (const tagged of [true, false]) {
        expectCode(() => codec.decode('Widget', '5', [], tagged), ErrorCode.DECODE);
        expectCode(() => codec.decode('Widget', '"text"', [], tagged), ErrorCode.DECODE);
        expectCode(() => codec.decode('Fragile', '{}', [], tagged), ErrorCode.DECODE);
        expectCode(() => codec.decode('geo.Point', '{"x":1}', [], tagged), ErrorCode.DECODE);
      }
    });

    it('invalid JSON is ERR_DECODE, tagged or not', () => {
      for (const payload of ['{', '', 'undefined', "{'a':1}", '[1,]', 'NaN', '{"a":1}}', '\u0000']) {
        for (const tagged of [true, false]) {
          const err = expectCode(() => codec.decode('', payload, [], tagged), ErrorCode.DECODE);
          expect(err.cause).to.be.instanceOf(SyntaxError);
        }
      }
    });
  });

  describe('hostile payloads', () => {
    const prototypeNames = ['Object', '__proto__', 'hasOwnProperty', 'constructor', 'toString', 'Function', 'Array', 'prototype', 'valueOf'];

    it('__proto__, constructor and prototype keys stay own data and pollute nothing', () => {
      const before = prototypeSnapshot();
      const payloads = [
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        '{"prototype":{"polluted":1}}',
        '{"a":[{"__proto__":{"polluted":1}}],"b":{"constructor":{"prototype":{"polluted":1}}}}',
        '{"__proto__":{"$hw":"d","v":0},"x":{"__proto__":{"$hw":"u"}}}',
        '{"$hw":"o","v":{"__proto__":{"polluted":1},"$hw":"x"}}',
        '{"$hw":"m","v":[["__proto__",{"polluted":1}]]}',
        '{"$hw":"M","v":{"__proto__":{"polluted":1}}}',
        '[{"__proto__":[]}]',
      ];
      for (const payload of payloads) {
        for (const tagged of [true, false]) {
          const { value } = codec.decode('', payload, [], tagged);
          const walk = (v: unknown): void => {
            if (typeof v !== 'object' || v === null) return;
            if (v instanceof Map || v instanceof Date) return;
            const proto: unknown = Object.getPrototypeOf(v);
            expect(proto === Object.prototype || proto === Array.prototype, payload).to.equal(true);
            for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key]);
          };
          walk(value);
          expectUnpolluted(before);
        }
      }
      const { value } = codec.decode('', '{"__proto__":{"polluted":1},"x":{"__proto__":{"$hw":"u"}}}', [], true);
      const got = value as Record<string, unknown>;
      expect(Object.hasOwn(got, '__proto__')).to.equal(true);
      expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).to.deep.equal({ polluted: 1 });
      const x = got.x as object;
      expect(Object.hasOwn(x, '__proto__')).to.equal(true);
      expect(Object.getOwnPropertyDescriptor(x, '__proto__')?.value).to.equal(undefined);
      expect(Object.getPrototypeOf(x)).to.equal(Object.prototype);
    });

    it('class tags naming prototype members or globals resolve to nothing', () => {
      const before = prototypeSnapshot();
      for (const name of prototypeNames) {
        const payload = JSON.stringify({ $hw: 'c', n: name, v: { a: 1 } }).replace('"a":1', '"a":1,"__proto__":{"polluted":1}');
        const d = codec.decode('', payload, [], true);
        expect(d.unknownTypes).to.deep.equal([name]);
        expect(Object.getPrototypeOf(d.value)).to.equal(Object.prototype);
        expect((d.value as { a: number }).a).to.equal(1);
        expectUnpolluted(before);
      }
    });

    it('frame type names naming prototype members or globals are not known', () => {
      const before = prototypeSnapshot();
      for (const name of prototypeNames) {
        for (const tagged of [true, false]) {
          const d = codec.decode(name, '{"a":1,"__proto__":{"polluted":1}}', [], tagged);
          expect(d.type).to.equal(name);
          expect(d.known).to.equal(false);
          expect(Object.getPrototypeOf(d.value)).to.equal(Object.prototype);
          expectUnpolluted(before);
        }
      }
    });

    it('a registered class given a __proto__ or constructor key keeps its prototype, and its constructor is not called', () => {
      const before = prototypeSnapshot();
      const calls = Widget.calls;
      const payloads = [
        '{"$hw":"c","n":"Widget","v":{"__proto__":{"evil":1}}}',
        '{"$hw":"c","n":"Widget","v":{"constructor":{"prototype":{"polluted":1}},"name":"n"}}',
        '{"$hw":"c","n":"Widget","v":{"__proto__":{"$hw":"c","n":"Widget","v":{"__proto__":{"evil":1}}}}}',
      ];
      for (const payload of payloads) {
        const { value } = codec.decode('', payload, [], true);
        expect(Object.getPrototypeOf(value)).to.equal(Widget.prototype);
        expect((value as Record<string, unknown>).evil).to.equal(undefined);
        expect(Object.hasOwn(value as object, 'label')).to.equal(false);
        expect(typeof (value as Widget).label()).to.equal('string');
        expectUnpolluted(before);
      }
      const top = codec.decode('Widget', '{"__proto__":{"evil":1},"constructor":5}', [], false);
      expect(top.known).to.equal(true);
      expect(Object.getPrototypeOf(top.value)).to.equal(Widget.prototype);
      expect((top.value as Record<string, unknown>).evil).to.equal(undefined);
      expect(Object.getOwnPropertyDescriptor(top.value, '__proto__')?.value).to.deep.equal({ evil: 1 });
      expectUnpolluted(before);
      expect(Widget.calls).to.equal(calls);
    });
  });

  describe('properties', () => {
    it('decode(encode(v)) is v, directly and through a frame', () => {
      fc.assert(
        fc.property(valueArb, (value) => {
          for (const out of both(value)) expectSame(out, value);
        }),
        { numRuns: 400 },
      );
    });

    it('the TAGGED flag is clear only when the payload holds no tag', () => {
      // Reviving an untagged payload anyway must change nothing: the flag never hides a tag.
      // Class instances of plain fields are walked and may come out untagged.
      const plainGear = fc.tuple(fc.nat(), fc.oneof(fc.constant(null), fc.string(), fc.array(fc.integer()))).map(([t, inner]) => new Gear(t, inner));
      fc.assert(
        fc.property(fc.oneof(valueArb, plainGear, valueArbitrary(true)), (value) => {
          for (const c of [codec, new Codec(registry, { maxDepth: 1000 })]) {
            let e: EncodedValue;
            try {
              e = c.encode(value);
            } catch {
              return; // what cannot be sent is tested elsewhere
            }
            if (e.tagged) continue;
            expect(e.attachments).to.have.length(0);
            const asIs = c.decode(e.type, e.payload, [], false);
            expectSame(c.decode(e.type, e.payload, [], true).value, asIs.value);
            expectSame(asIs.value, roundTrip(value, c).value);
          }
        }),
        { numRuns: 400 },
      );
      const gear = codec.encode(new Gear(3, 'x'));
      expect([gear.tagged, gear.payload]).to.deep.equal([false, '{"teeth":3,"inner":"x"}']);
      expect(codec.encode(new Gear(3, new Date(0))).tagged).to.equal(true);
      expect(codec.encode(new Gear(3, { $hw: 1 })).tagged).to.equal(true);
    });

    it('JSON-native values always take the fast path and round-trip', () => {
      const jsonNative = fc
        .jsonValue()
        .map((v) => JSON.parse(JSON.stringify(v)) as unknown) // -0 becomes 0, as JSON has it
        .filter((v) => !JSON.stringify(v).includes('"$hw"'));
      fc.assert(
        fc.property(jsonNative, (value) => {
          const e = codec.encode(value);
          expect(e.tagged).to.equal(false);
          expect(e.attachments).to.have.length(0);
          expect(e.payload).to.equal(JSON.stringify(value));
          for (const out of both(value)) expectSame(out, value);
        }),
        { numRuns: 400 },
      );
    });

    it('any payload either decodes or throws a HopwireError', () => {
      const tags = ['u', 'n', 'b', 'd', 'r', 'e', 'm', 'M', 's', 'a', 'o', 'c', 'zz', '', '__proto__'];
      const names = ['Widget', 'geo.Point', 'Fragile', 'Gear', 'Nope', 'constructor', '__proto__', 'toString'];
      const binaryNames = ['Buffer', 'ArrayBuffer', 'DataView', 'Int8Array', 'Uint16Array', 'Float64Array', 'BigInt64Array', 'toString', 'x'];
      const tagged = fc.letrec<Record<string, unknown>>((tie) => ({
        node: fc.oneof({ maxDepth: 4, depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), tie('tag'), tie('list'), tie('object')),
        list: fc.array(tie('node'), { maxLength: 3 }),
        object: fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('__proto__', '$hw')), tie('node'), { maxKeys: 3 }),
        tag: fc.record(
          {
            $hw: fc.constantFrom(...tags),
            v: tie('node'),
            n: fc.oneof(fc.constantFrom(...names), fc.jsonValue({ maxDepth: 0 })),
            i: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.double(), fc.string({ maxLength: 2 })),
            t: fc.oneof(fc.constantFrom(...binaryNames), fc.jsonValue({ maxDepth: 0 })),
          },
          { requiredKeys: ['$hw'] },
        ),
      })).node!;
      const mutate = (text: string, edits: [number, number, string][]): string => {
        let s = text;
        for (const [at, del, insert] of edits) {
          const pos = s.length === 0 ? 0 : at % (s.length + 1);
          s = s.slice(0, pos) + insert + s.slice(pos + del);
        }
        return s;
      };
      const edits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })), { maxLength: 4 });
      const payload = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.tuple(fc.json(), edits).map(([s, e]) => mutate(s, e)),
        tagged.map((t) => JSON.stringify(t)),
        fc.tuple(tagged.map((t) => JSON.stringify(t)), edits).map(([s, e]) => mutate(s, e)),
      );
      const attachments = fc.array(fc.uint8Array({ maxLength: 17 }).map((a) => Buffer.from(a).subarray(a.length % 2)), { maxLength: 3 });
      const type = fc.constantFrom('', ...names);
      const before = prototypeSnapshot();
      fc.assert(
        fc.property(type, payload, attachments, fc.boolean(), (t, p, atts, isTagged) => {
          try {
            codec.decode(t, p, atts, isTagged);
          } catch (err) {
            expect(err).to.be.instanceOf(HopwireError);
            expect((err as HopwireError).code).to.equal(ErrorCode.DECODE);
          }
        }),
        { numRuns: 500 },
      );
      expectUnpolluted(before);
    });
  });
});

describe('Codec: long class names', () => {
  it('cuts an unregistered class name to 255 UTF-8 bytes, so it always fits the frame', () => {
    const name = 'é'.repeat(200); // 400 bytes
    const Cls = { [name]: class {
      x = 1;
    } }[name] as new () => object;
    const e = new Codec().encode(new Cls());
    expect(Buffer.byteLength(e.type, 'utf8')).to.be.at.most(255);
    expect(e.type).to.equal('é'.repeat(127));
  });
});

describe('Codec: a reused small buffer', () => {
  it('sends what the buffer held at each call, even if it is changed before the write', () => {
    const codec = new Codec();
    const buf = Buffer.alloc(4, 1);
    const first = codec.encode({ buf });
    buf.fill(2);
    const second = codec.encode({ buf });
    expect([...first.attachments[0]!]).to.deep.equal([1, 1, 1, 1]);
    expect([...second.attachments[0]!]).to.deep.equal([2, 2, 2, 2]);
  });
});

describe('Codec: rebuilding never runs class code', () => {
  it('an accessor added to the prototype after a key was first met is never run either', () => {
    class Late {
      kind = 'late';
    }
    const codec = new Codec(new TypeRegistry([Late]));
    const decodeAll = (): unknown[] => [
      codec.decode('Late', '{"late":1}', [], false).value,
      codec.decode('Late', '{"late":1,"when":{"$hw":"d","v":0}}', [], true).value,
      (codec.decode('', '{"x":{"$hw":"c","n":"Late","v":{"$hw":"o","v":{"late":1,"$hw":"kept"}}}}', [], true).value as { x: unknown }).x,
      codec.fromPlain('Late', { late: 1 }).value,
    ];
    decodeAll(); // every path has now met the key 'late' as a plain field
    let setterCalls = 0;
    Object.defineProperty(Late.prototype, 'late', {
      get: () => 'from the accessor',
      set: () => {
        setterCalls++;
      },
    });
    for (const v of decodeAll()) {
      expect(Object.getPrototypeOf(v)).to.equal(Late.prototype);
      expect(Object.getOwnPropertyDescriptor(v, 'late')).to.deep.equal({ value: 1, writable: true, enumerable: true, configurable: true });
    }
    expect(setterCalls).to.equal(0);
  });

  it('defines (never assigns) keys that are accessors or read-only on the prototype chain', () => {
    let setterCalls = 0;
    class Guarded {
      get secret(): string {
        return 'getter';
      }
      set secret(_v: string) {
        setterCalls++;
      }
    }
    Object.defineProperty(Guarded.prototype, 'fixed', { value: 1, writable: false });
    const codec = new Codec(new TypeRegistry([Guarded]));
    const { value } = codec.decode('Guarded', '{"secret":"s","fixed":2,"plain":3}', [], false);
    expect(setterCalls).to.equal(0);
    expect(Object.getPrototypeOf(value)).to.equal(Guarded.prototype);
    expect(Object.getOwnPropertyDescriptor(value, 'secret')?.value).to.equal('s');
    expect((value as Record<string, unknown>).fixed).to.equal(2);
    expect((value as Record<string, unknown>).plain).to.equal(3);
    // The same through fromPlain (data the caller owns: copied, never changed) and inside a tagged payload.
    const data = { secret: 's', fixed: 2, plain: 3 };
    const rebuilt = codec.fromPlain('Guarded', data).value;
    expect(Object.getPrototypeOf(data)).to.equal(Object.prototype);
    const inner = (codec.decode('', '{"g":{"$hw":"c","n":"Guarded","v":{"secret":"s","fixed":2,"plain":3}}}', [], true).value as { g: unknown }).g;
    const taggedRoot = codec.decode('Guarded', '{"secret":"s","fixed":2,"when":{"$hw":"d","v":0}}', [], true).value;
    expect((taggedRoot as { when: unknown }).when).to.be.instanceOf(Date);
    for (const v of [rebuilt, inner, taggedRoot]) {
      expect(setterCalls).to.equal(0);
      expect(Object.getPrototypeOf(v)).to.equal(Guarded.prototype);
      expect(Object.getOwnPropertyDescriptor(v, 'secret')).to.deep.equal({ value: 's', writable: true, enumerable: true, configurable: true });
      expect(Object.getOwnPropertyDescriptor(v, 'fixed')).to.deep.equal({ value: 2, writable: true, enumerable: true, configurable: true });
    }
  });
});
