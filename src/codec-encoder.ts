/**
 * The encode side of the codec: a value in, JSON text and raw attachments out.
 *
 * JSON-native values take the fast path (one cheap scan, then
 * `JSON.stringify`); anything else is walked into a JSON tree where what JSON
 * cannot carry is tagged (see `src/codec-format.ts`), and binary data is
 * moved to attachments.
 *
 * @module
 */
import { TYPED_ARRAYS, type BinaryName, type TypedArrayName, className, defineOwn, isBuiltin, isInstance, ownProperties } from './codec-builtins.js';
import { TAG } from './codec-format.js';
import { callToWire } from './codec-rebuild.js';
import { ErrorCode, HopwireError } from './errors.js';
import type { TypeRegistry } from './type-registry.js';

/**
 * An encoded value, ready to be put in a frame. The payload is JSON text
 * (`string`), or MessagePack bytes (`Buffer`) from `src/codec-msgpack.ts`.
 */
export interface EncodedValue<P extends string | Buffer = string> {
  /** Type name of the top-level value: its registered name, its class name if unregistered, or `''`. */
  type: string;
  /** JSON text, or MessagePack bytes. */
  payload: P;
  /** Raw bytes referenced from the payload by index. */
  attachments: readonly Uint8Array[];
  /** Whether the payload holds tagged values (the frame's TAGGED flag). */
  tagged: boolean;
}

/**
 * Turns a function inside a value into an id the peer can call back (see
 * `src/remote-functions.ts`). Without one, functions are dropped as JSON does.
 */
export type FunctionExporter = (fn: (...args: unknown[]) => unknown) => number;

/** Binary values smaller than this are copied at encode time. */
const COPY_ATTACHMENTS_BELOW = 64 * 1024;

/** The attachments of a plain payload: one frozen array, not one per message. */
const NO_ATTACHMENTS: readonly Uint8Array[] = Object.freeze([]);

/** Marks a value JSON would drop (a function or symbol). */
const SKIP: unique symbol = Symbol('skip');

type JsonTree = string | number | boolean | null | JsonTree[] | { [key: string]: JsonTree };

/**
 * Serialises the value tree: JSON-native data only (strings, finite numbers,
 * booleans, null, plain arrays and objects), tags included.
 */
export type TreeWriter<P extends string | Buffer> = (tree: unknown) => P;

/** Per-call encode state. */
interface EncodeState {
  attachments: Uint8Array[];
  ancestors: Set<object>;
  functions: FunctionExporter | undefined;
}

/** Encodes values for a `Codec`, with its registry and its `maxDepth`. */
export class ValueEncoder {
  readonly #registry: TypeRegistry;
  readonly #maxDepth: number;

  /**
   * @param registry - the registered classes, sent by name
   * @param maxDepth - deepest nesting accepted
   */
  constructor(registry: TypeRegistry, maxDepth: number) {
    this.#registry = registry;
    this.#maxDepth = maxDepth;
  }

  /**
   * Encodes a value.
   *
   * @param value - the value
   * @param functions - turns functions into ids; without it they are dropped
   * @throws HopwireError `ERR_ENCODE` for a cycle, nesting past `maxDepth`,
   * a top-level function or symbol, or a `toWire` hook that throws.
   */
  encode(value: unknown, functions: FunctionExporter | undefined): EncodedValue {
    // JSON.stringify is called directly on this path (no writer function): it is the hot one.
    return this.#encode(value, functions, undefined, false) as EncodedValue;
  }

  /**
   * Encodes a value with another serialiser of the same tree (MessagePack).
   *
   * @param value - the value
   * @param functions - turns functions into ids; without it they are dropped
   * @param write - serialises the tree
   * @param strict - whether `write` keeps what JSON drops (a function or
   * symbol in an object): then such values take the tree walk, which drops them
   */
  encodeWith<P extends string | Buffer>(value: unknown, functions: FunctionExporter | undefined, write: TreeWriter<P>, strict: boolean): EncodedValue<P> {
    return this.#encode(value, functions, write, strict) as EncodedValue<P>;
  }

  /** Encodes with `write`, or `JSON.stringify` when it is undefined. */
  #encode(value: unknown, functions: FunctionExporter | undefined, write: TreeWriter<string | Buffer> | undefined, strict: boolean): EncodedValue<string | Buffer> {
    let type = '';
    let body = value;
    if (typeof value === 'object' && value !== null && isInstance(value)) {
      const proto = Object.getPrototypeOf(value) as object;
      const entry = this.#registry.byPrototype(proto);
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
    if (this.#isPlainJson(body, 0, strict || functions !== undefined)) {
      return { type, payload: write === undefined ? JSON.stringify(body) : write(body), attachments: NO_ATTACHMENTS, tagged: false };
    }
    const state: EncodeState = { attachments: [], ancestors: new Set(), functions };
    const tree = this.#toTree(body, 0, state, '$');
    if (tree === SKIP) throw new HopwireError(ErrorCode.ENCODE, 'the value returned by toWire cannot be sent');
    return { type, payload: write === undefined ? JSON.stringify(tree) : write(tree), attachments: state.attachments, tagged: true };
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
        // for-in (own keys, plus any enumerable ones a library put on Object.prototype,
        // which are then merely checked too) is about twice as fast as Object.keys here.
        for (const key in record) {
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
    const entry = this.#registry.byPrototype(proto as object);
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
}

function isPlainScalar(e: unknown): boolean {
  return typeof e === 'string' || typeof e === 'boolean' || (typeof e === 'number' && Number.isFinite(e) && !Object.is(e, -0));
}

function isDropped(e: unknown): boolean {
  return typeof e === 'function' || typeof e === 'symbol';
}
