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
import { TYPED_ARRAYS, type BinaryName, type TypedArrayName, className, defineOwn, isBuiltin, isInstance } from './codec-builtins.js';
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

/** Stands for "no toWire: walk the instance's own properties" (a toWire may return undefined). */
const OWN_PROPERTIES: unique symbol = Symbol('own properties');

type JsonTree = string | number | boolean | null | JsonTree[] | { [key: string]: JsonTree };

/**
 * Serialises the value tree: JSON-native data only (strings, finite numbers,
 * booleans, null, plain arrays and objects), tags included.
 */
export type TreeWriter<P extends string | Buffer> = (tree: unknown) => P;

/** Per-call encode state. */
interface EncodeState {
  attachments: Uint8Array[];
  /**
   * The objects being walked, at their depth, for depths below
   * {@link SCAN_ANCESTORS}. Entries at the current depth and deeper are
   * stale (left by an earlier branch) and never read.
   */
  ancestors: object[];
  /** The objects being walked deeper than that. */
  deepAncestors: Set<object> | undefined;
  functions: FunctionExporter | undefined;
  /** Set when the walk wrote a tag: the payload needs reviving (the frame's TAGGED flag). */
  tagged: boolean;
}

/** Ancestors at depths below this are compared one by one to find cycles; deeper ones are kept in a Set. */
const SCAN_ANCESTORS = 32;

/**
 * An encode failure on its way up the tree. Each container it passes adds
 * its key, innermost first; `#encode` turns it into an `ERR_ENCODE` that
 * names the whole path.
 */
class PathError extends Error {
  /** The keys from the failure up, innermost first (`.name`, `[3]`, `<Widget>`). */
  readonly path: string[] = [];
}

