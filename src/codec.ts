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
 * This file holds the `Codec` facade; the work is done by
 * `src/codec-encoder.ts` and `src/codec-decoder.ts`, with the tag format in
 * `src/codec-format.ts`, built-in types in `src/codec-builtins.ts` and
 * registered classes in `src/codec-rebuild.ts`.
 *
 * @module
 */
import { className, isBuiltin, ownProperties } from './codec-builtins.js';
import { type DecodedValue, type FunctionImporter, ValueDecoder } from './codec-decoder.js';
import { type EncodedValue, type FunctionExporter, type TreeWriter, ValueEncoder } from './codec-encoder.js';
import { callToWire, rebuild } from './codec-rebuild.js';
import { ErrorCode, HopwireError } from './errors.js';
import { TypeRegistry } from './type-registry.js';

export { TAG } from './codec-format.js';
export type { DecodedValue, FunctionImporter } from './codec-decoder.js';
export type { EncodedValue, FunctionExporter, TreeWriter } from './codec-encoder.js';

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
  readonly #encoder: ValueEncoder;
  readonly #decoder: ValueDecoder;

  /**
   * @param registry - the classes to rebuild
   * @param options - limits
   */
  constructor(registry: TypeRegistry = new TypeRegistry(), options: CodecOptions = {}) {
    this.registry = registry;
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    const maxBigIntDigits = options.maxBigIntDigits ?? DEFAULT_MAX_BIGINT_DIGITS;
    if (!Number.isInteger(maxDepth) || maxDepth < 1) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'maxDepth must be a positive integer');
    }
    if (!Number.isInteger(maxBigIntDigits) || maxBigIntDigits < 1) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'maxBigIntDigits must be a positive integer');
    }
    this.#encoder = new ValueEncoder(registry, maxDepth);
    this.#decoder = new ValueDecoder(registry, maxDepth, maxBigIntDigits);
  }

  /**
   * Encodes a value.
   *
   * @throws HopwireError `ERR_ENCODE` for a cycle, nesting past `maxDepth`,
   * a top-level function or symbol, or a `toWire` hook that throws.
   */
  encode(value: unknown, functions?: FunctionExporter): EncodedValue {
    return this.#encoder.encode(value, functions);
  }

  /**
   * Encodes a value into the same tree as {@link encode}, serialised by
   * `write` instead of `JSON.stringify` (`src/codec-msgpack.ts`).
   *
   * @param strict - `write` keeps what JSON drops (functions, symbols)
   * @throws HopwireError `ERR_ENCODE` as {@link encode}
   */
  encodeWith<P extends string | Buffer>(value: unknown, functions: FunctionExporter | undefined, write: TreeWriter<P>, strict: boolean): EncodedValue<P> {
    return this.#encoder.encodeWith(value, functions, write, strict);
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
    return this.#decoder.decode(type, payload, attachments, tagged, functions);
  }

  /**
   * Decodes a payload already parsed into its tree (`src/codec-msgpack.ts`).
   * The tree is taken over, not copied: tagged values are revived in place,
   * and the data of a registered class becomes the instance.
   *
   * @throws HopwireError `ERR_DECODE` as {@link decode}
   */
  decodeTree(type: string, tree: unknown, attachments: readonly Buffer[] = [], tagged = false, functions?: FunctionImporter): DecodedValue {
    return this.#decoder.decodeTree(type, tree, attachments, tagged, functions);
  }
}
