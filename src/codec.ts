/**
 * The value codec: value in, JSON text and raw attachments out, and back.
 * Pure — no sockets, no timers.
 *
 * JSON-native values (plain objects and arrays of strings, finite numbers,
 * booleans and null) take a fast path: one cheap scan, then
 * `JSON.stringify`; the frame is sent without the TAGGED flag and the
 * receiver runs `JSON.parse` alone. Anything else — class instances,
 * `Date`, `Map`, `Set`, `BigInt`, binary data, `undefined`, `NaN`, `±Infinity`,
 * `-0` — is written as a tagged JSON object `{"$hw": tag, …}` and revived by
 * the receiver. Binary data travels as frame attachments, never as base64.
 * A plain object that itself has a `$hw` key is escaped, so user data can
 * never be mistaken for a tag.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import { type TypeEntry, TypeRegistry } from './type-registry.js';

/** The key that marks a tagged value in the JSON payload. */
export const TAG = '$hw';

/** Options of {@link Codec}. */
export interface CodecOptions {
  /**
   * Deepest nesting accepted when encoding and when reviving a tagged payload.
   * @default 256
   */
  maxDepth?: number;
  /**
   * Most digits of a received BigInt (parsing huge ones is slow).
   * @default 10000
   */
  maxBigIntDigits?: number;
}

/** Default of {@link CodecOptions.maxDepth}. */
export const DEFAULT_MAX_DEPTH = 256;
/** Default of {@link CodecOptions.maxBigIntDigits}. */
export const DEFAULT_MAX_BIGINT_DIGITS = 10_000;

/** An encoded value, ready to be put in a frame. */
export interface EncodedValue {
  /** Type name of the top-level value: its registered name, its class name if unregistered, or `''`. */
  type: string;
  /** JSON text. */
  payload: string;
  /** Raw bytes referenced from the payload by index. */
  attachments: Uint8Array[];
  /** Whether the payload holds tagged values (the frame's TAGGED flag). */
  tagged: boolean;
}

/** A decoded value. */
export interface DecodedValue {
  /** The value, with registered classes rebuilt. */
  value: unknown;
  /** The sender's type name of the top-level value, or `''`. */
  type: string;
  /** Whether the top-level type name is registered here. */
  known: boolean;
  /** Type names met in the payload that are not registered here (they decoded to plain objects). */
  unknownTypes: string[];
}

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;
type BinaryName = TypedArrayName | 'Buffer' | 'DataView' | 'ArrayBuffer';

/** Binary values smaller than this are copied at encode time. */
const COPY_ATTACHMENTS_BELOW = 64 * 1024;

/** Marks a value JSON would drop (a function or symbol). */
const SKIP: unique symbol = Symbol('skip');

type JsonTree = string | number | boolean | null | JsonTree[] | { [key: string]: JsonTree };

/** Per-call encode state. */
interface EncodeState {
  attachments: Uint8Array[];
  ancestors: Set<object>;
  functions: FunctionExporter | undefined;
}

/**
 * Turns a function inside a value into an id the peer can call back (see
 * `src/remote-functions.ts`). Without one, functions are dropped as JSON does.
 */
export type FunctionExporter = (fn: (...args: unknown[]) => unknown) => number;

/** Turns a received function id into a callable stand-in. Without one, a function tag is a decode error. */
export type FunctionImporter = (id: number) => (...args: unknown[]) => Promise<unknown>;

/** Per-call decode state. */
interface DecodeState {
  attachments: readonly Buffer[];
  unknownTypes: Set<string> | undefined;
  functions: FunctionImporter | undefined;
}

/**
 * Encodes and decodes values with class reconstruction.
 *
 * @example
 * ```ts
 * const codec = new Codec(new TypeRegistry([Widget]));
 * const { type, payload, attachments, tagged } = codec.encode(new Widget('bolt', 2));
 * const { value } = codec.decode(type, Buffer.from(payload), attachments.map((a) => Buffer.from(a)), tagged);
 * value instanceof Widget; // true
 * ```
 */
export class Codec {
  /** The classes this codec rebuilds. */
  readonly registry: TypeRegistry;
  readonly #maxDepth: number;
  readonly #maxBigIntDigits: number;

