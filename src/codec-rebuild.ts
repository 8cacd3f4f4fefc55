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
 * prototype holding copies of the data's own enumerable properties (as own
 * data properties).
 *
 * @throws HopwireError `ERR_DECODE` when the hook throws, or without a hook
 * when the data is not an object of properties
 */
export function rebuild(entry: TypeEntry, data: unknown): object {
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
  const out = blankInstance(entry);
  const rules = fieldRules(entry);
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) setField(out, rules, key, record[key]);
  return out;
}

/**
 * An object of a registered class's prototype, with no properties and its
 * constructor not called: the instance {@link setField} fills.
 */
export function blankInstance(entry: TypeEntry): Record<string, unknown> {
  return Object.create(entry.prototype) as Record<string, unknown>;
}

/** Of one class: per key met so far, whether assigning it on an instance could run code or fail. */
export interface FieldRules {
  readonly prototype: object;
  readonly needsDefine: Map<string, boolean>;
}

/** Per prototype: its {@link FieldRules}, filled as keys are met. */
const rulesByPrototype = new WeakMap<object, FieldRules>();

/** The {@link FieldRules} of a class: looked up once per instance, not once per field. */
export function fieldRules(entry: TypeEntry): FieldRules {
  let rules = rulesByPrototype.get(entry.prototype);
  if (rules === undefined) rulesByPrototype.set(entry.prototype, (rules = { prototype: entry.prototype, needsDefine: new Map() }));
  return rules;
}

/**
 * Sets a field of an instance being rebuilt as an own data property, as
 * `Object.defineProperty` would, but by plain assignment (V8's fast path)
 * whenever that is the same thing.
 *
 * @param out - the instance, from {@link blankInstance}
 * @param rules - its class's {@link fieldRules}
 */
export function setField(out: Record<string, unknown>, rules: FieldRules, key: string, value: unknown): void {
  if (needsDefine(rules, key)) {
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

/**
 * True when assigning `key` on an instance could run code or fail: an
 * accessor or a read-only property somewhere on the prototype chain, or
 * `__proto__`. Such keys are defined, never assigned. Cached per class.
 */
function needsDefine(rules: FieldRules, key: string): boolean {
  if (key === '__proto__') return true;
  const known = rules.needsDefine;
  let answer = known.get(key);
  if (answer === undefined) {
    answer = false;
    for (let p: object | null = rules.prototype; p !== null; p = Object.getPrototypeOf(p) as object | null) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d === undefined) continue;
      answer = d.get !== undefined || d.set !== undefined || d.writable !== true;
      break;
    }
    if (known.size < 1024) known.set(key, answer); // a peer cannot grow the cache without bound
  }
  return answer;
}
