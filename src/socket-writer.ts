/**
 * Write batching for one socket: every write in a tick goes out in one
 * `writev` (the socket is corked on the first write of a tick and uncorked on
 * the next tick), and a write's promise resolves when its bytes were handed
 * to the kernel.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { ErrorCode, HopwireError } from './errors.js';

/** Batches a socket's writes per tick and counts the bytes. */
export class SocketWriter {
  readonly #socket: Socket;
  readonly #counters: { bytesOut: number };
  #corked = false;

  /**
   * @param socket - the socket to write to
   * @param counters - where written bytes are counted
   */
  constructor(socket: Socket, counters: { bytesOut: number }) {
    this.#socket = socket;
    this.#counters = counters;
  }

  /** Writes parts in this tick's batch; resolves when they reach the OS. */
  write(parts: readonly Buffer[]): Promise<void> {
    for (const p of parts) this.#counters.bytesOut += p.length;
    return new Promise((resolve, reject) => {
      this.#cork();
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) this.#socket.write(parts[i] as Buffer);
      this.#socket.write(parts[last] as Buffer, (err) => {
        if (err) reject(new HopwireError(ErrorCode.NOT_CONNECTED, `write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  /** Writes without waiting (control frames, replies): failures show up as a closed socket. */
  writeNow(parts: readonly Buffer[]): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    for (const p of parts) this.#counters.bytesOut += p.length;
    this.#cork();
    for (const p of parts) this.#socket.write(p);
  }

  /** Sends what is batched now (before ending the socket). */
  flush(): void {
    if (this.#corked) this.#uncork();
  }

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#socket.cork();
    process.nextTick(this.#uncork);
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  };
}
