import { expect } from 'chai';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { Heartbeat, type HeartbeatHost, type HeartbeatOptions } from '../src/heartbeat.js';
import { fakeClockPerTest, timersCreatedBy } from './support/async.js';

const INTERVAL = 1000;
const MISSES = 2;
const DEATH = INTERVAL * (MISSES + 1);

interface RecordingHost extends HeartbeatHost {
  pings: number;
  deaths: number[];
}

function recordingHost(sendPing?: () => void): RecordingHost {
  const host: RecordingHost = {
    pings: 0,
    deaths: [],
    sendPing() {
      host.pings += 1;
      sendPing?.();
    },
    onDead(missed) {
      host.deaths.push(missed);
    },
  };
  return host;
}

describe('Heartbeat', () => {
  const clock = fakeClockPerTest();

  it('sends one ping per tick and counts them as outstanding', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    expect(heartbeat.running).to.equal(true);
    clock().tick(INTERVAL - 1);
    expect(host.pings).to.equal(0);
    clock().tick(1);
    expect(host.pings).to.equal(1);
    expect(heartbeat.outstanding).to.equal(1);
    clock().tick(INTERVAL);
    expect(host.pings).to.equal(2);
    expect(heartbeat.outstanding).to.equal(2);
    heartbeat.stop();
  });

  it('declares a silent peer dead interval * (misses + 1) after start, once', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    clock().tick(DEATH - 1);
    expect(host.deaths).to.deep.equal([]);
    expect(heartbeat.running).to.equal(true);
    clock().tick(1);
    expect(host.deaths).to.deep.equal([MISSES]);
    expect(host.pings).to.equal(MISSES);
    expect(heartbeat.running).to.equal(false);
    expect(heartbeat.outstanding).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
    clock().tick(10 * DEATH);
    expect(host.deaths).to.have.length(1);
    expect(host.pings).to.equal(MISSES);
  });

  it('alive() clears outstanding and postpones death indefinitely', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    for (let i = 0; i < 100; i += 1) {
      clock().tick(DEATH - 1);
      expect(heartbeat.outstanding).to.equal(MISSES);
      heartbeat.alive();
      expect(heartbeat.outstanding).to.equal(0);
    }
    expect(host.deaths).to.deep.equal([]);
    expect(host.pings).to.equal(100 * MISSES);
    heartbeat.stop();
  });

  it('declares death exactly interval * (misses + 1) after the last alive()', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    clock().tick(INTERVAL * 1.5);
    heartbeat.alive();
    clock().tick(DEATH - 1);
    expect(host.deaths).to.deep.equal([]);
    clock().tick(1);
    expect(host.deaths).to.deep.equal([MISSES]);
  });

  it('start() twice leaves a single timer', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    heartbeat.start();
    expect(clock().countTimers()).to.equal(1);
    clock().tick(INTERVAL);
    expect(host.pings).to.equal(1);
    heartbeat.stop();
  });

  it('start() restarts with nothing outstanding', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    clock().tick(INTERVAL * MISSES);
    expect(heartbeat.outstanding).to.equal(MISSES);
    heartbeat.start();
    expect(heartbeat.outstanding).to.equal(0);
    clock().tick(DEATH - 1);
    expect(host.deaths).to.deep.equal([]);
    heartbeat.stop();
  });

  it('stop() leaves no timer, sends nothing more and is idempotent', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    clock().tick(INTERVAL);
    heartbeat.stop();
    expect(heartbeat.running).to.equal(false);
    expect(heartbeat.outstanding).to.equal(0);
    expect(clock().countTimers()).to.equal(0);
    heartbeat.stop();
    heartbeat.alive();
    clock().tick(10 * DEATH);
    expect(host.pings).to.equal(1);
    expect(host.deaths).to.deep.equal([]);
  });

  it('stops and calls onDead when sendPing throws, without rethrowing', () => {
    const host = recordingHost(() => {
      throw new Error('socket gone');
    });
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    expect(() => clock().tick(INTERVAL)).not.to.throw();
    expect(host.deaths).to.deep.equal([1]);
    expect(heartbeat.running).to.equal(false);
    expect(clock().countTimers()).to.equal(0);
  });

  it('does not call onDead when the host stops it while sendPing throws', () => {
    const host = recordingHost(() => {
      heartbeat.stop();
      throw new Error('closing');
    });
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    heartbeat.start();
    clock().tick(INTERVAL);
    expect(host.pings).to.equal(1);
    expect(host.deaths).to.deep.equal([]);
    expect(clock().countTimers()).to.equal(0);
  });

  it('with misses 0, declares death at the first tick without pinging', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: 0 });
    heartbeat.start();
    clock().tick(INTERVAL);
    expect(host.pings).to.equal(0);
    expect(host.deaths).to.deep.equal([0]);
  });

  it('can be restarted from onDead', () => {
    const host = recordingHost();
    const heartbeat = new Heartbeat(host, { interval: INTERVAL, misses: MISSES });
    host.onDead = (missed) => {
      host.deaths.push(missed);
      heartbeat.start();
    };
    heartbeat.start();
    clock().tick(DEATH);
    expect(host.deaths).to.deep.equal([MISSES]);
    expect(heartbeat.running).to.equal(true);
    expect(clock().countTimers()).to.equal(1);
    clock().tick(DEATH);
    expect(host.deaths).to.deep.equal([MISSES, MISSES]);
    heartbeat.stop();
  });

  it('rejects bad options', () => {
    const host = recordingHost();
    const bad: Partial<HeartbeatOptions>[] = [{ interval: 0 }, { interval: -1 }, { interval: NaN }, { interval: 2 ** 31 }, { misses: -1 }, { misses: 1.5 }];
    for (const options of bad) {
      expect(() => new Heartbeat(host, { interval: INTERVAL, misses: MISSES, ...options })).to.throw(HopwireError).with.property('code', ErrorCode.INVALID_OPTION);
    }
  });
});

describe('Heartbeat timers (real)', () => {
  it('are unref()ed', () => {
    const { result: heartbeat, timers: handles } = timersCreatedBy('setInterval', () => {
      const created = new Heartbeat(recordingHost(), { interval: INTERVAL, misses: MISSES });
      created.start();
      return created;
    });
    try {
      expect(handles).to.have.length(1);
      expect(handles[0]!.hasRef()).to.equal(false);
      heartbeat.alive(); // refresh() must not ref it again
      expect(handles[0]!.hasRef()).to.equal(false);
    } finally {
      heartbeat.stop();
    }
  });
});
