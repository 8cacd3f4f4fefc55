import { expect } from 'chai';
import { Backoff, backoffDelay, type BackoffOptions, type Jitter } from '../src/backoff.js';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { fakeClockPerTest, timersCreatedBy } from './support/async.js';

const OPTIONS: BackoffOptions = { initial: 100, max: 10_000, multiplier: 2, jitter: 'none' };

function options(jitter: Jitter, overrides: Partial<BackoffOptions> = {}): BackoffOptions {
  return { ...OPTIONS, jitter, ...overrides };
}

function fixed(value: number): () => number {
  return () => value;
}

function expectInvalid(fn: () => unknown): void {
  expect(fn).to.throw(HopwireError).with.property('code', ErrorCode.INVALID_OPTION);
}

describe('backoffDelay', () => {
  it('none: base = initial * multiplier ** (attempt - 1)', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, options('none')))).to.deep.equal([100, 200, 400, 800, 1600]);
  });

  it('full: random() * base, rounded', () => {
    expect(backoffDelay(1, options('full'), fixed(0))).to.equal(0);
    expect(backoffDelay(1, options('full'), fixed(0.5))).to.equal(50);
    expect(backoffDelay(1, options('full'), fixed(0.999))).to.equal(100); // 99.9
    expect(backoffDelay(4, options('full'), fixed(0))).to.equal(0);
    expect(backoffDelay(4, options('full'), fixed(0.5))).to.equal(400);
    expect(backoffDelay(4, options('full'), fixed(0.999))).to.equal(799); // 799.2
  });

  it('equal: base / 2 + random() * base / 2, rounded', () => {
    expect(backoffDelay(1, options('equal'), fixed(0))).to.equal(50);
    expect(backoffDelay(1, options('equal'), fixed(0.5))).to.equal(75);
    expect(backoffDelay(1, options('equal'), fixed(0.999))).to.equal(100); // 99.95
    expect(backoffDelay(4, options('equal'), fixed(0))).to.equal(400);
    expect(backoffDelay(4, options('equal'), fixed(0.5))).to.equal(600);
    expect(backoffDelay(4, options('equal'), fixed(0.999))).to.equal(800); // 799.6
  });

  it('none ignores random', () => {
    for (const r of [0, 0.5, 0.999]) expect(backoffDelay(3, options('none'), fixed(r))).to.equal(400);
  });

  it('rounds a fractional base to an integer ms', () => {
    expect(backoffDelay(2, options('none', { initial: 10, multiplier: 1.55 }))).to.equal(16); // 15.5
  });

  it('caps the base at max', () => {
    expect(backoffDelay(7, options('none'))).to.equal(6400);
    expect(backoffDelay(8, options('none'))).to.equal(10_000); // 12800 capped
    expect(backoffDelay(8, options('full'), fixed(0.5))).to.equal(5000);
    expect(backoffDelay(8, options('equal'), fixed(0))).to.equal(5000);
  });

  it('huge attempt numbers give max, never Infinity or NaN', () => {
    for (const attempt of [1_100, 1e6, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Infinity]) {
      expect(backoffDelay(attempt, options('none'))).to.equal(10_000);
      expect(backoffDelay(attempt, options('full'), fixed(0.5))).to.equal(5000);
      expect(backoffDelay(attempt, options('none', { multiplier: 1e300 }))).to.equal(10_000);
    }
  });

  it('edge parameters stay finite at any attempt (1 ** Infinity and 0 * Infinity are NaN)', () => {
    for (const attempt of [1, 50, Infinity]) {
      expect(backoffDelay(attempt, options('none', { multiplier: 1 }))).to.equal(100);
      expect(backoffDelay(attempt, options('none', { initial: 0 }))).to.equal(0);
      expect(backoffDelay(attempt, options('none', { initial: 500, max: 500 }))).to.equal(500);
    }
  });

  it('rejects bad options and attempts below 1', () => {
    expectInvalid(() => backoffDelay(0, OPTIONS));
    expectInvalid(() => backoffDelay(NaN, OPTIONS));
    expectInvalid(() => backoffDelay(1, options('none', { initial: -1 })));
    expectInvalid(() => backoffDelay(1, options('none', { max: 50 })));
    expectInvalid(() => backoffDelay(1, options('none', { max: 2 ** 31 })));
    expectInvalid(() => backoffDelay(1, options('none', { multiplier: 0.5 })));
    expectInvalid(() => backoffDelay(1, options('none', { multiplier: NaN })));
    expectInvalid(() => backoffDelay(1, options('bogus' as Jitter)));
    expectInvalid(() => new Backoff(options('none', { initial: Infinity })));
  });
});

