/**
 * Registered classes on the wire: their `toWire` hook on the way out, and
 * their rebuilding on the way in, without calling their constructor.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import type { TypeEntry } from './type-registry.js';

/**
 * The wire form of an instance of a registered class: what its `toWire` hook returns.
 *
 * @throws HopwireError `ERR_ENCODE` when the hook throws
 */
export function callToWire(entry: TypeEntry, obj: object): unknown {
  try {
    return entry.toWire?.(obj);
  } catch (err) {
    throw new HopwireError(ErrorCode.ENCODE, `toWire of ${entry.name} threw: ${String(err)}`, { cause: err });
  }
}

/**
 * Builds an instance of a registered class from decoded data, never calling
 * its constructor: through its `fromWire` hook, or as an object of its
 * prototype holding the data's own properties.
 *
 * @param owned - the data is the parser's own node (a plain object fresh
 * from `JSON.parse` or MessagePack, referenced nowhere else; not what a
 * `fromWire` returned): it becomes the instance itself, by changing its
 * prototype, instead of being copied. Its properties stay own data
 * properties, as a copy's are.
 * @throws HopwireError `ERR_DECODE` when the hook throws, or without a hook
 * when the data is not an object of properties
 */
export function rebuild(entry: TypeEntry, data: unknown, owned = false): object {
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
  // Data the decoder does not own is copied first: spreading defines its own enumerable properties
  // (symbol-keyed ones too) as own data properties and never runs a setter, not even one on
  // Object.prototype. Then, like the parser's own objects, the copy gets the class's prototype, so no
  // property is ever assigned through it.
  const own = owned && Object.getPrototypeOf(data) === Object.prototype ? data : { ...data };
  return Object.setPrototypeOf(own, entry.prototype) as object;
}
