/**
 * UTF-8 between strings and Buffers on the hot paths. Node's Buffer has
 * `utf8Slice(start, end)` and `utf8Write(text, offset, length)` under
 * `toString('utf8', …)` and `write(…, 'utf8')`, which first check their
 * arguments and look the encoding up: on a small JSON message those wrappers
 * cost more than the conversion itself. The two methods are not in Node's
 * typings, so their presence is checked once; without them, the public
 * methods are used.
 *
 * @module
 */

interface Utf8Methods {
  utf8Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number, length: number): number;
}

/** The UTF-8 text of `buf[start, end)`, through the public `toString`. */
export function portableUtf8Text(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

/** {@link writeUtf8} through the public `write`. */
export function portableWriteUtf8(buf: Buffer, text: string, at: number): number {
  return buf.write(text, at, 'utf8');
}

const methods = Buffer.prototype as Partial<Utf8Methods>;
const native = typeof methods.utf8Slice === 'function' && typeof methods.utf8Write === 'function';

/**
 * The UTF-8 text of `buf[start, end)` (bytes that are not UTF-8 read as
 * U+FFFD). Unlike `toString`, which clamps them, `start` and `end` must lie
 * within the buffer.
 */
export const utf8Text: (buf: Buffer, start: number, end: number) => string = native
  ? (buf, start, end) => (buf as Buffer & Utf8Methods).utf8Slice(start, end)
  : portableUtf8Text;

/**
 * Writes `text` as UTF-8 into `buf` at `at` (at most `buf.length`); returns
 * the number of bytes written. The caller makes sure it fits (a character
 * that does not fit is left out, as `write` does).
 */
export const writeUtf8: (buf: Buffer, text: string, at: number) => number = native
  ? (buf, text, at) => (buf as Buffer & Utf8Methods).utf8Write(text, at, buf.length - at)
  : portableWriteUtf8;
