/**
 * Functions passed inside values: the sender keeps each one in a table under
 * an id; the receiver gets an async stand-in that, when called, asks the
 * sender to run the original (a REQUEST of type {@link FN_CALL_TYPE}) and
 * resolves with its result. One table per connection, bounded.
 *
 * Lifetime: functions sent inside a request are released when that request
 * settles; others when the connection closes or on `release(fn)`. Calling a
 * released function rejects with `ERR_RELEASED`.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The frame type of a call to a remote function. Names starting with `hopwire.` are reserved. */
export const FN_CALL_TYPE = 'hopwire.fn';

/** No ids: shared, never pushed to (`collect` makes an array of its own when it needs one). */
const NO_IDS: number[] = [];

/** A function that may be sent. */
export type AnyFunction = (...args: unknown[]) => unknown;

/** The functions this side has sent, by id. */
export class RemoteFunctions {
  readonly #max: number;
  readonly #byId = new Map<number, AnyFunction>();
  readonly #byFn = new Map<AnyFunction, number>();
  #next = 1;
  /** Ids handed out for the first time during the current {@link collect}. */
  #fresh: number[] = NO_IDS;
  /** The exporter {@link collect} lends to the encoder. */
  readonly #recorder = (fn: AnyFunction): number => {
    const fresh = !this.#byFn.has(fn);
    const id = this.export(fn);
    if (fresh) {
      if (this.#fresh === NO_IDS) this.#fresh = [];
      this.#fresh.push(id);
    }
    return id;
  };

  /** @param max - most functions held at once */
  constructor(max: number) {
    this.#max = max;
  }

  /** Functions held. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * The id of `fn`, registering it if needed.
   *
   * @throws HopwireError `ERR_TOO_MANY_FUNCTIONS` past the limit
   */
  export(fn: AnyFunction): number {
    const known = this.#byFn.get(fn);
    if (known !== undefined) return known;
    if (this.#byId.size >= this.#max) {
      throw new HopwireError(ErrorCode.TOO_MANY_FUNCTIONS, `more than ${this.#max} functions are held for the peer; release some`);
    }
    let id = this.#next;
    while (this.#byId.has(id)) id = id >= 0xffff_ffff ? 1 : id + 1;
    this.#next = id >= 0xffff_ffff ? 1 : id + 1;
    this.#byId.set(id, fn);
    this.#byFn.set(fn, id);
    return id;
  }

  /**
   * Runs `encode(arg, exporter)` with an exporter that records the ids it
   * hands out for the first time, and returns them. No closure or array is
   * made for a value without functions (the common case: one request each).
   */
  collect<A, T>(encode: (arg: A, exporter: (fn: AnyFunction) => number) => T, arg: A): { result: T; ids: readonly number[] } {
    this.#fresh = NO_IDS;
    let result: T;
    try {
      result = encode(arg, this.#recorder);
    } catch (err) {
      this.#fresh = NO_IDS;
      throw err;
    }
    const ids = this.#fresh;
    this.#fresh = NO_IDS;
    return { result, ids };
  }

  /** Stops serving a function (by the function or its id). */
  release(fnOrId: AnyFunction | number): boolean {
    const id = typeof fnOrId === 'number' ? fnOrId : this.#byFn.get(fnOrId);
    if (id === undefined) return false;
    const fn = this.#byId.get(id);
    if (fn === undefined) return false;
    this.#byId.delete(id);
    this.#byFn.delete(fn);
    return true;
  }

  /** Stops serving every function (the connection closed). */
  releaseAll(): void {
    this.#byId.clear();
    this.#byFn.clear();
  }

  /**
   * Runs the function with this id.
   *
   * @throws HopwireError `ERR_RELEASED` when it was released (or never sent)
   */
  call(id: number, args: unknown[]): unknown {
    const fn = this.#byId.get(id);
    if (fn === undefined) throw new HopwireError(ErrorCode.RELEASED, `function ${String(id)} was released`);
    return fn(...args);
  }
}
