/**
 * The table of requests waiting for their replies on one connection: ids,
 * timeouts and abort signals. Knows nothing of sockets: the connection sends
 * the request with the id it gets here and settles it when the reply comes.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The largest request id: ids are uint32 on the wire. */
const MAX_ID = 0xffff_ffff;
/** The longest delay Node timers accept; beyond it Node fires after 1 ms instead. */
import { MAX_TIMER_DELAY } from './timers.js';
/** The message of an AbortError, as Node writes it. */
const ABORT_MESSAGE = 'The operation was aborted';

/** Options of {@link PendingRequests}: the connection resolves its `maxPendingRequests` option into them. */
export interface PendingRequestsOptions {
  /** How many requests may wait for a reply at once (an integer from 1 to 2^32 - 1). @default 10000 */
  maxPending: number;
  /** Called once for each request that times out (for statistics). */
  onTimeout?: () => void;
}

/** A registered request: the id to send it with and the promise of its reply. */
export interface PendingEntry<T> {
  /** The request id, a uint32 other than 0. */
  id: number;
  /** Settles with the reply, or rejects on timeout, abort or disconnection. */
  promise: Promise<T>;
}

/**
 * An AbortError like Node's own: `name` `'AbortError'`, `code` `'ABORT_ERR'`,
 * message `'The operation was aborted'`, and the signal's reason as `cause`.
 *
 * @param reason - why it was aborted, usually `signal.reason`
 */
export function createAbortError(reason?: unknown): Error {
  const error = new Error(ABORT_MESSAGE, reason === undefined ? undefined : { cause: reason });
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR' });
}

interface Entry<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  /** When it times out (`performance.now()` ms, monotonic), or `Infinity`. */
  deadline: number;
  /** The timeout asked, for the message. */
  delay: number;
  label: string | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The ids of requests with one timeout value, in the order they were added:
 * their deadlines only grow, so the expired ones are always at the front.
 * Settled ids stay until they reach the front (or a compaction), and are
 * skipped then.
 */
interface Lane {
  ids: number[];
  /** The deadline of each id when it was added (an id reused later is told apart by it). */
  deadlines: number[];
  head: number;
}

/**
 * Requests waiting for replies. Every way an entry settles (reply, error,
 * timeout, abort, {@link PendingRequests.rejectAll}) removes it and its abort
 * listener, so nothing leaks.
 *
 * Timeouts share one timer per table, not one per request: requests are
 * kept in lanes by timeout value (deadlines in a lane come in order), and
 * the timer is armed for the earliest deadline. A request costs an array
 * push instead of a timer object. The timer is `unref()`ed: a waiting
 * request never keeps the program alive by itself. It stays armed when the
 * last request settles (one request at a time must not cost a timer each),
 * fires once at its deadline with nothing to do and is not re-armed;
 * {@link PendingRequests.rejectAll} stops it at once.
 *
 * @typeParam T - the type of a reply
 */
export class PendingRequests<T = unknown> {
  readonly #maxPending: number;
  readonly #onTimeout: (() => void) | undefined;
  readonly #entries = new Map<number, Entry<T>>();
  readonly #lanes = new Map<number, Lane>();
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for. */
  #timerAt = Infinity;
  #nextId = 1;