  /**
   * @param registry - the classes to rebuild
   * @param options - limits
   */
  constructor(registry: TypeRegistry = new TypeRegistry(), options: CodecOptions = {}) {
    this.registry = registry;
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxBigIntDigits = options.maxBigIntDigits ?? DEFAULT_MAX_BIGINT_DIGITS;
    if (!Number.isInteger(this.#maxDepth) || this.#maxDepth < 1) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'maxDepth must be a positive integer');
    }
    if (!Number.isInteger(this.#maxBigIntDigits) || this.#maxBigIntDigits < 1) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'maxBigIntDigits must be a positive integer');
    }
  }

  /**
   * Encodes a value.
   *
   * @throws HopwireError `ERR_ENCODE` for a cycle, nesting past `maxDepth`,
   * a top-level function or symbol, or a `toWire` hook that throws.
   */
  encode(value: unknown, functions?: FunctionExporter): EncodedValue {
    let type = '';
    let body = value;
    if (typeof value === 'object' && value !== null && isInstance(value)) {
      const proto = Object.getPrototypeOf(value) as object;
      const entry = this.registry.byPrototype(proto);
      if (entry !== undefined) {
        type = entry.name;
        body = entry.toWire === undefined ? ownProperties(value) : callToWire(entry, value);
      } else if (!isBuiltin(value)) {
        type = className(proto);
        body = ownProperties(value);
      }
    } else if (typeof value === 'symbol' || (typeof value === 'function' && functions === undefined)) {
      throw new HopwireError(ErrorCode.ENCODE, `a ${typeof value} cannot be sent`);
    }
    if (this.#isPlainJson(body, 0, functions !== undefined)) {
      return { type, payload: JSON.stringify(body), attachments: [], tagged: false };
    }
    const state: EncodeState = { attachments: [], ancestors: new Set(), functions };
    const tree = this.#toTree(body, 0, state, '$');
    if (tree === SKIP) throw new HopwireError(ErrorCode.ENCODE, 'the value returned by toWire cannot be sent');
    return { type, payload: JSON.stringify(tree), attachments: state.attachments, tagged: true };
  }

  /**
   * The plain-JSON form of a value, for peers that speak JSON lines: a class
   * instance becomes what its `toWire` returns, or its own enumerable
   * properties; `type` is its registered name, its class name, or the
   * built-in kind (`'Object'`, `'Array'`, `'String'`, `'Number'`, …), as
   * sockhop 1.x names types.
   */
  toPlain(value: unknown): { type: string; data: unknown } {
    if (typeof value !== 'object' || value === null) {
      const kinds: Record<string, string> = { string: 'String', number: 'Number', boolean: 'Boolean', bigint: 'BigInt' };
      return { type: value === null ? 'Object' : (kinds[typeof value] ?? 'Object'), data: value };
    }
    if (Array.isArray(value)) return { type: 'Array', data: value };
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null || proto === Object.prototype) return { type: 'Object', data: value };
    const entry = this.registry.byPrototype(proto);
    if (entry !== undefined) {
      return { type: entry.name, data: entry.toWire === undefined ? ownProperties(value) : callToWire(entry, value) };
    }
    return { type: className(proto), data: isBuiltin(value) ? value : ownProperties(value) };
  }

  /**
   * Rebuilds a registered class from plain JSON data (the inverse of
   * {@link toPlain}); unregistered names give the data back as it is.
   *
   * @throws HopwireError `ERR_DECODE` when the data does not fit the class
   */
  fromPlain(type: string, data: unknown): { value: unknown; known: boolean } {
    const entry = this.registry.byName(type);
    return entry === undefined ? { value: data, known: false } : { value: rebuild(entry, data), known: true };
  }

  /**
   * Decodes a payload.
   *
   * @param type - the frame's type name
   * @param payload - the JSON text
   * @param attachments - the frame's attachments
   * @param tagged - the frame's TAGGED flag
   * @throws HopwireError `ERR_DECODE` for invalid JSON, a malformed tag, a
   * bad attachment reference, nesting past `maxDepth`, or a `fromWire` hook
   * that throws.
   */
  decode(type: string, payload: Buffer | string, attachments: readonly Buffer[] = [], tagged = false, functions?: FunctionImporter): DecodedValue {
    let value: unknown;
    try {
      value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch (err) {
      throw new HopwireError(ErrorCode.DECODE, `payload is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const state: DecodeState = { attachments, unknownTypes: undefined, functions };
    if (tagged) value = this.#revive(value, 0, state);
    let known = false;
    if (type !== '') {
      const entry = this.registry.byName(type);
      if (entry !== undefined) {
        known = true;
        value = rebuild(entry, value);
      }
    }
    return { value, type, known, unknownTypes: state.unknownTypes === undefined ? [] : [...state.unknownTypes] };
  }

  /** True when `JSON.stringify` alone round-trips `v` exactly. */
  #isPlainJson(v: unknown, depth: number, functionsCount = false): boolean {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return true;
      case 'number':
        return Number.isFinite(v) && !Object.is(v, -0);
      case 'object': {
        if (v === null) return true;
        if (depth >= this.#maxDepth) return false; // the tree walk reports cycles and depth precisely
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) !== Array.prototype) return false;
          for (let i = 0; i < v.length; i++) {
            const e: unknown = v[i];
            if (typeof e === 'object' ? !this.#isPlainJson(e, depth + 1, functionsCount) : !isPlainScalar(e)) return false;
          }
          return true;
        }
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return false;
        const record = v as Record<string, unknown>;
        for (const key of Object.keys(record)) {
          if (key === TAG) return false;
          const e = record[key];
          if (typeof e === 'object' ? !this.#isPlainJson(e, depth + 1, functionsCount) : !isPlainScalar(e) && (functionsCount || !isDropped(e))) return false;
        }
        return typeof record.toJSON !== 'function';
      }
      default:
        return false;
    }
  }

  /** Builds the JSON tree of `v`, tagging what JSON cannot carry. */
  #toTree(v: unknown, depth: number, state: EncodeState, path: string): JsonTree | typeof SKIP {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Number.isFinite(v) && !Object.is(v, -0)) return v;
        return { [TAG]: 'n', v: Object.is(v, -0) ? '-0' : String(v) };
      case 'undefined':
        return { [TAG]: 'u' };
      case 'bigint':
        return { [TAG]: 'b', v: v.toString() };
      case 'function':
        return state.functions === undefined ? SKIP : { [TAG]: 'f', i: state.functions(v as (...args: unknown[]) => unknown) };
      case 'symbol':
        return SKIP;
      default:
        break;
    }
    if (v === null) return null;
    const obj = v as object;
    if (depth >= this.#maxDepth) {
      throw new HopwireError(ErrorCode.ENCODE, `value is nested deeper than maxDepth (${this.#maxDepth}) at ${path}`);
    }
    if (state.ancestors.has(obj)) {
      throw new HopwireError(ErrorCode.ENCODE, `circular reference at ${path}`);
    }
    state.ancestors.add(obj);
    try {
      return this.#objectTree(obj, depth + 1, state, path);
    } finally {
      state.ancestors.delete(obj);
    }
  }

  #objectTree(obj: object, depth: number, state: EncodeState, path: string): JsonTree {
    if (Array.isArray(obj)) {
      const out: JsonTree[] = new Array<JsonTree>(obj.length);
      for (let i = 0; i < obj.length; i++) {
        const t = this.#toTree(obj[i], depth, state, `${path}[${i}]`);
        out[i] = t === SKIP ? null : t;
      }
      return out;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) {
      const props = this.#propsTree(obj, depth, state, path);
      return Object.hasOwn(obj, TAG) ? { [TAG]: 'o', v: props } : props;
    }
    const entry = this.registry.byPrototype(proto as object);
    if (entry !== undefined) {
      const data = entry.toWire === undefined ? ownProperties(obj) : callToWire(entry, obj);
      const t = this.#toTree(data, depth, state, `${path}<${entry.name}>`);
      return { [TAG]: 'c', n: entry.name, v: t === SKIP ? null : t };
    }
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return this.#attachment(obj, state, path);
    if (obj instanceof Date) {
      const time = obj.getTime();
      return { [TAG]: 'd', v: Number.isNaN(time) ? null : time };
    }
    if (obj instanceof Map) {
      const pairs: JsonTree[] = [];
      let i = 0;
      for (const [k, val] of obj) {
        const kt = this.#toTree(k, depth, state, `${path}.key(${i})`);
        const vt = this.#toTree(val, depth, state, `${path}.get(${i})`);
        pairs.push([kt === SKIP ? null : kt, vt === SKIP ? null : vt]);
        i++;
      }
      return { [TAG]: 'm', v: pairs };
    }
    if (obj instanceof Set) {
      const items: JsonTree[] = [];
      for (const item of obj) {
        const t = this.#toTree(item, depth, state, `${path}.item(${items.length})`);
        items.push(t === SKIP ? null : t);
      }
      return { [TAG]: 's', v: items };
    }
    if (obj instanceof RegExp) return { [TAG]: 'r', v: [obj.source, obj.flags] };
    if (obj instanceof Error) {
      const e: Record<string, JsonTree> = { name: obj.name, message: obj.message };
      const code = (obj as { code?: unknown }).code;
      if (typeof code === 'string' || typeof code === 'number') e.code = code;
      return { [TAG]: 'e', v: e };
    }
    if (obj instanceof String || obj instanceof Number || obj instanceof Boolean) {
      const t = this.#toTree(obj.valueOf(), depth, state, path);
      return t === SKIP ? null : t;
    }
    // An instance of a class not registered here: its own properties, and its
    // name so the receiver can report it.
    const name = className(proto as object);
    const t = this.#toTree(ownProperties(obj), depth, state, `${path}<${name}>`);
    return { [TAG]: 'c', n: name, v: t === SKIP ? null : t };
  }

  #propsTree(obj: object, depth: number, state: EncodeState, path: string): { [key: string]: JsonTree } {
    const out: { [key: string]: JsonTree } = {};
    const record = obj as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const t = this.#toTree(record[key], depth, state, `${path}.${key}`);
      if (t !== SKIP) defineOwn(out, key, t);
    }
    return out;
  }

  #attachment(obj: ArrayBufferView | ArrayBuffer, state: EncodeState, path: string): JsonTree {
    let t: BinaryName;
    let bytes: Uint8Array;
    if (obj instanceof ArrayBuffer) {
      t = 'ArrayBuffer';
      bytes = new Uint8Array(obj);
    } else {
      if (Buffer.isBuffer(obj)) t = 'Buffer';
      else if (obj instanceof DataView) t = 'DataView';
      else {
        const name = className(Object.getPrototypeOf(obj) as object);
        if (!(name in TYPED_ARRAYS)) throw new HopwireError(ErrorCode.ENCODE, `cannot send a ${name} at ${path}`);
        t = name as TypedArrayName;
      }
      bytes = new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength);
    }
    // Small binary values are copied now, so a caller that reuses one buffer
    // for several sends (without awaiting each) sends what it held at the
    // call. Big ones are sent from the caller's memory: do not change them
    // until send() resolves.
    if (bytes.byteLength < COPY_ATTACHMENTS_BELOW) bytes = bytes.slice();
    state.attachments.push(bytes);
    return { [TAG]: 'a', i: state.attachments.length - 1, t };
  }

