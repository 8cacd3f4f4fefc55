/**
 * The client's offline queue: what is sent while the client is (re)connecting
 * waits here, in order, bounded by count and bytes. Pure: no sockets, no
 * timers.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** Limits of an {@link OfflineQueue}. */
export interface OfflineQueueLimits {
  /** Most entries held. */
  readonly maxMessages: number;
  /** Most bytes held (the encoded size of the entries). */
  readonly maxBytes: number;
}

/** What the queue needs to know of an entry. */
export interface Sized {
  /** Encoded size in bytes. */
  readonly bytes: number;
}

/**
 * A FIFO of entries with a count and a byte bound. A push past either bound
 * throws `ERR_QUEUE_FULL` and leaves the queue as it was: nothing already
 * queued is ever dropped to make room.
 */
export class OfflineQueue<T extends Sized> {
  readonly #limits: OfflineQueueLimits;
  #items: T[] = [];
  #bytes = 0;

  /** @param limits - count and byte bounds */
  constructor(limits: OfflineQueueLimits) {
    this.#limits = limits;
  }

  /** Entries held. */
  get size(): number {
    return this.#items.length;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends an entry.
   *
   * @throws HopwireError `ERR_QUEUE_FULL` when it would pass a bound
   */
  push(item: T): void {
    if (this.#items.length + 1 > this.#limits.maxMessages) {
      throw new HopwireError(ErrorCode.QUEUE_FULL, `offline queue is full (${this.#limits.maxMessages} messages)`);
    }
    if (this.#bytes + item.bytes > this.#limits.maxBytes) {
      throw new HopwireError(
        ErrorCode.QUEUE_FULL,
        `offline queue is full (${this.#bytes} of ${this.#limits.maxBytes} bytes held; this message needs ${item.bytes})`,
      );
    }
    this.#items.push(item);
    this.#bytes += item.bytes;
  }

  /** Removes one entry (a queued request that timed out or was aborted). */
  remove(item: T): boolean {
    const i = this.#items.indexOf(item);
    if (i === -1) return false;
    this.#items.splice(i, 1);
    this.#bytes -= item.bytes;
    return true;
  }

  /** Takes every entry, oldest first, leaving the queue empty. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }
}
