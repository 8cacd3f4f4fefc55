/**
 * The tagged JSON format of the codec: the key that marks a tagged value, and
 * the error for a tag whose fields are wrong.
 *
 * A tagged value is a JSON object `{"$hw": tag, …}`; the tags are:
 *
 * | tag | value                         | fields                                  |
 * | --- | ----------------------------- | --------------------------------------- |
 * | `u` | `undefined`                   | —                                       |
 * | `n` | `NaN`, `±Infinity`, `-0`      | `v`: `"NaN"`, `"Infinity"`, `"-Infinity"` or `"-0"` |
 * | `b` | `BigInt`                      | `v`: decimal string                     |
 * | `d` | `Date`                        | `v`: time in ms, or `null` if invalid   |
 * | `r` | `RegExp`                      | `v`: `[source, flags]`                  |
 * | `e` | `Error`                       | `v`: `{ name, message, code? }`         |
 * | `m` | `Map`                         | `v`: `[[key, value], …]`                |
 * | `s` | `Set`                         | `v`: `[item, …]`                        |
 * | `a` | binary data                   | `i`: attachment index, `t`: binary type |
 * | `f` | function                      | `i`: function id                        |
 * | `o` | plain object with a `$hw` key | `v`: its properties                     |
 * | `c` | class instance                | `n`: type name, `v`: its data           |
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The key that marks a tagged value in the JSON payload. */
export const TAG = '$hw';

/**
 * The decode error for a malformed tag.
 *
 * @param tag - the tag
 * @param expected - what its fields should have been
 */
export function badTag(tag: string, expected: string): HopwireError {
  return new HopwireError(ErrorCode.DECODE, `malformed "${tag}" tag: expected ${expected}`);
}
