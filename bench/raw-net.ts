/**
 * raw-net: the fastest honest thing a user could write by hand with
 * `node:net` — a 4-byte big-endian length prefix before each message, the
 * message as `JSON.stringify` text (or, for binary data, the raw bytes), all
 * writes of one tick batched into one buffer, and replies matched to requests
 * in FIFO order. No types, no handshake, no heartbeat, no limits: this is
 * the baseline hopwire is measured against.
 */
import type { Socket } from 'node:net';

/** Bytes of a fresh batch chunk. */
const CHUNK = 64 * 1024;

/**
 * Collects the frames written in one tick and writes them in one go at the
 * end of the tick, to one socket or to many (a broadcast writes the same
 * bytes to every socket).
 */
export class BatchWriter {
  readonly #sockets: Socket[];
  #chunk: Buffer = Buffer.allocUnsafe(CHUNK);
  /** Start of this tick's bytes in #chunk. */
  #start = 0;
  #offset = 0;
  /** Earlier pieces of this tick's batch (a full chunk, or big binary bodies). */
  #parts: Buffer[] = [];
  #scheduled = false;
  #waiters: (() => void)[] = [];
  #failed: ((err: Error) => void)[] = [];

  constructor(sockets: Socket[]) {
    this.#sockets = sockets;
  }

  /** Appends one frame holding `JSON.stringify(value)`. */
  writeJson(value: unknown): void {
    const text = JSON.stringify(value);
    this.#reserve(4 + 3 * text.length);
    const n = this.#chunk.write(text, this.#offset + 4, 'utf8');
    this.#chunk.writeUInt32BE(n, this.#offset);
    this.#offset += 4 + n;
    this.#schedule();
  }

  /** Appends one frame holding raw bytes (not copied). */
  writeBytes(body: Buffer): void {
    this.#reserve(4);
    this.#chunk.writeUInt32BE(body.length, this.#offset);
    this.#offset += 4;
    this.#cut();
    this.#parts.push(body);
    this.#schedule();
  }

  /** Resolves once everything written so far has been handed to the OS (every socket). */
  flushed(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push(resolve);
      this.#failed.push(reject);
      this.#schedule();
    });
  }

  /** Makes room for `n` more bytes in the current chunk. */
  #reserve(n: number): void {
    if (this.#offset + n <= this.#chunk.length) return;
    this.#cut();
    this.#chunk = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.#start = 0;
    this.#offset = 0;
  }

  /** Moves this tick's bytes of the current chunk into #parts. Those bytes are never written again. */
  #cut(): void {
    if (this.#offset > this.#start) this.#parts.push(this.#chunk.subarray(this.#start, this.#offset));
    this.#start = this.#offset;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    this.#cut();
    const parts = this.#parts;
    this.#parts = [];
    const waiters = this.#waiters;
    const failed = this.#failed;
    this.#waiters = [];
    this.#failed = [];
    if (parts.length === 0) {
      for (const w of waiters) w();
      return;
    }
    let left = this.#sockets.length;
    const done = (err?: Error | null): void => {
      if (err) {
        for (const f of failed) f(err);
        return;
      }
      if (--left === 0) for (const w of waiters) w();
    };
    for (const socket of this.#sockets) {
      if (parts.length === 1) {
        socket.write(parts[0] as Buffer, done);
      } else {
        socket.cork();
        for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i] as Buffer);
        socket.write(parts[parts.length - 1] as Buffer, done);
        socket.uncork();
      }
    }
  };
}

/**
 * Splits a byte stream into length-prefixed frames. A frame inside one chunk
 * is handed over as a view of it; a frame split across chunks is copied
 * once into a buffer of its exact size.
 */
export class FrameReader {
  readonly #onFrame: (buf: Buffer, start: number, end: number) => void;
  /** The frame being assembled across chunks. */
  #body: Buffer | undefined;
  #filled = 0;
  /** Bytes of a length prefix split across chunks. */
  #head = Buffer.alloc(4);
  #headFilled = 0;

  constructor(onFrame: (buf: Buffer, start: number, end: number) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    // finish what the last chunk left open
    if (this.#headFilled > 0) {
      while (this.#headFilled < 4 && pos < len) this.#head[this.#headFilled++] = chunk[pos++] ?? 0;
      if (this.#headFilled < 4) return;
      this.#headFilled = 0;
      this.#body = Buffer.allocUnsafe(this.#head.readUInt32BE(0));
      this.#filled = 0;
    }
    if (this.#body !== undefined) {
      const body = this.#body;
      const take = Math.min(body.length - this.#filled, len - pos);
      chunk.copy(body, this.#filled, pos, pos + take);
      this.#filled += take;
      pos += take;
      if (this.#filled < body.length) return;
      this.#body = undefined;
      this.#onFrame(body, 0, body.length);
    }
    // whole frames inside this chunk
    while (pos + 4 <= len) {
      const n = chunk.readUInt32BE(pos);
      if (pos + 4 + n > len) break;
      this.#onFrame(chunk, pos + 4, pos + 4 + n);
      pos += 4 + n;
    }
    if (pos === len) return;
    // a frame that goes on in the next chunk
    if (pos + 4 > len) {
      while (pos < len) this.#head[this.#headFilled++] = chunk[pos++] ?? 0;
      return;
    }
    const n = chunk.readUInt32BE(pos);
    const body = Buffer.allocUnsafe(n);
    chunk.copy(body, 0, pos + 4, len);
    this.#body = body;
    this.#filled = len - pos - 4;
  }
}

/** Parses a JSON frame. */
export function parseJson(buf: Buffer, start: number, end: number): unknown {
  return JSON.parse(buf.toString('utf8', start, end));
}

/** Requests in flight, answered in the order they were sent. */
export class FifoReplies {
  #resolvers: ((value: unknown) => void)[] = [];
  #head = 0;

  /** A promise for the next reply in line. */
  next(): Promise<unknown> {
    return new Promise((resolve) => {
      this.#resolvers.push(resolve);
    });
  }

  /** The next reply arrived. */
  settle(value: unknown): void {
    const resolve = this.#resolvers[this.#head];
    if (resolve === undefined) throw new Error('raw-net: a reply with no request waiting for it');
    this.#resolvers[this.#head++] = noop;
    if (this.#head > 1024 && this.#head * 2 > this.#resolvers.length) {
      this.#resolvers = this.#resolvers.slice(this.#head);
      this.#head = 0;
    }
    resolve(value);
  }

  get waiting(): number {
    return this.#resolvers.length - this.#head;
  }
}

function noop(): void {
  // a settled slot
}
