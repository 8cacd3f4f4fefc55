/**
 * Timer limits shared by every collaborator that sets one.
 *
 * @module
 */

/** Longest delay `setTimeout` honours; longer ones fire after 1 ms. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * A request timeout as a timer delay: `0` for none (0 or `Infinity` asked),
 * capped at {@link MAX_TIMER_DELAY}.
 *
 * @returns the delay, or `undefined` when `timeout` is not a number ≥ 0
 */
export function timerDelay(timeout: unknown): number | undefined {
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) return undefined;
  if (timeout === Infinity) return 0;
  return Math.min(timeout, MAX_TIMER_DELAY);
}
