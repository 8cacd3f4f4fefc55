/**
 * Write batching for one socket. Everything written in one tick leaves in
 * one `writev` at the end of the tick: runs of small frames are copied into
 * one buffer (one iovec instead of a thousand), big buffers (binary
 * attachments) are passed as they are. Every `write()` of a tick shares one
 * promise, which resolves when the batch was handed to the kernel — no
 * promise or callback per frame.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { ErrorCode, HopwireError } from './errors.js';

/** Parts shorter than this are merged with their neighbours before writing. */
const MERGE_BELOW = 16 * 1024;

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
      this.#counters.bytesOut += p.length;
      this.#partsBytes += p.length;
      this.#parts.push(p);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
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
