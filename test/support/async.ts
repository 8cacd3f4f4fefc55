/**
 * Shared helpers for waiting in tests: deadlines that fail instead of hanging,
 * the error a promise rejects with (or a function throws), typed events, an
 * inbox to wait for the n-th item a listener recorded, and fake timers per
 * test.
 */
import { type EventEmitter, once } from 'node:events';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { expect } from 'chai';

/**
 * Resolves as `promise` does, but fails with a clear message when it has not
 * settled within `ms` (a deadline, not a sleep: the timer is cleared as soon
 * as `promise` settles), instead of hanging until mocha's timeout.
 *
 * @param promise - What to wait for.
 * @param ms - The deadline, in milliseconds.
 * @param what - What is waited for, for the failure message; a function is
 *   only called on failure (to describe state at that moment).
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${typeof what === 'string' ? what : what()}: still pending after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error `promise` rejects with; fails the test when it resolves.
 *
 * The rejection handler is attached at once, so call it before the rejection
 * can happen (e.g. `const failed = rejection(client.request(…))`) to keep it
 * from being reported as unhandled.
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  expect.fail('the promise resolved; a rejection was expected');
}

/** What `fn` throws; fails the test when it throws nothing (the synchronous counterpart of {@link rejection}). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  expect.fail('the function returned; a throw was expected');
}

/**
 * The arguments of the next `event` of a typed emitter (a `Server`, `Client`
 * or `Session`), typed from its event map: `nextEvent<ClientEvents, 'message'>(client, 'message')`.
 */
export function nextEvent<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(emitter: EventEmitter<T>, event: K): Promise<T[K]> {
  return once(emitter as NodeJS.EventEmitter, event) as Promise<T[K]>;
}

/** What a server saw, in arrival order, with a way to wait for the n-th item. */
export class Inbox {
  /** Everything pushed so far, oldest first. */
  readonly items: unknown[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  /** Records `item` and wakes the waiters whose count it reaches. */
  push(item: unknown): void {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.items.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `n` items have arrived. */
  until(n: number): Promise<void> {
    if (this.items.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

/**
 * Fake timers for each test of the enclosing `describe`: a `beforeEach`
 * installs them (`setTimeout`, `setInterval`, their `clear…` and `Date`) and
 * an `afterEach` uninstalls them. Call it at the top of the `describe`.
 *
 * @returns A function giving the current test's clock: `clock().tick(1000)`.
 */
export function fakeClockPerTest(): () => Clock {
  let clock: Clock | undefined;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  });
  afterEach(() => {
    clock?.uninstall();
    clock = undefined;
  });
  return () => {
    if (clock === undefined) throw new Error('fake timers are only installed while a test runs');
    return clock;
  };
}

/**
 * Runs `fn` while `globalThis[name]` is spied on, and returns what it returned
 * with the handles of the real timers it created (still running: clear or
 * cancel them). For checking that timers are `unref()`ed.
 */
export function timersCreatedBy<T>(name: 'setTimeout' | 'setInterval', fn: () => T): { result: T; timers: NodeJS.Timeout[] } {
  const real = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const timers: NodeJS.Timeout[] = [];
  const spy = (...args: Parameters<typeof setTimeout>): NodeJS.Timeout => {
    const handle = real[name](...args);
    timers.push(handle);
    return handle;
  };
  if (name === 'setTimeout') globalThis.setTimeout = spy as typeof setTimeout;
  else globalThis.setInterval = spy;
  try {
    return { result: fn(), timers };
  } finally {
    if (name === 'setTimeout') globalThis.setTimeout = real.setTimeout;
    else globalThis.setInterval = real.setInterval;
  }
}