  /**
   * @param options - limits
   * @throws {@link HopwireError} `ERR_INVALID_OPTION` for bad options
   */
  constructor(options: PendingRequestsOptions) {
    const { maxPending } = options;
    if (!Number.isInteger(maxPending) || maxPending < 1 || maxPending > MAX_ID) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `maxPending must be an integer from 1 to ${MAX_ID}, got ${String(maxPending)}`);
    }
    this.#maxPending = maxPending;
    this.#onTimeout = options.onTimeout;
  }

  /** How many requests are waiting. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when `id` is waiting for its reply. */
  has(id: number): boolean {
    return this.#entries.has(id);
  }

  /**
   * Registers a request: allocates an id (1, 2, … wrapping after 2^32 - 1 back
   * to 1, never 0, skipping ids still waiting), starts its timeout and listens
   * to its signal.
   *
   * @param timeout - ms before it rejects with `ERR_REQUEST_TIMEOUT`; 0 or `Infinity` for none (capped at 2^31 - 1)
   * @param signal - rejects it with an AbortError when aborted
   * @param label - names the request in the timeout message instead of its id
   * @throws an AbortError if `signal` is already aborted, so the caller never sends
   * @throws {@link HopwireError} `ERR_TOO_MANY_PENDING` when `maxPending` requests already wait
   * @throws {@link HopwireError} `ERR_INVALID_OPTION` for a negative or NaN timeout
   */
  add(timeout: number, signal?: AbortSignal, label?: string): PendingEntry<T> {
    if (signal?.aborted === true) throw createAbortError(signal.reason);
    if (Number.isNaN(timeout) || timeout < 0) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `request timeout must be 0 or more, got ${String(timeout)}`);
    }
    if (this.#entries.size >= this.#maxPending) {
      throw new HopwireError(ErrorCode.TOO_MANY_PENDING, `${this.#entries.size} requests already wait for a reply (maxPending ${this.#maxPending})`);
    }
    const id = this.#allocateId();
    const delay = timeout > 0 && timeout !== Infinity ? Math.min(timeout, MAX_TIMER_DELAY) : 0;
    let entry!: Entry<T>;
    const promise = new Promise<T>((resolve, reject) => {
      entry = { resolve, reject, deadline: delay === 0 ? Infinity : performance.now() + delay, delay, label, signal, onAbort: undefined };
    });
    if (delay > 0) this.#track(id, entry);
    if (signal !== undefined) {
      entry.onAbort = () => {
        this.reject(id, createAbortError(signal.reason));
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.#entries.set(id, entry);
    return { id, promise };
  }

  /**
   * Settles a request with its reply.
   * @returns false, doing nothing, when `id` is not waiting (unknown, or already settled)
   */
  resolve(id: number, value: T): boolean {
    const entry = this.#take(id);
    if (entry === undefined) return false;
    entry.resolve(value);
    return true;
  }

  /**
   * Rejects a request.
   * @returns false, doing nothing, when `id` is not waiting (unknown, or already settled)
   */
  reject(id: number, error: Error): boolean {
    const entry = this.#take(id);
    if (entry === undefined) return false;
    entry.reject(error);
    return true;
  }

  /** Rejects every waiting request with `error` and empties the table: the connection dropped or closed. */
  rejectAll(error: Error): void {
    for (const id of [...this.#entries.keys()]) this.reject(id, error);
    this.#stopTimer();
  }

  /**
   * Sets the next id to try. For tests of the wrap-around only.
   * @internal
   */
  _setNextId(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > MAX_ID) throw new HopwireError(ErrorCode.INVALID_OPTION, `id must be an integer from 1 to ${MAX_ID}`);
    this.#nextId = id;
  }

  #allocateId(): number {
    // Terminates: fewer than maxPending <= MAX_ID ids are in use.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.#entries.has(id)) return id;
    }
  }

  /** Removes an entry and its abort listener (its lane slot is skipped later). */
  #take(id: number): Entry<T> | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    // The timer stays armed when the table empties: one request at a time would otherwise cost a
    // setTimeout and a clearTimeout each. It fires once, finds only settled ids and is not re-armed.
    return entry;
  }

  /** Puts a request with a timeout in its lane and makes sure the timer fires by its deadline. */
  #track(id: number, entry: Entry<T>): void {
    let lane = this.#lanes.get(entry.delay);
    if (lane === undefined) {
      lane = { ids: [], deadlines: [], head: 0 };
      this.#lanes.set(entry.delay, lane);
    }
    const live = lane.ids.length - lane.head;
    if (live > 1024 && live > 4 * this.#entries.size) {
      // Mostly settled ids (fast replies, long timeout): keep the waiting ones only.
      this.#compact(lane);
    } else if (lane.head > 1024 && lane.head > live) {
      lane.ids = lane.ids.slice(lane.head);
      lane.deadlines = lane.deadlines.slice(lane.head);
      lane.head = 0;
    }
    lane.ids.push(id);
    lane.deadlines.push(entry.deadline);
    if (entry.deadline < this.#timerAt) this.#arm(entry.deadline, entry.delay);
  }

  #compact(lane: Lane): void {
    const ids: number[] = [];
    const deadlines: number[] = [];
    for (let i = lane.head; i < lane.ids.length; i++) {
      const id = lane.ids[i] as number;
      const deadline = lane.deadlines[i] as number;
      if (this.#entries.get(id)?.deadline !== deadline) continue;
      ids.push(id);
      deadlines.push(deadline);
    }
    lane.ids = ids;
    lane.deadlines = deadlines;
    lane.head = 0;
  }

  /** Arms the timer for `deadline`, never further away than `delay` (the clock is monotonic; this is a backstop). */
  #arm(deadline: number, delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#expire, Math.min(delay, Math.max(0, Math.ceil(deadline - performance.now()))));
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#lanes.clear();
  }

  /** Rejects every request past its deadline, then re-arms for the next one. */
  readonly #expire = (): void => {
    // The timer fired for #timerAt: a clock read a hair early does not hold those back.
    const now = Math.max(performance.now(), this.#timerAt);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const expired: [number, Entry<T>][] = [];
    let next = Infinity;
    let nextDelay = 0;
    for (const [delay, lane] of this.#lanes) {
      while (lane.head < lane.ids.length) {
        const id = lane.ids[lane.head] as number;
        const deadline = lane.deadlines[lane.head] as number;
        const entry = this.#entries.get(id);
        if (entry?.deadline !== deadline) {
          lane.head++; // settled (or its id now belongs to a newer request)
          continue;
        }
        if (deadline > now) {
          if (deadline < next) {
            next = deadline;
            nextDelay = delay;
          }
          break;
        }
        lane.head++;
        expired.push([id, entry]);
      }
      if (lane.head === lane.ids.length) this.#lanes.delete(delay);
    }
    for (const [id, entry] of expired) {
      if (this.#entries.get(id) !== entry) continue; // settled by an earlier one's handler
      this.#onTimeout?.();
      this.reject(id, new HopwireError(ErrorCode.REQUEST_TIMEOUT, `request ${entry.label ?? String(id)} timed out after ${entry.delay} ms`));
    }
    if (next !== Infinity && this.#entries.size > 0 && next < this.#timerAt) this.#arm(next, nextDelay);
  };
}