  /** Revives a parsed tagged payload in place (plain containers are reused). */
  #revive(node: unknown, depth: number, state: DecodeState): unknown {
    if (typeof node !== 'object' || node === null) return node;
    if (depth >= this.#maxDepth && !isScalarTag(node)) {
      throw new HopwireError(ErrorCode.DECODE, `payload is nested deeper than maxDepth (${this.#maxDepth})`);
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) node[i] = this.#revive(child, depth + 1, state);
      }
      return node;
    }
    const record = node as Record<string, unknown>;
    if (!Object.hasOwn(record, TAG)) return this.#reviveProps(record, depth, state);
    return this.#reviveTag(record, depth, state);
  }

  #reviveProps(record: Record<string, unknown>, depth: number, state: DecodeState): Record<string, unknown> {
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) {
        const revived = this.#revive(child, depth + 1, state);
        if (revived !== child) defineOwn(record, key, revived);
      }
    }
    return record;
  }

  #reviveTag(node: Record<string, unknown>, depth: number, state: DecodeState): unknown {
    const tag = node[TAG];
    const v = node.v;
    switch (tag) {
      case 'u':
        return undefined;
      case 'n':
        return reviveNumber(v);
      case 'b':
        if (typeof v !== 'string' || !/^-?\d+$/.test(v) || v.length - (v.startsWith('-') ? 1 : 0) > this.#maxBigIntDigits) {
          throw badTag('b', 'a decimal string within maxBigIntDigits');
        }
        return BigInt(v);
      case 'd':
        if (v !== null && typeof v !== 'number') throw badTag('d', 'a number or null');
        return new Date(v ?? Number.NaN);
      case 'r':
        return reviveRegExp(v);
      case 'e':
        return reviveError(v);
      case 'm':
        return new Map(this.#revivePairs(v, depth, state));
      case 's':
        if (!Array.isArray(v)) throw badTag('s', 'an array');
        return new Set(this.#revive(v, depth, state) as unknown[]);
      case 'a':
        return reviveAttachment(node, state.attachments);
      case 'f': {
        const id = node.i;
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffff_ffff) throw badTag('f', 'a function id i');
        if (state.functions === undefined) throw new HopwireError(ErrorCode.DECODE, 'a function arrived where functions are not accepted');
        return state.functions(id);
      }
      case 'o':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badTag('o', 'an object');
        return this.#reviveProps(v as Record<string, unknown>, depth, state);
      case 'c': {
        const name = node.n;
        if (typeof name !== 'string') throw badTag('c', 'a string name n');
        const data = this.#revive(v, depth + 1, state);
        const entry = this.registry.byName(name);
        if (entry === undefined) {
          (state.unknownTypes ??= new Set()).add(name);
          return data;
        }
        return rebuild(entry, data);
      }
      default:
        throw new HopwireError(ErrorCode.DECODE, `unknown tag ${typeof tag === 'string' ? JSON.stringify(tag.slice(0, 40)) : typeof tag}`);
    }
  }

  #revivePairs(v: unknown, depth: number, state: DecodeState): [unknown, unknown][] {
    if (!Array.isArray(v)) throw badTag('m', 'an array of pairs');
    const pairs: [unknown, unknown][] = [];
    for (const pair of v as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw badTag('m', 'an array of [key, value] pairs');
      pairs.push([this.#revive(pair[0], depth + 1, state), this.#revive(pair[1], depth + 1, state)]);
    }
    return pairs;
  }
}

