/**
 * The checks the option resolvers are built from: each takes a given value
 * (or `undefined` for the default) and returns it, or throws
 * `ERR_INVALID_OPTION` with a message naming the option and the bad value.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** `value` itself, when it is an object. @throws HopwireError `ERR_INVALID_OPTION` naming it `what` */
export function checkObject<T extends object>(value: T, what: string): T {
  if (typeof value !== 'object' || (value as unknown) === null) invalid(`${what} must be an object`);
  return value;
}

/** `value` when it is an integer from `min` to `max`, `fallback` when it is `undefined`. @throws HopwireError `ERR_INVALID_OPTION` */
export function integer(value: unknown, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** `value` when it is a boolean, `fallback` when it is `undefined`. @throws HopwireError `ERR_INVALID_OPTION` */
export function boolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** `value` when it is one of `allowed`, `fallback` when it is `undefined`. @throws HopwireError `ERR_INVALID_OPTION` */
export function oneOf<const T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) invalid(`${name} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  return value as T;
}

/** Throws the `ERR_INVALID_OPTION` error of a bad option. */
export function invalid(message: string): never {
  throw new HopwireError(ErrorCode.INVALID_OPTION, message);
}

/** A bad value as an error message shows it: strings quoted, numbers and booleans as they are, anything else by its type. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return value === null ? 'null' : typeof value;
}
