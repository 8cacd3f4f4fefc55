/**
 * MessagePack payloads (`codec: 'msgpack'`), with msgpackr. The value is
 * walked into exactly the tree the JSON codec builds — tags for classes,
 * `Date`, `Map`, `Set`, `BigInt`, errors; binary data in attachments — and
 * that tree is packed instead of stringified; the receiver unpacks it and
 * revives the tags with the same code. So every value round-trips as it does
 * with JSON; only the payload bytes differ.
 *
 * msgpackr is an optional peer dependency: it is loaded here, on first use,
 * and only when `codec: 'msgpack'` is asked for.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { Codec, DecodedValue, EncodedValue, FunctionExporter, FunctionImporter, TreeWriter } from './codec.js';
import { ErrorCode, HopwireError } from './errors.js';

/** The parts of msgpackr used here (its own types are not needed at run time). */
interface Msgpackr {
  Packr: new (options: object) => { pack(value: unknown): Buffer };
  Unpackr: new (options: object) => { unpack(bytes: Uint8Array): unknown };
}

let loaded: Msgpackr | undefined;

/**
 * Loads msgpackr once.
 *
 * @throws HopwireError `ERR_INVALID_OPTION` when it is not installed
 */
export function loadMsgpackr(): Msgpackr {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('msgpackr') as Msgpackr;
  } catch (err) {
    throw new HopwireError(ErrorCode.INVALID_OPTION, "codec: 'msgpack' needs the msgpackr package: npm install msgpackr", { cause: err });
  }
  return loaded;
}

/**
 * Standard MessagePack out (no msgpackr records); in, no structured-clone
 * references (they could build cycles) and 64-bit integers read as numbers
 * (as JSON reads them).
 */
const PACK_OPTIONS = Object.freeze({ useRecords: false, moreTypes: false });
const UNPACK_OPTIONS = Object.freeze({ useRecords: false, mapsAsObjects: true, structuredClone: false, int64AsType: 'number' });

/**
 * Encodes and decodes values as MessagePack, with a {@link Codec}'s registry,
 * limits and tags: what `codec: 'msgpack'` connections use. Needs msgpackr.
 *
 * @example
 * ```ts
 * const packed = new MsgpackCodec(new Codec(new TypeRegistry([Widget])));
 * const { type, payload, attachments, tagged } = packed.encode(new Widget('bolt', 2));
 * packed.decode(type, payload, attachments.map((a) => Buffer.from(a)), tagged).value instanceof Widget; // true
 * ```
 */
export class MsgpackCodec {
  readonly #codec: Codec;
  readonly #write: TreeWriter<Buffer>;
  readonly #unpack: (bytes: Uint8Array) => unknown;

  /**
   * @param codec - the value codec whose tree is packed
   * @throws HopwireError `ERR_INVALID_OPTION` when msgpackr is not installed
   */
  constructor(codec: Codec) {
    const { Packr, Unpackr } = loadMsgpackr();
    const packr = new Packr({ ...PACK_OPTIONS });
    const unpackr = new Unpackr({ ...UNPACK_OPTIONS });
    this.#codec = codec;
    this.#write = (tree) => {
      try {
        return packr.pack(tree);
      } catch (err) {
        // msgpackr reads some keys itself: an own `constructor` that is not Object, with a `toJSON` beside it, makes it call that.
        throw new HopwireError(ErrorCode.ENCODE, `MessagePack cannot pack the value: ${String(err)}`, { cause: err });
      }
    };
    this.#unpack = (bytes) => unpackr.unpack(bytes);
  }

  /**
   * Encodes a value; the payload is MessagePack bytes.
   *
   * @throws HopwireError `ERR_ENCODE` as the JSON codec does
   */
  encode(value: unknown, functions?: FunctionExporter): EncodedValue<Buffer> {
    return this.#codec.encodeWith(value, functions, this.#write, true);
  }

  /**
   * Decodes a MessagePack payload.
   *
   * @throws HopwireError `ERR_DECODE` for bytes that are not one MessagePack
   * value, and as the JSON codec does for what is in it
   */
  decode(type: string, payload: Uint8Array, attachments: readonly Buffer[] = [], tagged = false, functions?: FunctionImporter): DecodedValue {
    let tree: unknown;
    try {
      tree = this.#unpack(payload);
    } catch (err) {
      throw new HopwireError(ErrorCode.DECODE, `payload is not valid MessagePack: ${(err as Error).message}`, { cause: err });
    }
    checkJsonTree(tree);
    return this.#codec.decodeTree(type, tree, attachments, tagged, functions);
  }
}

/**
 * Throws `ERR_DECODE` unless `tree` holds only what JSON text can: strings,
 * finite numbers, booleans, null, arrays and plain objects. hopwire sends
 * nothing else; a peer's MessagePack extensions (msgpackr's `Date`, `Set`,
 * `Error`, `RegExp`, typed arrays, `undefined`, …) and `bin` values would
 * otherwise arrive as objects the JSON path never makes. Iterative, so a
 * deep payload cannot overflow the stack.
 */
function checkJsonTree(tree: unknown): void {
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    switch (typeof node) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(node)) continue;
        break;
      case 'object': {
        if (node === null) continue;
        if (Array.isArray(node)) {
          if (Object.getPrototypeOf(node) !== Array.prototype) break;
          for (let i = 0; i < node.length; i++) stack.push(node[i]);
          continue;
        }
        const proto: unknown = Object.getPrototypeOf(node);
        if (proto !== Object.prototype && proto !== null) break;
        for (const key of Object.keys(node)) stack.push((node as Record<string, unknown>)[key]);
        continue;
      }
      default:
        break;
    }
    throw new HopwireError(ErrorCode.DECODE, `a MessagePack payload holds a ${describe(node)}, which hopwire never sends (only what JSON can carry)`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'object' || v === null) return typeof v;
  const proto: unknown = Object.getPrototypeOf(v);
  const name: unknown = typeof proto === 'object' && proto !== null ? (proto as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  return typeof name === 'string' && name !== '' ? name : 'non-plain object';
}
