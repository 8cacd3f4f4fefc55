import { getEventListeners, setMaxListeners } from 'node:events';
import { expect } from 'chai';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { createAbortError, PendingRequests } from '../src/pending-requests.js';
import { fakeClockPerTest, rejection, timersCreatedBy } from './support/async.js';

const MAX_ID = 0xffff_ffff;

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('createAbortError', () => {
  it('looks like Node’s AbortError and carries the reason as cause', () => {
    const reason = new Error('user cancelled');
    const error = createAbortError(reason);
    expect(error).to.be.instanceOf(Error);
    expect(error).to.include({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' });
    expect(error.cause).to.equal(reason);
  });

  it('has no cause without a reason', () => {
    expect(Object.hasOwn(createAbortError(), 'cause')).to.equal(false);
  });
});

describe('PendingRequests', () => {
  const clock = fakeClockPerTest();

  it('allocates ids 1, 2, 3, … and resolves the entry whose id matches', async () => {
    const pending = new PendingRequests<string>({ maxPending: 10 });
    const a = pending.add(1000);
    const b = pending.add(1000);
    const c = pending.add(1000);
    expect([a.id, b.id, c.id]).to.deep.equal([1, 2, 3]);
    expect(pending.size).to.equal(3);
    expect(pending.resolve(b.id, 'bee')).to.equal(true);
    expect(await b.promise).to.equal('bee');
    expect(pending.has(b.id)).to.equal(false);
    expect(pending.has(a.id)).to.equal(true);
    expect(pending.has(c.id)).to.equal(true);
    expect(pending.size).to.equal(2);
    expect(clock().countTimers()).to.equal(1); // one timer for the table, not one per request
    pending.resolve(a.id, 'ay');
    pending.resolve(c.id, 'see');
    expect(await Promise.all([a.promise, c.promise])).to.deep.equal(['ay', 'see']);
    expect(pending.size).to.equal(0);
    expect(clock().countTimers()).to.equal(1); // kept for the next request, until its deadline
    clock().tick(1000);
    expect(clock().countTimers()).to.equal(0); // fired with nothing to do, not re-armed
  });

  it('one request at a time reuses the armed timer: no timer per request', async () => {
    const pending = new PendingRequests<number>({ maxPending: 10 });
    const { timers } = timersCreatedBy('setTimeout', () => {
      for (let i = 0; i < 100; i++) {
        const entry = pending.add(1000);
        pending.resolve(entry.id, i);
        clock().tick(1);
      }
    });
    expect(timers).to.have.length(1);
    const late = pending.add(1000); // the armed timer is due before this one: it re-arms for it
    const caught = rejection(late.promise);
    clock().tick(1000);
    expect(await caught).to.include({ code: ErrorCode.REQUEST_TIMEOUT });
    expect(clock().countTimers()).to.equal(0);
  });

  it('returns false and does nothing for unknown or already settled ids', async () => {
    const pending = new PendingRequests<string>({ maxPending: 10 });
    const entry = pending.add(1000);
    expect(pending.resolve(42, 'nobody')).to.equal(false);
    expect(pending.reject(42, new Error('nobody'))).to.equal(false);
    expect(pending.size).to.equal(1);
    expect(pending.resolve(entry.id, 'first')).to.equal(true);
    expect(pending.resolve(entry.id, 'duplicate')).to.equal(false);
    expect(pending.reject(entry.id, new Error('late'))).to.equal(false);
    expect(await entry.promise).to.equal('first');
  });

  it('reject() rejects with the given error and releases timer and listener', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const controller = new AbortController();
    const entry = pending.add(1000, controller.signal);
    const caught = rejection(entry.promise);
    const error = new Error('remote failed');
    expect(pending.reject(entry.id, error)).to.equal(true);
    expect(await caught).to.equal(error);
    expect(pending.size).to.equal(0);
    expect(abortListeners(controller.signal)).to.equal(0);
    clock().tick(1000);
    expect(clock().countTimers()).to.equal(0);
  });

  it('resolve() releases the timer and the abort listener; a later abort does nothing', async () => {
    const pending = new PendingRequests<number>({ maxPending: 10 });
    const controller = new AbortController();
    const entry = pending.add(1000, controller.signal);
    expect(abortListeners(controller.signal)).to.equal(1);
    expect(clock().countTimers()).to.equal(1);
    pending.resolve(entry.id, 7);
    expect(abortListeners(controller.signal)).to.equal(0);
    controller.abort();
    expect(await entry.promise).to.equal(7);
    clock().tick(1000);
    expect(clock().countTimers()).to.equal(0);
  });

  it('rejects with ERR_REQUEST_TIMEOUT at exactly the timeout and removes the entry', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const controller = new AbortController();
    const entry = pending.add(500, controller.signal);
    const caught = rejection(entry.promise);
    clock().tick(499);
    expect(pending.has(entry.id)).to.equal(true);
    clock().tick(1);
    expect(pending.has(entry.id)).to.equal(false);
    const error = await caught;
    expect(error).to.be.instanceOf(HopwireError);
    expect(error).to.include({ code: ErrorCode.REQUEST_TIMEOUT, message: `request ${entry.id} timed out after 500 ms` });
    expect(pending.size).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
    expect(abortListeners(controller.signal)).to.equal(0);
  });

  it('one shared timer: each request times out exactly at its own deadline, whatever the mix of timeouts and start times', async () => {
    const pending = new PendingRequests({ maxPending: 100 });
    const settled: string[] = [];
    const start = (name: string, timeout: number): void => {
      const e = pending.add(timeout, undefined, name);
      e.promise.catch((err: unknown) => {
        settled.push(`${name}@${clock().now}:${(err as HopwireError).code}`);
      });
    };
    start('a', 300); // deadline 300
    start('b', 100); // 100: earlier than the armed one, so the timer moves
    clock().tick(50);
    start('c', 300); // 350
    start('d', 100); // 150
    start('e', 20); // 70
    const answered = pending.add(100, undefined, 'answered'); // settled before its deadline: never times out
    clock().tick(10);
    pending.resolve(answered.id, 'ok');
    for (let t = 60; t <= 400; t++) {
      clock().tick(1);
      await Promise.resolve();
    }
    expect(settled).to.deep.equal([
      'e@70:ERR_REQUEST_TIMEOUT',
      'b@100:ERR_REQUEST_TIMEOUT',
      'd@150:ERR_REQUEST_TIMEOUT',
      'a@300:ERR_REQUEST_TIMEOUT',
      'c@350:ERR_REQUEST_TIMEOUT',
    ]);
    expect(pending.size).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
  });

  it('100,000 fast replies beside one slow request (the lane compacts): the slow one still times out on time', async () => {
    const pending = new PendingRequests<number>({ maxPending: 10 });
    const slow = pending.add(60_000, undefined, 'slow');
    const caught = rejection(slow.promise);
    for (let i = 0; i < 100_000; i++) {
      const e = pending.add(60_000);
      pending.resolve(e.id, i);
      await e.promise;
    }
    expect(pending.size).to.equal(1);
    clock().tick(60_000);
    expect((await caught as Error).message).to.equal('request slow timed out after 60000 ms');
    expect(clock().countTimers()).to.equal(0);
  });

  it('an id reused after wrapping is timed by its new request, not by the old slot', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    pending._setNextId(7);
    const first = pending.add(100);
    pending.resolve(first.id, 'done');
    pending._setNextId(7);
    clock().tick(50);
    const second = pending.add(100); // id 7 again: deadline 150, not 100
    expect(second.id).to.equal(7);
    const caught = rejection(second.promise);
    clock().tick(50);
    expect(pending.has(7)).to.equal(true);
    clock().tick(50);
    expect(pending.has(7)).to.equal(false);
    expect((await caught as HopwireError).code).to.equal(ErrorCode.REQUEST_TIMEOUT);
  });

  it('names the request by its label in the timeout message', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const caught = rejection(pending.add(250, undefined, 'ping').promise);
    clock().tick(250);
    expect(await caught).to.include({ code: ErrorCode.REQUEST_TIMEOUT, message: 'request ping timed out after 250 ms' });
  });

  it('starts no timer for a timeout of 0 or Infinity', () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const a = pending.add(0);
    const b = pending.add(Infinity);
    expect(clock().countTimers()).to.equal(0);
    clock().tick(2 ** 31);
    expect(pending.has(a.id) && pending.has(b.id)).to.equal(true);
    pending.rejectAll(new Error('done'));
    return Promise.allSettled([a.promise, b.promise]);
  });

  it('caps a timeout longer than Node timers allow instead of firing at once', () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const entry = pending.add(2 ** 40);
    const caught = rejection(entry.promise);
    clock().tick(2 ** 31 - 2);
    expect(pending.has(entry.id)).to.equal(true);
    clock().tick(1);
    expect(pending.has(entry.id)).to.equal(false);
    return caught;
  });

  it('rejects with an AbortError (name, code, cause) when the signal aborts, and removes the entry', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const controller = new AbortController();
    const entry = pending.add(1000, controller.signal);
    const caught = rejection(entry.promise);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    expect(pending.has(entry.id)).to.equal(false);
    const error = await caught;
    expect(error).to.include({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' });
    expect((error as Error).cause).to.equal(reason);
    expect(pending.size).to.equal(0);
    expect(abortListeners(controller.signal)).to.equal(0);
    clock().tick(1000);
    expect(clock().countTimers()).to.equal(0);
  });

  it('throws an AbortError synchronously for an already aborted signal, registering nothing', () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const reason = new Error('too late');
    const signal = AbortSignal.abort(reason);
    let thrown: unknown;
    try {
      pending.add(1000, signal);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((thrown as Error).cause).to.equal(reason);
    expect(pending.size).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
    expect(abortListeners(signal)).to.equal(0);
    expect(pending.add(0).id).to.equal(1); // no id was used up
  });

  it('throws ERR_TOO_MANY_PENDING synchronously at maxPending, and accepts again once one settles', async () => {
    const pending = new PendingRequests<string>({ maxPending: 3 });
    const entries = [pending.add(1000), pending.add(1000), pending.add(1000)];
    expect(() => pending.add(1000)).to.throw(HopwireError).with.property('code', ErrorCode.TOO_MANY_PENDING);
    expect(pending.size).to.equal(3);
    expect(clock().countTimers()).to.equal(1);
    pending.resolve(entries[0]!.id, 'done');
    const fourth = pending.add(1000);
    expect(pending.size).to.equal(3);
    pending.rejectAll(new Error('closed'));
    await Promise.allSettled([...entries, fourth].map((e) => e.promise));
  });

  it('wraps ids from 0xFFFFFFFF back to 1, never 0', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    pending._setNextId(MAX_ID - 1);
    const entries = [pending.add(0), pending.add(0), pending.add(0), pending.add(0)];
    expect(entries.map((e) => e.id)).to.deep.equal([MAX_ID - 1, MAX_ID, 1, 2]);
    pending.rejectAll(new Error('closed'));
    await Promise.allSettled(entries.map((e) => e.promise));
  });

  it('skips ids still in use after wrapping', async () => {
    const pending = new PendingRequests<string>({ maxPending: 10 });
    const one = pending.add(0);
    const two = pending.add(0);
    const three = pending.add(0);
    pending.resolve(two.id, 'freed');
    await two.promise;
    pending._setNextId(MAX_ID);
    const wrapped = [pending.add(0), pending.add(0), pending.add(0)];
    expect(wrapped.map((e) => e.id)).to.deep.equal([MAX_ID, 2, 4]);
    expect(pending.has(one.id) && pending.has(three.id)).to.equal(true);
    expect(pending.size).to.equal(5);
    pending.rejectAll(new Error('closed'));
    await Promise.allSettled([one, three, ...wrapped].map((e) => e.promise));
  });

  it('rejectAll() rejects every entry with the error and leaves no entry, timer or listener', async () => {
    const pending = new PendingRequests({ maxPending: 10 });
    const controller = new AbortController();
    const entries = [pending.add(1000, controller.signal), pending.add(2000, controller.signal), pending.add(0)];
    const caught = entries.map((e) => rejection(e.promise));
    expect(abortListeners(controller.signal)).to.equal(2);
    const error = new HopwireError(ErrorCode.CLOSED, 'closed');
    pending.rejectAll(error);
    expect(pending.size).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
    expect(abortListeners(controller.signal)).to.equal(0);
    for (const result of await Promise.all(caught)) expect(result).to.equal(error);
    pending.rejectAll(error); // empty: nothing happens
  });

  it('matches 1,000 concurrent requests resolved out of order', async () => {
    const pending = new PendingRequests<string>({ maxPending: 10_000 });
    const controller = new AbortController();
    setMaxListeners(1000, controller.signal); // one signal shared by 1,000 requests is deliberate here
    const entries = Array.from({ length: 1000 }, () => pending.add(5000, controller.signal));
    expect(new Set(entries.map((e) => e.id)).size).to.equal(1000);
    expect(clock().countTimers()).to.equal(1); // shared by all 1,000
    // A deterministic shuffle (LCG-driven Fisher–Yates).
    const order = entries.map((e) => e.id);
    let seed = 12345;
    for (let i = order.length - 1; i > 0; i -= 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    expect(order).not.to.deep.equal(entries.map((e) => e.id));
    for (const id of order) expect(pending.resolve(id, `reply ${id}`)).to.equal(true);
    const replies = await Promise.all(entries.map((e) => e.promise));
    expect(replies).to.deep.equal(entries.map((e) => `reply ${e.id}`));
    expect(pending.size).to.equal(0);
    clock().tick(5000);
    expect(clock().countTimers()).to.equal(0);
    expect(abortListeners(controller.signal)).to.equal(0);
  });

  it('rejects bad options and timeouts', () => {
    for (const maxPending of [0, -1, 1.5, NaN, 2 ** 32]) {
      expect(() => new PendingRequests({ maxPending })).to.throw(HopwireError).with.property('code', ErrorCode.INVALID_OPTION);
    }
    const pending = new PendingRequests({ maxPending: 10 });
    expect(() => pending.add(-1)).to.throw(HopwireError).with.property('code', ErrorCode.INVALID_OPTION);
    expect(() => pending.add(NaN)).to.throw(HopwireError).with.property('code', ErrorCode.INVALID_OPTION);
    expect(pending.size).to.equal(0);
  });
});

describe('PendingRequests timers (real)', () => {
  it('are unref()ed', async () => {
    const { result, timers: handles } = timersCreatedBy('setTimeout', () => {
      const created = new PendingRequests<number>({ maxPending: 10_000 });
      return { pending: created, entry: created.add(60_000) };
    });
    const { pending, entry } = result;
    expect(handles).to.have.length(1);
    expect(handles[0]!.hasRef()).to.equal(false);
    pending.resolve(entry.id, 1);
    await entry.promise;
  });
});