function isPlainScalar(e: unknown): boolean {
  return typeof e === 'string' || typeof e === 'boolean' || (typeof e === 'number' && Number.isFinite(e) && !Object.is(e, -0));
}

/** A tag standing for a primitive, which the encoder does not count as a nesting level. */
function isScalarTag(node: object): boolean {
  if (!Object.hasOwn(node, TAG)) return false;
  const tag = (node as Record<string, unknown>)[TAG];
  return tag === 'u' || tag === 'n' || tag === 'b';
}

function isDropped(e: unknown): boolean {
  return typeof e === 'function' || typeof e === 'symbol';
}

/** True for objects that are neither plain objects nor arrays. */
function isInstance(v: object): boolean {
  if (Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto !== Object.prototype && proto !== null;
}

/** True for the built-in types the codec tags itself. */
function isBuiltin(v: object): boolean {
  return (
    ArrayBuffer.isView(v) ||
    v instanceof ArrayBuffer ||
    v instanceof Date ||
    v instanceof Map ||
    v instanceof Set ||
    v instanceof RegExp ||
    v instanceof Error ||
    v instanceof String ||
    v instanceof Number ||
    v instanceof Boolean
  );
}

/** The name of the class whose prototype is `proto`. */
function className(proto: object): string {
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof ctor === 'function' ? ctor.name : '';
  return name === '' ? 'Object' : truncateUtf8(name, 255);
}

/** A shallow plain copy of an instance's own enumerable properties. */
function ownProperties(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) defineOwn(out, key, (obj as Record<string, unknown>)[key]);
  return out;
}

