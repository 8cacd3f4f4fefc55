/**
 * JSON lines: one JSON value per line, for peers that are not hopwire
 * (`nc`, a Python script, a shell pipeline).
 *
 * {@link LineDecoder} is pure: it turns byte chunks into decoded values and
 * knows nothing about sockets, timers or events. {@link encodeLine} is its
 * counterpart for writing.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { pushChunk } from './chunks.js';
import { ErrorCode, HopwireError } from './errors.js';

const DEFAULT_TERMINATOR = '\n';
const DEFAULT_MAX_LINE_BYTES = 1_048_576;
const PREVIEW_CHARS = 80;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/** Options of {@link LineDecoder}. */
export interface LineDecoderOptions {
  /**
   * Line terminator: any non-empty string, multi-byte ones (`'\r\n'`,
   * `'\u0000'`, `'END'`) included. With the default `'\n'`, a `'\r'` just
   * before it is dropped too, so `'\r\n'` senders are understood.
   *
   * @default '\n'
   */
  terminator?: string;
  /**
   * Longest line accepted, in bytes, not counting the terminator (nor the
   * `'\r'` tolerated before a `'\n'` terminator). A longer line is a fatal
   * `ERR_LINE_TOO_LARGE` error, raised as soon as the held bytes prove it.
   *
   * @default 1048576 (1 MiB)
   */
  maxLineBytes?: number;
}

/**
 * The outcome of one complete, non-blank line: its value, or the
 * `ERR_DECODE` error and the line's text when it is not valid JSON (or not
 * valid UTF-8). A bad line does not stop the lines after it.
 */
export type LineResult = { ok: true; value: unknown } | { ok: false; error: HopwireError; line: string };

/**
 * Splits a byte stream into lines and parses each line as JSON.
 *
 * Chunks may be cut anywhere, even inside the terminator or inside a UTF-8
 * character; the results do not depend on where. Work is linear in the bytes
 * pushed: the pieces of an unfinished line are joined once, when its
 * terminator arrives.
 *
 * @example
 * ```ts
 * const decoder = new LineDecoder();
 * socket.on('data', (chunk: Buffer) => {
 *   for (const result of decoder.push(chunk)) {
 *     if (result.ok) handle(result.value);
 *     else console.warn(result.error.message);
 *   }
 * });
 * ```
 */
export class LineDecoder {
  private readonly terminator: Buffer;
  private readonly maxLineBytes: number;
  /** `'\n'` terminator: a `'\r'` before it belongs to the terminator. */
  private readonly stripCr: boolean;
  /** The longest terminator a line may end with; used to judge held bytes. */
  private readonly longestTerminator: Buffer;
  /** Pieces of the current line; never holds a whole terminator. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Trailing run of small chunks in `pending` (see `pushChunk`). */
  private run = 0;
  private error: HopwireError | undefined;

  /**
   * @param options - terminator and line size limit
   * @throws {@link HopwireError} `ERR_INVALID_OPTION` for an empty or
   *   non-string terminator, or a `maxLineBytes` that is not a positive integer
   */
  constructor(options: LineDecoderOptions = {}) {
    const terminator = checkTerminator(options.terminator ?? DEFAULT_TERMINATOR);
    this.terminator = Buffer.from(terminator, 'utf8');
    this.maxLineBytes = checkMaxLineBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.stripCr = terminator === '\n';
    this.longestTerminator = this.stripCr ? Buffer.from('\r\n') : this.terminator;
  }

  /** Bytes held waiting for a terminator. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** True once a fatal error happened; every later {@link push} throws that same error again. */
  get failed(): boolean {
    return this.error !== undefined;
  }

