/**
 * An async iterator over received messages, with a bounded buffer and a clean
 * stop — the `for await (const m of client.messages())` behind the client.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/**
 * A queue that a producer pushes into and a `for await` loop drains. When the
 * consumer falls more than `max` items behind, the iterator fails with
 * `ERR_QUEUE_FULL` instead of growing without bound.
 */
export class MessageIterator<T> implements AsyncIterableIterator<T> {
  readonly #max: number;
  readonly #onStop: () => void;
  #items: T[] = [];
  #head = 0;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #failWaiting: ((err: Error) => void) | undefined;
  #done = false;
  #error: Error | undefined;

  /**
   * @param max - most items buffered
   * @param onStop - called once when the iterator stops, however it stops
   */
  constructor(max: number, onStop: () => void) {
    this.#max = max;
    this.#onStop = onStop;
  }

  /** Items buffered and not yet consumed. */
  get buffered(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an item (ignored once stopped). */
  push(item: T): void {
    if (this.#done) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      this.#failWaiting = undefined;
      waiting({ value: item, done: false });
      return;
    }
    if (this.buffered >= this.#max) {
      this.fail(new HopwireError(ErrorCode.QUEUE_FULL, `messages() consumer fell more than ${this.#max} messages behind`));
      return;
    }
    this.#items.push(item);
  }

  /** Ends the iteration after the buffered items. */
  end(): void {
    if (this.#done) return;
    this.#stop();
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = undefined;
  }

  /** Fails the iteration: buffered items are dropped, the next `next()` rejects. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#error = err;
    this.#items = [];
    this.#head = 0;
    this.#stop();
    this.#failWaiting?.(err);
    this.#waiting = undefined;
    this.#failWaiting = undefined;
  }

  /** The next item. */
  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  /** Stops early (a `break` out of `for await`). */
  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.#head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** @returns this */
  [Symbol.asyncIterator](): this {
    return this;
  }

  #stop(): void {
    this.#done = true;
    this.#onStop();
  }
}
