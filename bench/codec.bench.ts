/**
 * Codec micro-benchmark: encode + decode ns/op for three inputs, each next to
 * raw `JSON.parse(JSON.stringify(x))` on the same input in the same run.
 *
 * 1. a small plain object (also through the full wire path: frame encode +
 *    FrameDecoder + decode),
 * 2. a nested typed object (a registered Widget holding a Date, a Map and a
 *    registered Part),
 * 3. a 1 MiB Buffer (raw baseline: JSON of the Buffer, what naive libraries do).
 *
 * Then S7 of the network benchmark in one process: its `Widget` made, encoded
 * and decoded by default (tagged), with plain-JSON `toWire`/`fromWire` hooks,
 * and by a codec written by hand for exactly that class, each against the
 * plain object carrying the same data.
 *
 * mitata prints its own table first; then a summary line per case, timed by a
 * plain loop (median of 5 runs after warm-up, hopwire and raw JSON runs
 * interleaved), and the target for the small plain object.
 *
 * Run with `npm run bench:codec`.
 */
import { bench, do_not_optimize, group, run, summary } from 'mitata';
import { Codec } from '../src/codec.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import { FrameFlags, FrameKind, encodeFrameToBuffer } from '../src/frame.js';
import { TypeRegistry } from '../src/type-registry.js';
import { HookedWidget, type Payload, Widget as S7Widget, hookedWidgetHooks, makeItem } from './common.js';

/** Target: hopwire on the small plain object costs at most this many times raw JSON. */
const TARGET_RATIO = 1.3;

class Part {
  sku: string;
  qty: number;
  constructor(sku: string, qty: number) {
    this.sku = sku;
    this.qty = qty;
  }
}

class Widget {
  name: string;
  made: Date;
  dims: Map<string, number>;
  part: Part;
  constructor(name: string, made: Date, dims: Map<string, number>, part: Part) {
    this.name = name;
    this.made = made;
    this.dims = dims;
    this.part = part;
  }
}

const codec = new Codec(new TypeRegistry([Widget, Part]));
const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 });

const small = { id: 1, name: 'widget', tags: ['a', 'b'], price: 12.5, ok: true };
const nested = new Widget(
  'bolt',
  new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
  new Map([
    ['w', 12],
    ['h', 3.5],
    ['d', 40],
  ]),
  new Part('P-100', 4),
);
const big = Buffer.alloc(1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;

const NO_ATTACHMENTS: readonly Buffer[] = [];

/** encode → decode, attachments handed over as Buffers. */
function hopwire(value: unknown): unknown {
  const e = codec.encode(value);
  const attachments =
    e.attachments.length === 0 ? NO_ATTACHMENTS : e.attachments.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return codec.decode(e.type, e.payload, attachments, e.tagged).value;
}

/** encode → frame bytes → FrameDecoder → decode. */
function hopwireWire(value: unknown): unknown {
  const e = codec.encode(value);
  const bytes = encodeFrameToBuffer({
    kind: FrameKind.MESSAGE,
    flags: e.tagged ? FrameFlags.TAGGED : 0,
    type: e.type,
    payload: e.payload,
    attachments: e.attachments,
  });
  const frame = decoder.push(bytes)[0];
  if (frame === undefined) throw new Error('the frame did not decode');
  return codec.decode(frame.type, frame.payload, frame.attachments, (frame.flags & FrameFlags.TAGGED) !== 0).value;
}

function rawJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

// Check that every path does the whole job before timing it.
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}
check(JSON.stringify(hopwire(small)) === JSON.stringify(small), 'small plain object');
check(JSON.stringify(hopwireWire(small)) === JSON.stringify(small), 'small plain object, wire path');
for (const out of [hopwire(nested), hopwireWire(nested)]) {
  check(out instanceof Widget && out.made instanceof Date && out.dims instanceof Map && out.part instanceof Part, 'nested typed object');
}
for (const out of [hopwire(big), hopwireWire(big)]) check(Buffer.isBuffer(out) && out.equals(big), '1 MiB Buffer');
check(!codec.encode(small).tagged, 'the small plain object takes the fast path');

// ---- S7 in one process ------------------------------------------------------------

const s7codec = new Codec(new TypeRegistry([S7Widget, [HookedWidget, hookedWidgetHooks]]));

/** Makes S7's item of `kind`, encodes it and decodes it, as the benchmark's two processes do between them. */
function s7Trip(kind: Payload): Fn {
  let i = 0;
  return () => {
    const e = s7codec.encode(makeItem(kind, i++));
    return s7codec.decode(e.type, e.payload, NO_ATTACHMENTS, e.tagged).value;
  };
}

/** The same trip through a codec written by hand for S7's Widget only: the floor for rebuilding it. */
function s7HandTrip(): Fn {
  let i = 0;
  return () => {
    const w = makeItem('class', i++) as S7Widget;
    const dims: Record<string, number> = {};
    for (const [k, v] of w.dims) dims[k] = v;
    const text = JSON.stringify({ id: w.id, name: w.name, price: w.price, made: w.made.getTime(), dims });
    const d = JSON.parse(text) as { id: number; name: string; price: number; made: number; dims: Record<string, number> };
    const map = new Map<string, number>();
    for (const k in d.dims) if (Object.hasOwn(d.dims, k)) map.set(k, d.dims[k] as number);
    const out = Object.create(S7Widget.prototype) as S7Widget;
    out.id = d.id;
    out.name = d.name;
    out.price = d.price;
    out.made = new Date(d.made);
    out.dims = map;
    return out;
  };
}

