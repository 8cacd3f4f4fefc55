/**
 * Write batching for one socket. Everything written in one tick leaves in
 * one `writev` at the end of the tick. Small frames are encoded straight
 * into a shared chunk ({@link SocketWriter.writeFrame}: no buffer per frame,
 * one UTF-8 pass); other small parts (control frames, queued messages) are
 * copied into the same chunk (one iovec instead of a thousand, no buffer to
 * merge at the end of the tick); big buffers (binary attachments) are passed
 * as they are, and a broadcast's frames by reference to the one buffer every
 * session's writer shares ({@link SocketWriter.writeShared}). Every write of
 * a tick shares one promise, which resolves when the batch was handed to the
 * kernel — no promise or callback per frame.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { ErrorCode, HopwireError } from './errors.js';
import type { EncodedValue } from './codec.js';
import { type FrameKind, HEADER_BYTES, encodePayloadFrameInto, maxFrameBytes } from './frame.js';
import { frameOf, payloadFlags } from './wire.js';

/** Parts shorter than this are merged with their neighbours before writing. */
const MERGE_BELOW = 16 * 1024;
/** Size of a chunk frames are encoded into; bigger frames get their own buffer. */
const CHUNK_BYTES = 64 * 1024;

interface Tick {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Batches a socket's writes per tick and counts the bytes. */
export class SocketWriter {
  readonly #socket: Socket;
  readonly #counters: { bytesOut: number };
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #tick: Tick | undefined;
  #scheduled = false;
  /** Where {@link writeFrame} encodes; bytes before `#chunkStart` are already in `#parts`. */
  #chunk: Buffer | undefined;
  #chunkStart = 0;
  #chunkOffset = 0;
  /**
   * The open run of bytes of a buffer other writers share too (a broadcast's
   * frames, see {@link writeShared}), not yet in `#parts`. While a run is
   * open the chunk holds no frames of this tick that are not in `#parts`
   * yet: opening a run cuts the chunk, and writing to the chunk closes it.
   */
  #shared: Buffer | undefined;
  #sharedStart = 0;
  #sharedEnd = 0;

  /**
   * @param socket - the socket to write to
   * @param counters - where written bytes are counted
   */
  constructor(socket: Socket, counters: { bytesOut: number }) {
    this.#socket = socket;
    this.#counters = counters;
  }

  /** Bytes batched in this tick, not yet handed to the socket. */
  get pendingBytes(): number {
    return this.#partsBytes;
  }

  /** Adds parts to this tick's batch; resolves when the batch reaches the OS. */
  write(parts: readonly Buffer[]): Promise<void> {
    this.#enqueue(parts);
    return this.#tickPromise();
  }

  /**
   * Encodes a frame without attachments into this tick's batch; resolves
   * when the batch reaches the OS. A text payload (JSON) is written as
   * UTF-8 in one pass; a bytes payload (MessagePack) is copied.
   */
  writeFrame(kind: FrameKind, flags: number, id: number, type: string, payload: string | Uint8Array): Promise<void> {
    this.#encode(kind, flags, id, type, payload);
    return this.#tickPromise();
  }

  /** {@link writeFrame} without waiting (replies, requests): failures show up as a closed socket. */
  writeFrameNow(kind: FrameKind, flags: number, id: number, type: string, payload: string | Uint8Array): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#encode(kind, flags, id, type, payload);
  }

