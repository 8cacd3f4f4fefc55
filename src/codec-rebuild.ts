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
  if (owned && Object.getPrototypeOf(data) === Object.prototype) return Object.setPrototypeOf(data, entry.prototype) as object;
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