const s7Paths: { label: string; trip: Fn }[] = [
  { label: 'registered (tagged)', trip: s7Trip('class') },
  { label: 'plain-JSON hooks', trip: s7Trip('hooked') },
  { label: 'hand-written for the class', trip: s7HandTrip() },
];
for (const { label, trip } of s7Paths) {
  const out = trip(undefined);
  check(out instanceof S7Widget && out.made instanceof Date && out.dims instanceof Map && out.volume() === 12 * 3.5 * 40, `S7 ${label}`);
}

interface Case {
  label: string;
  value: unknown;
  hopwire: Fn;
}

const cases: Case[] = [
  { label: 'small plain', value: small, hopwire },
  { label: 'small plain (full wire path)', value: small, hopwire: hopwireWire },
  { label: 'nested typed', value: nested, hopwire },
  { label: '1 MiB Buffer', value: big, hopwire },
  { label: '1 MiB Buffer (full wire path)', value: big, hopwire: hopwireWire },
];

group('small plain object', () => {
  summary(() => {
    bench('hopwire encode+decode', () => {
      do_not_optimize(hopwire(small));
    });
    bench('hopwire full wire path (frame + FrameDecoder)', () => {
      do_not_optimize(hopwireWire(small));
    });
    bench('raw JSON.parse(JSON.stringify(x))', () => {
      do_not_optimize(rawJson(small));
    }).baseline(true);
  });
});

group('nested typed object (Widget + Date + Map + Part)', () => {
  summary(() => {
    bench('hopwire encode+decode', () => {
      do_not_optimize(hopwire(nested));
    });
    bench('hopwire full wire path (frame + FrameDecoder)', () => {
      do_not_optimize(hopwireWire(nested));
    });
    bench('raw JSON.parse(JSON.stringify(x))', () => {
      do_not_optimize(rawJson(nested));
    }).baseline(true);
  });
});

group('1 MiB Buffer', () => {
  summary(() => {
    bench('hopwire encode+decode', () => {
      do_not_optimize(hopwire(big));
    });
    bench('hopwire full wire path (frame + FrameDecoder)', () => {
      do_not_optimize(hopwireWire(big));
    });
    bench('raw JSON.parse(JSON.stringify(buffer))', () => {
      do_not_optimize(rawJson(big));
    }).baseline(true);
  });
});

await run();

type Fn = (value: unknown) => unknown;
/** Runs `fn(value)` `iterations` times, sinking each result; ns per call. */
type Loop = (fn: Fn, value: unknown, iterations: number, sink: (result: unknown) => void) => number;

/**
 * A timing loop of its own for each measured function, as mitata makes them:
 * one loop shared by every case would see many functions at its call site,
 * go megamorphic and stop inlining, and skew the later cases.
 */
function makeLoop(): Loop {
  // Compiling the loop afresh is the point: each copy gets its own type feedback.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(
    'fn',
    'value',
    'iterations',
    'sink',
    `const start = process.hrtime.bigint();
     for (let i = 0; i < iterations; i++) sink(fn(value));
     return Number(process.hrtime.bigint() - start) / iterations;`,
  ) as Loop;
}

/** Iterations for one run of about 100 ms (at most 200,000), after warming `fn` up. */
function size(loop: Loop, fn: Fn, value: unknown): number {
  let iterations = 1;
  while (iterations < 200_000 && loop(fn, value, iterations, do_not_optimize) * iterations < 20e6) iterations *= 2;
  return Math.max(3, Math.min(200_000, Math.round(100e6 / loop(fn, value, iterations, do_not_optimize))));
}

function median(runs: number[]): number {
  const sorted = [...runs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

/** Median ns/op of 5 runs of each, the runs of the two interleaved so drift hits both alike. */
function compare(a: Fn, b: Fn, value: unknown): [number, number] {
  const loopA = makeLoop();
  const loopB = makeLoop();
  const na = size(loopA, a, value);
  const nb = size(loopB, b, value);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < 5; r++) {
    ra.push(loopA(a, value, na, do_not_optimize));
    rb.push(loopB(b, value, nb, do_not_optimize));
  }
  return [median(ra), median(rb)];
}

function ns(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function ratio(r: number): string {
  return r >= 0.01 ? r.toFixed(2) : r.toPrecision(2);
}

console.log('\nsummary (own loop, median of 5 interleaved runs each, encode+decode):');
let smallRatio = Number.NaN;
for (const c of cases) {
  const [mine, raw] = compare(c.hopwire, rawJson, c.value);
  const r = mine / raw;
  if (c.label === 'small plain') smallRatio = r;
  console.log(`${c.label}: hopwire ${ns(mine)} ns/op, raw JSON ${ns(raw)} ns/op, ratio ${ratio(r)}×`);
}
console.log('\nS7 in one process (make, encode, decode; ratio to the plain object carrying the same data):');
const s7Plain = s7Trip('plain');
for (const { label, trip } of s7Paths) {
  const [mine, plain] = compare(trip, s7Plain, undefined);
  console.log(`S7 Widget, ${label}: ${ns(mine)} ns/op, plain ${ns(plain)} ns/op, ratio ${ratio(mine / plain)}×`);
}

const met = smallRatio <= TARGET_RATIO;
console.log(`target: small plain object ≤ ${TARGET_RATIO}× raw JSON — ${met ? 'met' : 'NOT met'} (${ratio(smallRatio)}×)`);
