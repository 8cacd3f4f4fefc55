/**
 * What the codec knows of built-in types: which objects are plain and which
 * are instances, class names, own properties, and the reviving of the
 * built-ins it tags (numbers JSON cannot carry, `RegExp`, `Error`, binary
 * attachments).
 *
 * @module
 */
import { badTag } from './codec-format.js';
import { ErrorCode, HopwireError } from './errors.js';

/** The typed array classes sent as attachments, by name. */
export const TYPED_ARRAYS = {
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
/** The name of a class in {@link TYPED_ARRAYS}. */
export type TypedArrayName = keyof typeof TYPED_ARRAYS;
/** The binary type of an attachment (the `t` field of an `a` tag). */
export type BinaryName = TypedArrayName | 'Buffer' | 'DataView' | 'ArrayBuffer';

/** True for objects that are neither plain objects nor arrays. */
export function isInstance(v: object): boolean {
  if (Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto !== Object.prototype && proto !== null;
}

/** True for the built-in types the codec tags itself. */
export function isBuiltin(v: object): boolean {
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
export function className(proto: object): string {
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof ctor === 'function' ? ctor.name : '';
  return name === '' ? 'Object' : truncateUtf8(name, 255);
}

/** A shallow plain copy of an instance's own enumerable properties. */
export function ownProperties(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) defineOwn(out, key, (obj as Record<string, unknown>)[key]);
  return out;
}

/** Sets an own data property without ever going through a `__proto__` setter. */
export function defineOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (target as Record<string, unknown>)[key] = value;
  }
}

/** Cuts a string to at most `max` UTF-8 bytes, never inside a character. */
export function truncateUtf8(s: string, max: number): string {
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

/**
 * The number of an `n` tag.
 *
 * @throws HopwireError `ERR_DECODE` unless `v` is `"NaN"`, `"Infinity"`, `"-Infinity"` or `"-0"`
 */
export function reviveNumber(v: unknown): number {
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

/**
 * The `RegExp` of an `r` tag.
 *
 * @throws HopwireError `ERR_DECODE` unless `v` is a valid `[source, flags]`
 */
export function reviveRegExp(v: unknown): RegExp {
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') {
    throw badTag('r', '[source, flags]');
  }
  try {
    return new RegExp(v[0], v[1]);
  } catch (err) {
    throw new HopwireError(ErrorCode.DECODE, `invalid RegExp: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The `Error` of an `e` tag: its name, message and `code`, with a stack of
 * its name and message only.
 *
 * @throws HopwireError `ERR_DECODE` unless `v` is an object
 */
export function reviveError(v: unknown): Error {
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

/**
 * The binary value of an `a` tag, made from the frame attachment it points to.
 *
 * @param node - the tag
 * @param attachments - the frame's attachments
 * @throws HopwireError `ERR_DECODE` for an index out of range, an unknown
 * binary type, or a length that is not a multiple of the element size
 */
export function reviveAttachment(node: Record<string, unknown>, attachments: readonly Buffer[]): unknown {
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
