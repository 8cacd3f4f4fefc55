/**
 * The binary frame decoder: bytes in, frames out. Pure — no sockets, no
 * timers, no events — so it is tested byte by byte and fuzzed.
 *
 * It is a small state machine in the manner of ws's `Receiver`: each state
 * waits until the bytes it needs are buffered, consumes exactly those and
 * moves on. Received chunks are kept in a list and copied out only once, when
 * a whole frame body is there, so reassembly is linear in the frame size.
 * Limits are checked from the header, before the body is buffered.
 *
 * @module
 */
import { pushChunk } from './chunks.js';
import { ErrorCode, HopwireError } from './errors.js';
import { utf8Text } from './utf8.js';
import {
  type Frame,
  type FrameKind,
  HEADER_REST_BYTES,
  KNOWN_FLAGS,
  MAGIC,
  MAX_FRAME_KIND,
  MAX_TYPE_NAME_BYTES,
} from './frame.js';

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Largest frame accepted, in bytes (the value of the length field). A
   * header announcing more fails with `ERR_FRAME_TOO_LARGE` before any of
   * the body is buffered.
   * @default 16 MiB
   */
  maxFrameBytes?: number;
  /**
   * Most attachments in one frame.
   * @default 4096
   */
  maxAttachments?: number;
  /**
   * Expect the four {@link MAGIC} bytes before the first frame.
   * @default false
   */
  expectMagic?: boolean;
}

/** Default of {@link FrameDecoderOptions.maxFrameBytes}. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link FrameDecoderOptions.maxAttachments}. */
export const DEFAULT_MAX_ATTACHMENTS = 4096;

const State = {
  MAGIC: 0,
  LENGTH: 1,
  HEADER: 2,
  BODY: 3,
  FAILED: 4,
} as const;
type State = (typeof State)[keyof typeof State];

/** Bytes of the whole fixed header, length field included. */
const HEADER_BYTES_TOTAL = 4 + HEADER_REST_BYTES;

/** The fields of a header, once read. */
interface Header {
  length: number;
  kind: FrameKind;
  flags: number;
  typeLength: number;
  id: number;
  payloadLength: number;
  attachmentCount: number;
}

/**
 * Turns a byte stream into {@link Frame}s.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
 * socket.on('data', (chunk) => {
 *   for (const frame of decoder.push(chunk)) handle(frame);
 * });
 * ```
 */
export class FrameDecoder {
  #maxFrameBytes: number;
  readonly #maxAttachments: number;
  #state: State;
  #chunks: Buffer[] = [];
  /** Trailing run of small chunks in `#chunks` (see `pushChunk`). */
  #run = 0;
  #buffered = 0;
  /**
   * Bytes of `#chunks[0]` already taken by the whole-frame fast path: it
   * moves this offset instead of making a view of the rest per frame. Zero
   * whenever any other state runs (see `#settle`).
   */
  #offset = 0;
  #length = 0;
  #header: Header | undefined;
  /** The one header object: a decoder reads one header at a time. */
  readonly #scratch: Header = { length: 0, kind: 1, flags: 0, typeLength: 0, id: 0, payloadLength: 0, attachmentCount: 0 };
  #error: HopwireError | undefined;