/** Adds a container's key to a failure passing through it. */
function labelled(err: unknown, key: string): unknown {
  if (err instanceof PathError) err.path.push(key);
  return err;
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
    // A class instance sent as its own properties: walked as it is (each
    // property read once), never copied first.
    let instance: object | undefined;
    if (typeof value === 'object' && value !== null && isInstance(value)) {
      const proto = Object.getPrototypeOf(value) as object;
      const entry = this.#registry.byPrototype(proto);
      if (entry !== undefined) {
        type = entry.name;
        if (entry.toWire === undefined) instance = value;
        else body = callToWire(entry, value);
      } else if (!isBuiltin(value)) {
        type = className(proto);
        instance = value;
      }
    } else if (typeof value === 'symbol' || (typeof value === 'function' && functions === undefined)) {
      throw new HopwireError(ErrorCode.ENCODE, `a ${typeof value} cannot be sent`);
    }
    if (instance === undefined && this.#isPlainJson(body, 0, strict || functions !== undefined)) {
      return { type, payload: write === undefined ? JSON.stringify(body) : write(body), attachments: NO_ATTACHMENTS, tagged: false };
    }
    const state: EncodeState = { attachments: [], ancestors: [], deepAncestors: undefined, functions, tagged: false };
    let tree: JsonTree | typeof SKIP;
    try {
      tree = instance === undefined ? this.#toTree(body, 0, state) : this.#instanceTree(instance, 0, state);
    } catch (err) {
      if (err instanceof PathError) throw new HopwireError(ErrorCode.ENCODE, `${err.message} at $${err.path.reverse().join('')}`);
      throw err;
    }
    if (tree === SKIP) throw new HopwireError(ErrorCode.ENCODE, 'the value returned by toWire cannot be sent');
    // An instance's tree may hold no tag at all (a class of plain fields): then the receiver need not revive it.
    return { type, payload: write === undefined ? JSON.stringify(tree) : write(tree), attachments: state.attachments, tagged: state.tagged };
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

  /**
   * Builds the JSON tree of `v`, tagging what JSON cannot carry.
   *
   * A failure below is thrown as a {@link PathError}, which the containers
   * it passes on the way up label with their keys: no path is built while
   * nothing fails.
   */
  #toTree(v: unknown, depth: number, state: EncodeState): JsonTree | typeof SKIP {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Number.isFinite(v) && !Object.is(v, -0)) return v;
        state.tagged = true;
        return { [TAG]: 'n', v: Object.is(v, -0) ? '-0' : String(v) };
      case 'undefined':
        state.tagged = true;
        return { [TAG]: 'u' };
      case 'bigint':
        state.tagged = true;
        return { [TAG]: 'b', v: v.toString() };
      case 'function':
        if (state.functions === undefined) return SKIP;
        state.tagged = true;
        return { [TAG]: 'f', i: state.functions(v as (...args: unknown[]) => unknown) };
      case 'symbol':
        return SKIP;
      default:
        break;
    }
    if (v === null) return null;
    const obj = v as object;
    if (depth >= this.#maxDepth) throw new PathError(`value is nested deeper than maxDepth (${this.#maxDepth})`);
    // The objects being walked, by depth: a walk goes depth first, so entries
    // [0, depth) are exactly this object's ancestors (deeper ones are stale).
    // A short scan of this array costs less than a Set's add, has and delete.
    const path = state.ancestors;
    const scan = depth < SCAN_ANCESTORS ? depth : SCAN_ANCESTORS;
    for (let i = 0; i < scan; i++) if (path[i] === obj) throw new PathError('circular reference');
    if (depth < SCAN_ANCESTORS) {
      path[depth] = obj;
      return this.#objectTree(obj, depth + 1, state);
    }
    const deep = (state.deepAncestors ??= new Set());
    if (deep.has(obj)) throw new PathError('circular reference');
    deep.add(obj);
    try {
      return this.#objectTree(obj, depth + 1, state);
    } finally {
      deep.delete(obj);
    }
  }

  #objectTree(obj: object, depth: number, state: EncodeState): JsonTree {
    if (Array.isArray(obj)) {
      const out: JsonTree[] = new Array<JsonTree>(obj.length);
      let i = 0;
      try {
        for (; i < obj.length; i++) {
          const t = this.#toTree(obj[i], depth, state);
          out[i] = t === SKIP ? null : t;
        }
      } catch (err) {
        throw labelled(err, `[${i}]`);
      }
      return out;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) return this.#recordTree(obj, depth, state);
    state.tagged = true; // every other kind of object is sent as a tag (a boxed primitive, as its value)
    const entry = this.#registry.byPrototype(proto as object);
    if (entry !== undefined) {
      const data = entry.toWire === undefined ? OWN_PROPERTIES : callToWire(entry, obj);
      return { [TAG]: 'c', n: entry.name, v: this.#dataTree(obj, data, depth, state, entry.name) };
    }
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return this.#attachment(obj, state);
    if (obj instanceof Date) {
      const time = obj.getTime();
      return { [TAG]: 'd', v: Number.isNaN(time) ? null : time };
    }
    if (obj instanceof Map) {
      // String keys travel as an object's: half the containers of the pairs form, so parsing and
      // stringifying cost about a sixth less for a small Map.
      if (objectKeyed(obj)) return { [TAG]: 'M', v: this.#keyedTree(obj as Map<string, unknown>, depth, state) };
      return { [TAG]: 'm', v: this.#pairsTree(obj, depth, state) };
    }
    if (obj instanceof Set) {
      const items: JsonTree[] = [];
      try {
        for (const item of obj) {
          const t = this.#toTree(item, depth, state);
          items.push(t === SKIP ? null : t);
        }
      } catch (err) {
        throw labelled(err, `.item(${items.length})`);
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
      const t = this.#toTree(obj.valueOf(), depth, state);
      return t === SKIP ? null : t;
    }
    // An instance of a class not registered here: its own properties, and its
    // name so the receiver can report it.
    const name = className(proto as object);
    return { [TAG]: 'c', n: name, v: this.#dataTree(obj, OWN_PROPERTIES, depth, state, name) };
  }

  /**
   * The tree of a class instance's data: what its `toWire` returned, or
   * its own properties when `data` is {@link OWN_PROPERTIES} (a `toWire`
   * may return `undefined`).
   */
  #dataTree(obj: object, data: unknown, depth: number, state: EncodeState, name: string): JsonTree {
    let t: JsonTree | typeof SKIP;
    try {
      t = data === OWN_PROPERTIES ? this.#instanceTree(obj, depth, state) : this.#toTree(data, depth, state);
    } catch (err) {
      throw labelled(err, `<${name}>`);
    }
    return t === SKIP ? null : t;
  }

  /**
   * The tree of an instance's own enumerable properties, as {@link #toTree}
   * gives for a plain copy of them (the same depth), without the copy.
   */
  #instanceTree(obj: object, depth: number, state: EncodeState): JsonTree {
    if (depth >= this.#maxDepth) throw new PathError(`value is nested deeper than maxDepth (${this.#maxDepth})`);
    // The instance stands where its copy would: an ancestor already (or the root), so no cycle check.
    if (depth < SCAN_ANCESTORS) state.ancestors[depth] = obj;
    return this.#recordTree(obj, depth + 1, state);
  }

  /** The tree of an object's own enumerable properties, wrapped in an `o` tag when one of them is the tag key. */
  #recordTree(obj: object, depth: number, state: EncodeState): JsonTree {
    const props = this.#propsTree(obj, depth, state);
    if (!Object.hasOwn(props, TAG)) return props;
    state.tagged = true;
    return { [TAG]: 'o', v: props };
  }

  #pairsTree(map: Map<unknown, unknown>, depth: number, state: EncodeState): JsonTree[] {
    const pairs: JsonTree[] = [];
    let key = true;
    try {
      for (const [k, val] of map) {
        key = true;
        const kt = this.#toTree(k, depth, state);
        key = false;
        const vt = this.#toTree(val, depth, state);
        pairs.push([kt === SKIP ? null : kt, vt === SKIP ? null : vt]);
      }
    } catch (err) {
      throw labelled(err, key ? `.key(${pairs.length})` : `.get(${pairs.length})`);
    }
    return pairs;
  }

  /** The entries of a Map whose keys pass {@link objectKeyed}, as an object. */
  #keyedTree(map: Map<string, unknown>, depth: number, state: EncodeState): { [key: string]: JsonTree } {
    const out: { [key: string]: JsonTree } = {};
    let i = 0;
    try {
      for (const [k, val] of map) {
        const t = this.#toTree(val, depth, state);
        out[k] = t === SKIP ? null : t;
        i++;
      }
    } catch (err) {
      throw labelled(err, `.get(${i})`);
    }
    return out;
  }

  #propsTree(obj: object, depth: number, state: EncodeState): { [key: string]: JsonTree } {
    const out: { [key: string]: JsonTree } = {};
    const record = obj as Record<string, unknown>;
    let key = '';
    try {
      for (key of Object.keys(record)) {
        const t = this.#toTree(record[key], depth, state);
        if (t === SKIP) continue;
        if (key === '__proto__') defineOwn(out, key, t);
        else out[key] = t;
      }
    } catch (err) {
      throw labelled(err, `.${key}`);
    }
    return out;
  }

  #attachment(obj: ArrayBufferView | ArrayBuffer, state: EncodeState): JsonTree {
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
        if (!(name in TYPED_ARRAYS)) throw new PathError(`cannot send a ${name}`);
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

/**
 * True when a Map can travel as an object (tag `M`) and come back the
 * same: every key a string; none `__proto__` (a prototype, not a key, to an
 * object); none an object would move to the front (array indices; any key
 * starting with a digit counts as one); and no `constructor` or `toJSON`,
 * with which msgpackr takes an object for something other than a plain
 * object and calls its `toJSON`.
 */
function objectKeyed(map: Map<unknown, unknown>): boolean {
  for (const k of map.keys()) {
    if (typeof k !== 'string') return false;
    const c = k.charCodeAt(0);
    if (c >= 48 && c <= 57) return false;
    if ((c === 95 && k === '__proto__') || (c === 99 && k === 'constructor') || (c === 116 && k === 'toJSON')) return false;
  }
  return true;
}

function isPlainScalar(e: unknown): boolean {
  return typeof e === 'string' || typeof e === 'boolean' || (typeof e === 'number' && Number.isFinite(e) && !Object.is(e, -0));
}

function isDropped(e: unknown): boolean {
  return typeof e === 'function' || typeof e === 'symbol';
}