  /**
   * Feeds a chunk and returns the results of the lines it completes, in
   * order. Blank (empty or whitespace-only) lines give no result.
   *
   * @param chunk - the next bytes of the stream
   * @throws {@link HopwireError} `ERR_LINE_TOO_LARGE` as soon as a line is
   *   known to be longer than `maxLineBytes`. The decoder then drops what it
   *   held and stays failed: results of earlier lines in the same chunk are
   *   lost, and every later call throws the same error.
   */
  push(chunk: Buffer): LineResult[] {
    if (this.error) throw this.error;
    const results: LineResult[] = [];
    let start = this.finishSplitTerminator(chunk, results);

    for (;;) {
      const end = chunk.indexOf(this.terminator, start);
      if (end === -1) break;
      const piece = chunk.subarray(start, end);
      const line = this.pendingBytes === 0 ? piece : this.takePending(piece);
      this.decode(line, results);
      start = end + this.terminator.length;
    }

    if (start < chunk.length) {
      this.run = pushChunk(this.pending, chunk.subarray(start), this.run);
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes && !this.heldCanStillFit()) {
        this.fail(`a JSON line grew past maxLineBytes (${this.maxLineBytes}) before its terminator arrived`);
      }
    }
    return results;
  }

  /**
   * Finds a terminator that starts in the held bytes and ends in `chunk`.
   * Returns how many bytes of `chunk` that used up (0 when there was none).
   */
  private finishSplitTerminator(chunk: Buffer, results: LineResult[]): number {
    const reach = this.terminator.length - 1;
    if (reach === 0 || this.pendingBytes === 0) return 0;
    const tail = this.tail(reach);
    const window = Buffer.concat([tail, chunk.subarray(0, reach)]);
    const at = window.indexOf(this.terminator);
    // Held bytes never contain a whole terminator, and `reach` chunk bytes
    // cannot hold one either: a match, if any, straddles the boundary.
    if (at === -1 || at >= tail.length) return 0;
    const line = this.takePending();
    this.decode(line.subarray(0, line.length - (tail.length - at)), results);
    return at + this.terminator.length - tail.length;
  }

  /** Joins the held pieces and `last` into one buffer, and empties the hold. */
  private takePending(last: Buffer = EMPTY): Buffer {
    const line = Buffer.concat([...this.pending, last], this.pendingBytes + last.length);
    this.pending = [];
    this.pendingBytes = 0;
    this.run = 0;
    return line;
  }

  /** The last `count` held bytes (fewer if fewer are held). */
  private tail(count: number): Buffer {
    const parts: Buffer[] = [];
    let need = Math.min(count, this.pendingBytes);
    for (let i = this.pending.length - 1; need > 0; i--) {
      const part = this.pending[i];
      if (part === undefined) break;
      const take = Math.min(need, part.length);
      parts.unshift(part.subarray(part.length - take));
      need -= take;
    }
    return Buffer.concat(parts);
  }

  /**
   * Held bytes are over the limit; they may still be a line of at most
   * `maxLineBytes` followed by the start of its terminator. True when some
   * cut at or before the limit leaves only a terminator prefix after it.
   */
  private heldCanStillFit(): boolean {
    const over = this.pendingBytes - this.maxLineBytes;
    const reach = this.longestTerminator.length - 1;
    if (over > reach) return false;
    const tail = this.tail(reach);
    for (let length = over; length <= tail.length; length++) {
      if (tail.subarray(tail.length - length).equals(this.longestTerminator.subarray(0, length))) return true;
    }
    return false;
  }

  /** Checks the size of one complete line, then parses it into `results`. */
  private decode(raw: Buffer, results: LineResult[]): void {
    const bytes = this.stripCr && raw.at(-1) === CR ? raw.subarray(0, -1) : raw;
    if (bytes.length > this.maxLineBytes) {
      this.fail(`a JSON line of ${bytes.length} bytes is longer than maxLineBytes (${this.maxLineBytes})`);
    }
    const line = bytes.toString('utf8');
    if (line.trim() === '') return;
    if (!isUtf8(bytes)) {
      results.push({ ok: false, error: decodeError('the line is not valid UTF-8', line), line });
      return;
    }
    try {
      results.push({ ok: true, value: JSON.parse(line) });
    } catch (err) {
      results.push({ ok: false, error: decodeError(`invalid JSON (${messageOf(err)})`, line, err), line });
    }
  }

  /** Drops the held bytes, remembers the error for later pushes and throws it. */
  private fail(message: string): never {
    this.pending = [];
    this.pendingBytes = 0;
    this.run = 0;
    this.error = new HopwireError(ErrorCode.LINE_TOO_LARGE, message);
    throw this.error;
  }
}

/**
 * Encodes one value as a JSON line: `JSON.stringify(value)` followed by the
 * terminator, as UTF-8 bytes.
 *
 * @param value - any value `JSON.stringify` turns into text
 * @param terminator - the line terminator the reader expects; `'\n'` by default
 * @returns the line, terminator included
 * @throws {@link HopwireError} `ERR_ENCODE` when the value has no JSON text
 *   (`undefined`, a function, a symbol), when `JSON.stringify` throws (a
 *   cycle, a BigInt; the original error is the `cause`), or when the text
 *   would contain the terminator, which would corrupt the line;
 *   `ERR_INVALID_OPTION` for an empty terminator
 */
export function encodeLine(value: unknown, terminator = DEFAULT_TERMINATOR): Buffer {
  const terminatorBytes = Buffer.from(checkTerminator(terminator), 'utf8');
  const text = stringify(value);
  if (text === undefined) {
    throw new HopwireError(ErrorCode.ENCODE, `cannot encode a JSON line: a ${typeof value} has no JSON text`);
  }
  const line = Buffer.from(text + terminator, 'utf8');
  // The reader cuts at the first terminator: it must be the one we appended.
  if (line.indexOf(terminatorBytes) !== line.length - terminatorBytes.length) {
    throw new HopwireError(
      ErrorCode.ENCODE,
      `cannot encode a JSON line: its text contains the terminator ${JSON.stringify(terminator)}`,
    );
  }
  return line;
}

/** `JSON.stringify`, typed honestly: `undefined` when the value has no JSON text. */
function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new HopwireError(ErrorCode.ENCODE, `cannot encode a JSON line: ${messageOf(err)}`, { cause: err });
  }
}

function checkTerminator(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new HopwireError(ErrorCode.INVALID_OPTION, `terminator must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

function checkMaxLineBytes(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new HopwireError(ErrorCode.INVALID_OPTION, `maxLineBytes must be a positive integer, got ${show(value)}`);
  }
  return value;
}

function decodeError(problem: string, line: string, cause?: unknown): HopwireError {
  const preview = line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS)}…` : line;
  const message = `cannot decode a JSON line: ${problem}: ${JSON.stringify(preview)}`;
  return new HopwireError(ErrorCode.DECODE, message, cause === undefined ? {} : { cause });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