  #encode(kind: FrameKind, flags: number, id: number, type: string, payload: string | Uint8Array): void {
    const room = maxFrameBytes(type, payload);
    if (room > CHUNK_BYTES) {
      // Big payloads: counted exactly, into a buffer of their own.
      const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
      const head = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(type, 'utf8') + payloadBytes);
      encodePayloadFrameInto(head, 0, kind, flags, id, type, payload);
      this.#enqueue([head]);
      return;
    }
    const chunk = this.#room(room);
    this.#advance(encodePayloadFrameInto(chunk, this.#chunkOffset, kind, flags, id, type, payload));
  }

  /** The chunk, with at least `room` bytes free at `#chunkOffset` (a new one if needed). */
  #room(room: number): Buffer {
    if (this.#shared !== undefined) this.#cut(); // the shared run goes before what is written now
    let chunk = this.#chunk;
    if (chunk === undefined || this.#chunkOffset + room > chunk.length) {
      this.#cut();
      chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      this.#chunk = chunk;
      this.#chunkStart = 0;
      this.#chunkOffset = 0;
    }
    return chunk;
  }

  /** Counts `n` bytes just encoded into the chunk. */
  #advance(n: number): void {
    this.#chunkOffset += n;
    this.#counters.bytesOut += n;
    this.#partsBytes += n;
    this.#schedule();
  }

  #tickPromise(): Promise<void> {
    if (this.#tick === undefined) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#tick = { promise, resolve, reject };
    }
    return this.#tick.promise;
  }

  /**
   * Writes an encoded value as a frame of `kind`: encoded straight into the
   * batch ({@link writeFrame}) unless it has attachments, which are passed
   * as they are. Resolves when the batch reaches the OS.
   *
   * @throws RangeError for a type name too long for the frame
   */
  writeValue(kind: FrameKind, e: EncodedValue<string | Buffer>, id: number, flags: number): Promise<void> {
    if (e.attachments.length !== 0) return this.write(frameOf(kind, e, id, flags));
    return this.writeFrame(kind, flags | payloadFlags(e), id, e.type, e.payload);
  }

  /**
   * {@link writeValue} without waiting (replies, requests): failures show up
   * as a closed socket.
   *
   * @throws RangeError for a type name too long for the frame
   */
  writeValueNow(kind: FrameKind, e: EncodedValue<string | Buffer>, id: number, flags: number): void {
    if (e.attachments.length !== 0) this.writeNow(frameOf(kind, e, id, flags));
    else this.writeFrameNow(kind, flags | payloadFlags(e), id, e.type, e.payload);
  }

  /**
   * Adds `buf[start, end)` to this tick's batch by reference: the bytes are
   * not copied, and successive ranges that continue each other in the same
   * buffer leave as one part. The caller must never change those bytes (a
   * broadcast appends each frame to a buffer every session's writer shares).
   * Resolves when the batch reaches the OS.
   */
  writeShared(buf: Buffer, start: number, end: number): Promise<void> {
    if (this.#shared !== buf || this.#sharedEnd !== start) {
      this.#cut(); // what came before goes first
      this.#shared = buf;
      this.#sharedStart = start;
    }
    this.#sharedEnd = end;
    this.#counters.bytesOut += end - start;
    this.#partsBytes += end - start;
    this.#schedule();
    return this.#tickPromise();
  }

  /** Adds parts without waiting (control frames, replies): failures show up as a closed socket. */
  writeNow(parts: readonly Buffer[]): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#enqueue(parts);
  }

  /** Sends the batch now (before ending the socket). */
  flush(): void {
    this.#flush();
  }

  #enqueue(parts: readonly Buffer[]): void {
    for (const p of parts) {
      if (p.length < MERGE_BELOW) {
        // Copied into the chunk now (a broadcast frame, a control frame): no array entry, no concat at flush.
        this.#room(p.length).set(p, this.#chunkOffset);
        this.#advance(p.length);
        continue;
      }
      this.#cut(); // frames already in the chunk go first
      this.#counters.bytesOut += p.length;
      this.#partsBytes += p.length;
      this.#parts.push(p);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /**
   * Moves the open shared run, then the chunk's frames of this tick, into
   * `#parts`; those chunk bytes are never written again.
   */
  #cut(): void {
    if (this.#shared !== undefined) {
      this.#parts.push(this.#shared.subarray(this.#sharedStart, this.#sharedEnd));
      this.#shared = undefined;
    }
    if (this.#chunkOffset > this.#chunkStart && this.#chunk !== undefined) {
      this.#parts.push(this.#chunk.subarray(this.#chunkStart, this.#chunkOffset));
      this.#chunkStart = this.#chunkOffset;
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    this.#cut();
    const parts = this.#parts;
    const tick = this.#tick;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#tick = undefined;
    if (parts.length === 0) {
      tick?.resolve();
      return;
    }
    const chunks = mergeSmall(parts);
    const done = (err?: Error | null): void => {
      if (tick === undefined) return;
      if (err) tick.reject(new HopwireError(ErrorCode.NOT_CONNECTED, `write failed: ${err.message}`, { cause: err }));
      else tick.resolve();
    };
    const socket = this.#socket;
    if (chunks.length === 1) {
      socket.write(chunks[0] as Buffer, done);
      return;
    }
    socket.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) socket.write(chunks[i] as Buffer);
    socket.write(chunks[last] as Buffer, done);
    socket.uncork();
  };
}

/** Copies each run of small parts into one buffer; big parts stay as they are. */
function mergeSmall(parts: readonly Buffer[]): Buffer[] {
  if (parts.length === 1) return parts as Buffer[];
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 1) out.push(run[0] as Buffer);
    else if (run.length > 1) out.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const p of parts) {
    if (p.length >= MERGE_BELOW) {
      endRun();
      out.push(p);
    } else {
      run.push(p);
      runBytes += p.length;
    }
  }
  endRun();
  return out;
}