describe('Backoff', () => {
  const clock = fakeClockPerTest();

  it('fires after exactly the delay', () => {
    const backoff = new Backoff(options('none'));
    let fired = 0;
    const result = backoff.schedule(() => {
      fired += 1;
    });
    expect(result).to.deep.equal({ attempt: 1, delay: 100 });
    expect(backoff.scheduled).to.equal(true);
    expect(clock().countTimers()).to.equal(1);
    clock().tick(result.delay - 1);
    expect(fired).to.equal(0);
    clock().tick(1);
    expect(fired).to.equal(1);
    expect(backoff.scheduled).to.equal(false);
    expect(clock().countTimers()).to.equal(0);
  });

  it('grows the delay with each attempt and uses the given random', () => {
    const backoff = new Backoff(options('full'), fixed(0.5));
    const noop = (): void => undefined;
    expect(backoff.schedule(noop)).to.deep.equal({ attempt: 1, delay: 50 });
    clock().tick(50);
    expect(backoff.schedule(noop)).to.deep.equal({ attempt: 2, delay: 100 });
    clock().tick(100);
    expect(backoff.schedule(noop)).to.deep.equal({ attempt: 3, delay: 200 });
    expect(backoff.attempt).to.equal(3);
  });

  it('schedule cancels the call already scheduled', () => {
    const backoff = new Backoff(options('none'));
    const calls: string[] = [];
    backoff.schedule(() => calls.push('first'));
    const second = backoff.schedule(() => calls.push('second'));
    expect(clock().countTimers()).to.equal(1);
    clock().tick(second.delay);
    expect(calls).to.deep.equal(['second']);
  });

  it('cancel stops the call and is idempotent', () => {
    const backoff = new Backoff(options('none'));
    let fired = false;
    backoff.schedule(() => {
      fired = true;
    });
    backoff.cancel();
    expect(backoff.scheduled).to.equal(false);
    expect(clock().countTimers()).to.equal(0);
    backoff.cancel();
    clock().tick(60_000);
    expect(fired).to.equal(false);
    expect(backoff.attempt).to.equal(1);
  });

  it('reset cancels and restarts the sequence', () => {
    const backoff = new Backoff(options('none'));
    let fired = false;
    const noop = (): void => undefined;
    backoff.schedule(noop);
    backoff.schedule(noop);
    backoff.schedule(() => {
      fired = true;
    });
    backoff.reset();
    expect(backoff.attempt).to.equal(0);
    expect(backoff.scheduled).to.equal(false);
    expect(clock().countTimers()).to.equal(0);
    clock().tick(60_000);
    expect(fired).to.equal(false);
    expect(backoff.schedule(noop)).to.deep.equal({ attempt: 1, delay: 100 });
  });

  it('copies its options', () => {
    const opts = options('none');
    const backoff = new Backoff(opts);
    opts.initial = 5000;
    expect(backoff.schedule(() => undefined).delay).to.equal(100);
    backoff.cancel();
  });
});

describe('Backoff timers (real)', () => {
  it('are unref()ed', () => {
    const { result: backoff, timers: handles } = timersCreatedBy('setTimeout', () => {
      const created = new Backoff(options('none'));
      created.schedule(() => undefined);
      return created;
    });
    backoff.cancel();
    expect(handles).to.have.length(1);
    expect(handles[0]!.hasRef()).to.equal(false);
  });
});