  /** @param options - limits and whether to expect the magic */
  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#maxAttachments = options.maxAttachments ?? DEFAULT_MAX_ATTACHMENTS;
    if (!Number.isInteger(this.#maxFrameBytes) || this.#maxFrameBytes < HEADER_REST_BYTES) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `maxFrameBytes must be an integer ≥ ${HEADER_REST_BYTES}`);
    }
    if (!Number.isInteger(this.#maxAttachments) || this.#maxAttachments < 0 || this.#maxAttachments > 0xffff) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'maxAttachments must be an integer from 0 to 65535');
    }
    this.#state = options.expectMagic === true ? State.MAGIC : State.LENGTH;
  }

  /**
   * Changes the frame size limit for the frames still to come (a connection
   * keeps it small until the hello is done).
   */
  setMaxFrameBytes(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < HEADER_REST_BYTES) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `maxFrameBytes must be an integer ≥ ${HEADER_REST_BYTES}`);
    }
    this.#maxFrameBytes = bytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True once the stream was found malformed; the decoder then stays failed. */
  get failed(): boolean {
    return this.#state === State.FAILED;
  }

  /**
   * Feeds bytes; returns the frames they complete, in order.
   *
   * When the stream turns out malformed after some whole frames in the same
   * chunk, those frames are returned and {@link failed} is true: the caller
   * handles them, then sees the failure (the next call throws it).
   *
   * @throws HopwireError `ERR_FRAME_TOO_LARGE` or `ERR_PROTOCOL` when the
   * stream is malformed before any whole frame of this chunk. The decoder
   * drops what it holds and every later call throws the same error: the
   * connection must be closed.
   */
  push(chunk: Buffer): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    try {
      for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame);
    } catch (err) {
      if (frames.length === 0) throw err;
    }
    return frames;
  }

  /**
   * Adds bytes without decoding them yet; {@link next} takes the frames one
   * by one (so a limit changed after one frame applies to the next).
   *
   * @throws the decoder's error when it has failed
   */
  feed(chunk: Buffer): void {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length > 0) {
      this.#settle();
      this.#run = pushChunk(this.#chunks, chunk, this.#run);
      this.#buffered += chunk.length;
    }
  }

  /**
   * The next whole frame from the bytes fed so far, or `undefined` when more
   * bytes are needed.
   *
   * @throws HopwireError `ERR_FRAME_TOO_LARGE` or `ERR_PROTOCOL` when the
   * stream is malformed; the decoder then stays failed
   */
  next(): Frame | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      for (;;) {
        const frame = this.#step();
        if (frame === false) return undefined;
        if (frame !== true) return frame;
      }
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** The error that failed the decoder, if it has failed. */
  get error(): HopwireError | undefined {
    return this.#error;
  }

  /** Runs one state. Returns a frame, `true` to go on, or `false` to wait for bytes. */
  #step(): Frame | boolean {
    switch (this.#state) {
      case State.MAGIC:
        return this.#readMagic();
      case State.LENGTH: {
        const frame = this.#readWholeFrame();
        if (frame !== undefined) return frame;
        this.#settle();
        return this.#readLength();
      }
      case State.HEADER:
        return this.#readHeader();
      case State.BODY:
        return this.#readBody();
      default:
        return false;
    }
  }

  #readMagic(): boolean {
    if (this.#buffered < MAGIC.length) {
      // Reject a wrong first byte at once: a JSON-lines peer never waits for more.
      const first = this.#chunks[0];
      if (first !== undefined && first[0] !== MAGIC[0]) throw protocolError('the stream does not start with the hopwire magic');
      return false;
    }
    const magic = this.#consume(MAGIC.length);
    if (!magic.equals(MAGIC)) throw protocolError(`bad magic 0x${magic.toString('hex')}`);
    this.#state = State.LENGTH;
    return true;
  }

  #readLength(): boolean {
    if (this.#buffered < 4) return false;
    const length = this.#consume(4).readUInt32BE(0);
    if (length > this.#maxFrameBytes) {
      throw new HopwireError(
        ErrorCode.FRAME_TOO_LARGE,
        `frame of ${length} bytes exceeds maxFrameBytes (${this.#maxFrameBytes})`,
      );
    }
    if (length < HEADER_REST_BYTES) throw protocolError(`frame length ${length} is shorter than the header`);
    this.#length = length;
    this.#state = State.HEADER;
    return true;
  }

  #readHeader(): boolean {
    if (this.#buffered < HEADER_REST_BYTES) return false;
    this.#header = this.#checkHeader(this.#length, this.#consume(HEADER_REST_BYTES), 0);
    this.#state = State.BODY;
    return true;
  }

  /** Reads and checks the 16 header bytes after the length field, at `at` in `h`. */
  #checkHeader(length: number, h: Buffer, at: number): Header {
    // Byte reads rather than readUInt*BE: the caller made sure the 16 bytes are there, and Buffer's
    // readers check their offset argument again on every call.
    const kind = h[at] ?? 0;
    const flags = h[at + 1] ?? 0;
    const typeLength = u16(h, at + 2);
    const id = u32(h, at + 4);
    const payloadLength = u32(h, at + 8);
    const attachmentCount = u16(h, at + 12);
    const reserved = u16(h, at + 14);
    if (kind === 0 || kind > MAX_FRAME_KIND) throw protocolError(`unknown frame kind ${kind}`);
    if ((flags & ~KNOWN_FLAGS) !== 0) throw protocolError(`reserved flag bits set (0x${flags.toString(16)})`);
    if (reserved !== 0) throw protocolError('reserved header field is not 0');
    if (typeLength > MAX_TYPE_NAME_BYTES) throw protocolError(`type name of ${typeLength} bytes is longer than ${MAX_TYPE_NAME_BYTES}`);
    if (attachmentCount > this.#maxAttachments) {
      throw protocolError(`${attachmentCount} attachments exceed the limit of ${this.#maxAttachments}`);
    }
    const body = length - HEADER_REST_BYTES;
    if (4 * attachmentCount + typeLength + payloadLength > body) {
      throw protocolError(`frame length ${length} is too short for its type name, payload and attachment table`);
    }
    if (attachmentCount === 0 && typeLength + payloadLength !== body) {
      throw protocolError(`frame length ${length} does not match its type name and payload`);
    }
    const header = this.#scratch;
    header.length = length;
    header.kind = kind as FrameKind;
    header.flags = flags;
    header.typeLength = typeLength;
    header.id = id;
    header.payloadLength = payloadLength;
    header.attachmentCount = attachmentCount;
    return header;
  }

  /**
   * The common case, without intermediate views: a whole frame sits in the
   * first chunk at `#offset`. Same checks, in the same order, as the states.
   */
  #readWholeFrame(): Frame | undefined {
    const first = this.#chunks[0];
    const at = this.#offset;
    if (first === undefined || first.length - at < HEADER_BYTES_TOTAL) return undefined;
    const length = u32(first, at);
    const end = at + 4 + length;
    if (length > this.#maxFrameBytes || length < HEADER_REST_BYTES || first.length < end) return undefined; // the states say why
    const frame = parseBody(this.#checkHeader(length, first, at + 4), first, at + HEADER_BYTES_TOTAL, end);
    this.#buffered -= end - at;
    if (first.length === end) {
      this.#chunks.shift();
      this.#offset = 0;
    } else {
      this.#offset = end;
    }
    return frame;
  }

  /** Drops the bytes the fast path took from the first chunk, so every other state can start at 0. */
  #settle(): void {
    if (this.#offset === 0) return;
    const first = this.#chunks[0];
    if (first !== undefined) this.#chunks[0] = first.subarray(this.#offset);
    this.#offset = 0;
  }

  #readBody(): Frame | false {
    const header = this.#header;
    const bodyLength = this.#length - HEADER_REST_BYTES;
    if (header === undefined || this.#buffered < bodyLength) return false;
    const body = this.#consume(bodyLength);
    this.#header = undefined;
    this.#state = State.LENGTH;
    return parseBody(header, body, 0, body.length);
  }

  /** Takes `n` bytes off the front: a view when one chunk holds them, else one copy. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafeSlow(n); // a body of its own, not a slice of the shared pool
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) throw new Error('frame decoder: buffered byte count is out of step');
      const take = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, take);
      offset += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return out;
  }

  #fail(err: unknown): HopwireError {
    this.#state = State.FAILED;
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    this.#header = undefined;
    this.#error =
      err instanceof HopwireError
        ? err
        : new HopwireError(ErrorCode.PROTOCOL, `malformed frame: ${String(err)}`, { cause: err });
    return this.#error;
  }
}

/** The attachments of a frame without any: one frozen array, not one per frame. */
const NO_ATTACHMENTS: readonly Buffer[] = Object.freeze([]);

/**
 * A frame read by {@link FrameDecoder}. Its payload stays where it arrived
 * until asked for: {@link payloadText} decodes JSON straight from the chunk,
 * with no view of the payload made per frame.
 */
class ReceivedFrame implements Frame {
  readonly kind: FrameKind;
  readonly flags: number;
  readonly id: number;
  readonly type: string;
  readonly attachments: readonly Buffer[];
  readonly #source: Buffer;
  readonly #start: number;
  readonly #end: number;
  #payload: Buffer | undefined;

  constructor(h: Header, type: string, attachments: readonly Buffer[], source: Buffer, start: number) {
    this.kind = h.kind;
    this.flags = h.flags;
    this.id = h.id;
    this.type = type;
    this.attachments = attachments;
    this.#source = source;
    this.#start = start;
    this.#end = start + h.payloadLength;
  }

  /** The payload bytes: a view of the chunk they arrived in. */
  get payload(): Buffer {
    return (this.#payload ??= this.#source.subarray(this.#start, this.#end));
  }

  /** The payload decoded as UTF-8. */
  text(): string {
    return utf8Text(this.#source, this.#start, this.#end);
  }
}

/**
 * A frame's payload as UTF-8 text (JSON). For frames from a
 * {@link FrameDecoder} it is decoded straight from the received bytes.
 */
export function payloadText(frame: Frame): string {
  return frame instanceof ReceivedFrame ? frame.text() : frame.payload.toString('utf8');
}

/** The frame whose body is `buf[start, end)` (views into `buf`, no copies). */
function parseBody(h: Header, buf: Buffer, start: number, end: number): Frame {
  let offset = start + 4 * h.attachmentCount;
  let total = offset - start + h.typeLength + h.payloadLength;
  for (let i = 0; i < h.attachmentCount; i++) total += buf.readUInt32BE(start + 4 * i);
  if (total !== end - start) {
    throw protocolError(`frame length ${h.length} does not match the sum of its parts`);
  }
  const type = h.typeLength === 0 ? '' : buf.toString('utf8', offset, offset + h.typeLength);
  offset += h.typeLength;
  const payloadAt = offset;
  offset += h.payloadLength;
  if (h.attachmentCount === 0) return new ReceivedFrame(h, type, NO_ATTACHMENTS, buf, payloadAt);
  const attachments: Buffer[] = [];
  for (let i = 0; i < h.attachmentCount; i++) {
    const n = buf.readUInt32BE(start + 4 * i);
    attachments.push(buf.subarray(offset, offset + n));
    offset += n;
  }
  return new ReceivedFrame(h, type, attachments, buf, payloadAt);
}

/** The big-endian u16 at `at`; the caller has checked that the bytes are there. */
function u16(b: Buffer, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}

/** The big-endian u32 at `at`; the caller has checked that the bytes are there. */
function u32(b: Buffer, at: number): number {
  return (b[at] ?? 0) * 0x100_0000 + (((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0));
}

function protocolError(message: string): HopwireError {
  return new HopwireError(ErrorCode.PROTOCOL, message);
}
