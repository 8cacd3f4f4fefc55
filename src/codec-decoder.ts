/**
 * The decode side of the codec: JSON text and raw attachments in, the value
 * out, with tagged values revived (see `src/codec-format.ts`) and registered
 * classes rebuilt.
 *
 * @module
 */
import { defineOwn, reviveAttachment, reviveError, reviveNumber, reviveRegExp } from './codec-builtins.js';
import { TAG, badTag } from './codec-format.js';
import { rebuild } from './codec-rebuild.js';
import { ErrorCode, HopwireError } from './errors.js';
import type { TypeRegistry } from './type-registry.js';

/** A decoded value. */
export interface DecodedValue {
  /** The value, with registered classes rebuilt. */
  value: unknown;
  /** The sender's type name of the top-level value, or `''`. */
  type: string;
  /** Whether the top-level type name is registered here. */
  known: boolean;
  /** Type names met in the payload that are not registered here (they decoded to plain objects). */
  unknownTypes: readonly string[];
}

/** Turns a received function id into a callable stand-in. Without one, a function tag is a decode error. */
export type FunctionImporter = (id: number) => (...args: unknown[]) => Promise<unknown>;

/** Per-call decode state. */
interface DecodeState {
  attachments: readonly Buffer[];
  unknownTypes: Set<string> | undefined;
  functions: FunctionImporter | undefined;
}

/** The `unknownTypes` of a payload that names none: one frozen array, not one per message. */
const NO_TYPES: readonly string[] = Object.freeze([]);

/** Decodes values for a `Codec`, with its registry and its limits. */
export class ValueDecoder {
  readonly #registry: TypeRegistry;
  readonly #maxDepth: number;
  readonly #maxBigIntDigits: number;

  /**
   * @param registry - the classes to rebuild
   * @param maxDepth - deepest nesting accepted in a tagged payload
   * @param maxBigIntDigits - most digits of a received BigInt
   */
  constructor(registry: TypeRegistry, maxDepth: number, maxBigIntDigits: number) {
    this.#registry = registry;
    this.#maxDepth = maxDepth;
    this.#maxBigIntDigits = maxBigIntDigits;
  }

  /**
   * Decodes a payload.
   *
   * @param type - the frame's type name
   * @param payload - the JSON text
   * @param attachments - the frame's attachments
   * @param tagged - the frame's TAGGED flag
   * @param functions - makes stand-ins for received functions; without it they are a decode error
   * @throws HopwireError `ERR_DECODE` for invalid JSON, a malformed tag, a
   * bad attachment reference, nesting past `maxDepth`, or a `fromWire` hook
   * that throws.
   */
  decode(type: string, payload: Buffer | string, attachments: readonly Buffer[], tagged: boolean, functions: FunctionImporter | undefined): DecodedValue {
    let value: unknown;
    try {
      value = JSON.parse(typeof payload === 'string' ? payload : payload.toString());
    } catch (err) {
      throw new HopwireError(ErrorCode.DECODE, `payload is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    return this.decodeTree(type, value, attachments, tagged, functions);
  }

  /**
   * Decodes an already parsed payload (the JSON tree, however it was
   * serialised): revives its tags and rebuilds registered classes. The tree
   * is taken over: revived in place, and the plain object holding a
   * registered class's data becomes the instance.
   *
   * @throws HopwireError `ERR_DECODE` as {@link decode}, but for the parsing
   */
  decodeTree(type: string, tree: unknown, attachments: readonly Buffer[], tagged: boolean, functions: FunctionImporter | undefined): DecodedValue {
    let value = tree;
    let unknownTypes: readonly string[] = NO_TYPES;
    if (tagged) {
      const state: DecodeState = { attachments, unknownTypes: undefined, functions };
      value = this.#revive(value, 0, state);
      if (state.unknownTypes !== undefined) unknownTypes = [...state.unknownTypes];
    }
    let known = false;
    if (type !== '') {
      const entry = this.#registry.byName(type);
      if (entry !== undefined) {
        known = true;
        value = rebuild(entry, value, value === tree);
      }
    }
    return { value, type, known, unknownTypes };
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
        return this.#reviveMap(v, depth, state);
      case 'M':
        return this.#reviveKeyedMap(v, depth, state);
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
        const entry = this.#registry.byName(name);
        if (entry === undefined) {
          (state.unknownTypes ??= new Set()).add(name);
          return data;
        }
        return rebuild(entry, data, data === v);
      }
      default:
        throw new HopwireError(ErrorCode.DECODE, `unknown tag ${typeof tag === 'string' ? JSON.stringify(tag.slice(0, 40)) : typeof tag}`);
    }
  }

  #reviveMap(v: unknown, depth: number, state: DecodeState): Map<unknown, unknown> {
    if (!Array.isArray(v)) throw badTag('m', 'an array of pairs');
    const map = new Map<unknown, unknown>();
    for (const pair of v as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw badTag('m', 'an array of [key, value] pairs');
      map.set(this.#revive(pair[0], depth + 1, state), this.#revive(pair[1], depth + 1, state));
    }
    return map;
  }

  /** A Map sent as an object (tag `M`): its own keys, in order, are the Map's keys. */
  #reviveKeyedMap(v: unknown, depth: number, state: DecodeState): Map<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badTag('M', 'an object');
    const record = v as Record<string, unknown>;
    const map = new Map<string, unknown>();
    for (const key of Object.keys(record)) map.set(key, this.#revive(record[key], depth + 1, state));
    return map;
  }
}

/** A tag standing for a primitive, which the encoder does not count as a nesting level. */
function isScalarTag(node: object): boolean {
  if (!Object.hasOwn(node, TAG)) return false;
  const tag = (node as Record<string, unknown>)[TAG];
  return tag === 'u' || tag === 'n' || tag === 'b';
}