/** Sets an own data property without ever going through a `__proto__` setter. */
function defineOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (target as Record<string, unknown>)[key] = value;
  }
}

function callToWire(entry: TypeEntry, obj: object): unknown {
  try {
    return entry.toWire?.(obj);
  } catch (err) {
    throw new HopwireError(ErrorCode.ENCODE, `toWire of ${entry.name} threw: ${String(err)}`, { cause: err });
  }
}

/** Builds an instance of a registered class from decoded data, never calling its constructor. */
function rebuild(entry: TypeEntry, data: unknown): object {
  if (entry.fromWire !== undefined) {
    try {
      return entry.fromWire(data);
    } catch (err) {
      throw new HopwireError(ErrorCode.DECODE, `fromWire of ${entry.name} threw: ${String(err)}`, { cause: err });
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new HopwireError(ErrorCode.DECODE, `${entry.name} needs an object of properties, got ${Array.isArray(data) ? 'an array' : typeof data}`);
  }
  const out = Object.create(entry.prototype) as Record<string, unknown>;
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (needsDefine(entry.prototype, key)) {
      Object.defineProperty(out, key, { value: record[key], writable: true, enumerable: true, configurable: true });
    } else {
      out[key] = record[key]; // a plain own data property, like defineProperty but on V8's fast path
    }
  }
  return out;
}

