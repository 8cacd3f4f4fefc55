/**
 * Exponential backoff with jitter for reconnect attempts, in the spirit of
 * grpc-js `backoff-timeout.ts`. Knows nothing of sockets: it computes delays
 * and owns at most one timer.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The longest delay Node timers accept; beyond it Node fires after 1 ms instead. */
import { MAX_TIMER_DELAY } from './timers.js';
/** The jitter strategies, for validation. */
const JITTERS: readonly Jitter[] = ['full', 'equal', 'none'];

/**
 * How a delay is randomised, so that many clients cut off at once do not all
 * reconnect at the same instant.
 *
 * - `'full'`: uniformly in `[0, base)`.
 * - `'equal'`: uniformly in `[base / 2, base)`.
 * - `'none'`: exactly `base`.
 */
export type Jitter = 'full' | 'equal' | 'none';

/**
 * Options of {@link backoffDelay} and {@link Backoff}, all required: the
 * client resolves its `reconnect` option (whose defaults are given here) into
 * them. Times in ms.
 */
export interface BackoffOptions {
  /** The base delay of the first attempt (0 or more). @default 100 */
  initial: number;
  /** The base delay never grows past this (from `initial` to 2^31 - 1). @default 10000 */
  max: number;
  /** The base delay is multiplied by this at each attempt (1 or more). @default 2 */
  multiplier: number;
  /** How the base delay is randomised. @default 'equal' */
  jitter: Jitter;
}

function invalid(message: string): HopwireError {
  return new HopwireError(ErrorCode.INVALID_OPTION, message);
}

function validate(options: BackoffOptions): void {
  const { initial, max, multiplier, jitter } = options;
  if (!Number.isFinite(initial) || initial < 0) throw invalid(`backoff initial must be a finite number >= 0, got ${String(initial)}`);
  if (!Number.isFinite(max) || max < initial || max > MAX_TIMER_DELAY) {
    throw invalid(`backoff max must be a number between initial (${initial}) and ${MAX_TIMER_DELAY}, got ${String(max)}`);
  }
  if (!Number.isFinite(multiplier) || multiplier < 1) throw invalid(`backoff multiplier must be a finite number >= 1, got ${String(multiplier)}`);
  if (!JITTERS.includes(jitter)) throw invalid(`backoff jitter must be 'full', 'equal' or 'none', got ${JSON.stringify(jitter)}`);
}

/**
 * The delay before attempt number `attempt` (from 1). A pure formula:
 * `base = min(max, initial * multiplier ** (attempt - 1))`, then jitter
 * (`full`: `random() * base`; `equal`: `base / 2 + random() * base / 2`;
 * `none`: `base`), rounded to an integer ms. The exponent is capped before
 * multiplying, so any attempt number (even `Infinity`) gives `max`, never
 * `Infinity` or `NaN`.
 *
 * @param attempt - the attempt number, 1 or more
 * @param options - the backoff parameters
 * @param random - a source of numbers in `[0, 1)`
 * @returns the delay in ms
 * @throws {@link HopwireError} `ERR_INVALID_OPTION` for bad options or an attempt below 1
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  validate(options);
  if (Number.isNaN(attempt) || attempt < 1) throw invalid(`backoff attempt must be 1 or more, got ${String(attempt)}`);
  const { initial, max, multiplier, jitter } = options;
  let base: number;
  if (initial === 0 || initial === max || multiplier === 1) {
    base = initial;
  } else {
    // The exponent from which initial * multiplier ** n reaches max: cap there so it cannot overflow.
    const cap = Math.ceil(Math.log(max / initial) / Math.log(multiplier));
    base = Math.min(max, initial * multiplier ** Math.min(attempt - 1, cap));
  }
  switch (jitter) {
    case 'full':
      return Math.round(random() * base);
    case 'equal':
      return Math.round(base / 2 + (random() * base) / 2);
    case 'none':
      return Math.round(base);
  }
}

/**
 * Schedules retries with growing delays. Holds at most one timer. By default
 * the timer is `unref()`ed, so a pending retry never keeps the program alive;
 * `keepAlive` keeps it referenced (a client that is reconnecting is still
 * open: its program should wait for it, until `close()` cancels the timer).
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initial: 100, max: 10_000, multiplier: 2, jitter: 'equal' });
 * socket.on('close', () => backoff.schedule(connect));
 * socket.on('connect', () => backoff.reset());
 * ```
 */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  readonly #keepAlive: boolean;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param options - the backoff parameters (copied)
   * @param random - a source of numbers in `[0, 1)`, `Math.random` by default
   * @param keepAlive - keep the pending timer referenced
   * @throws {@link HopwireError} `ERR_INVALID_OPTION` for bad options
   */
  constructor(options: BackoffOptions, random: () => number = Math.random, keepAlive = false) {
    this.#options = { ...options };
    validate(this.#options);
    this.#random = random;
    this.#keepAlive = keepAlive;
  }

  /** Attempts scheduled since construction or the last {@link Backoff.reset}. */
  get attempt(): number {
    return this.#attempt;
  }

  /** True while a call is scheduled and has not run or been cancelled. */
  get scheduled(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Schedules `fn` after the next delay. Cancels any call already scheduled
   * first, so there is never more than one.
   *
   * @param fn - what to call when the delay has passed
   * @returns the attempt number and its delay
   */
  schedule(fn: () => void): { attempt: number; delay: number } {
    this.cancel();
    this.#attempt += 1;
    const attempt = this.#attempt;
    const delay = backoffDelay(attempt, this.#options, this.#random);
    const timer = setTimeout(() => {
      if (this.#timer === timer) this.#timer = undefined;
      fn();
    }, delay);
    if (!this.#keepAlive) timer.unref();
    this.#timer = timer;
    return { attempt, delay };
  }

  /** Cancels the scheduled call, if any. Idempotent. */
  cancel(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Cancels and starts the sequence over at attempt 0: call it after a successful connect. */
  reset(): void {
    this.cancel();
    this.#attempt = 0;
  }
}