/** Per prototype: keys whose assignment would not simply create an own property. */
const defineKeys = new WeakMap<object, Map<string, boolean>>();

/**
 * True when assigning `key` on an instance could run code or fail: an
 * accessor or a read-only property somewhere on the prototype chain, or
 * `__proto__`. Such keys are defined, never assigned. Cached per class.
 */
function needsDefine(prototype: object, key: string): boolean {
  if (key === '__proto__') return true;
  let known = defineKeys.get(prototype);
  if (known === undefined) defineKeys.set(prototype, (known = new Map<string, boolean>()));
  let answer = known.get(key);
  if (answer === undefined) {
    answer = false;
    for (let p: object | null = prototype; p !== null; p = Object.getPrototypeOf(p) as object | null) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d === undefined) continue;
      answer = d.get !== undefined || d.set !== undefined || d.writable !== true;
      break;
    }
    if (known.size < 1024) known.set(key, answer); // a peer cannot grow the cache without bound
  }
  return answer;
}

function reviveNumber(v: unknown): number {
  switch (v) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.POSITIVE_INFINITY;
    case '-Infinity':
      return Number.NEGATIVE_INFINITY;
    case '-0':
      return -0;
    default:
      throw badTag('n', '"NaN", "Infinity", "-Infinity" or "-0"');
  }
}

function reviveRegExp(v: unknown): RegExp {
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') {
    throw badTag('r', '[source, flags]');
  }
  try {
    return new RegExp(v[0], v[1]);
  } catch (err) {
    throw new HopwireError(ErrorCode.DECODE, `invalid RegExp: ${(err as Error).message}`, { cause: err });
  }
}

function reviveError(v: unknown): Error {
  if (typeof v !== 'object' || v === null) throw badTag('e', '{ name, message }');
  const { name, message, code } = v as Record<string, unknown>;
  const err = new Error(typeof message === 'string' ? message : '');
  if (typeof name === 'string') err.name = name;
  if (typeof code === 'string' || typeof code === 'number') {
    Object.defineProperty(err, 'code', { value: code, writable: true, enumerable: true, configurable: true });
  }
  err.stack = `${err.name}: ${err.message}`; // the local stack would only mislead
  return err;
}

function reviveAttachment(node: Record<string, unknown>, attachments: readonly Buffer[]): unknown {
  const { i, t } = node;
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= attachments.length) {
    throw new HopwireError(ErrorCode.DECODE, `attachment index ${String(i)} is out of range (${attachments.length} attached)`);
  }
  const buf = attachments[i] as Buffer;
  switch (t) {
    case 'Buffer':
      return buf;
    case 'ArrayBuffer':
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    case 'DataView':
      return new DataView(new Uint8Array(buf).buffer); // a copy: the frame's memory may be shared
    default:
      break;
  }
  if (typeof t !== 'string' || !Object.hasOwn(TYPED_ARRAYS, t)) throw badTag('a', 'a known binary type t');
  const Typed = TYPED_ARRAYS[t as TypedArrayName];
  const size = Typed.BYTES_PER_ELEMENT;
  if (buf.length % size !== 0) {
    throw new HopwireError(ErrorCode.DECODE, `${t} attachment of ${buf.length} bytes is not a multiple of ${size}`);
  }
  // A copy into an ArrayBuffer of its own: `.buffer` must not expose the rest
  // of the received frame (or a shared pool), and the alignment is then right.
  return new Typed(new Uint8Array(buf).buffer);
}

function badTag(tag: string, expected: string): HopwireError {
  return new HopwireError(ErrorCode.DECODE, `malformed "${tag}" tag: expected ${expected}`);
}

/** Cuts a string to at most `max` UTF-8 bytes, never inside a character. */
function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}
