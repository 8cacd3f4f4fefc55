/**
 * Smoke test of the network benchmark (`npm run bench:net`): one scenario per
 * contender in quick mode (1/20 of the counts), each in its own child
 * processes as the real benchmark runs them, with a deadline. It checks that
 * every run completes and validates what arrived — not how fast it was.
 */
import { expect } from 'chai';
import { BenchFailure, type HookedWidget, SequenceCheck, checkItem, checkReply, hookedWidgetHooks, makeItem } from '../bench/common.js';
import { runJob } from '../bench/orchestrator.js';
import { jobOf, scenarios } from '../bench/plan.js';
import type { ContenderName } from '../bench/common.js';
import { natsServerBinary } from '../bench/adapters/hopwire-nats.js';

describe('network benchmark (quick mode smoke test)', function () {
  this.timeout(30_000);

  const quick = scenarios(20);
  // a different workload for each contender, so the whole harness is exercised
  const picks: [ContenderName, string][] = [
    ['hopwire', 'S1 unix'],
    ['raw-net', 'S3'],
    ['sockhop', 'S2'],
    ['zeromq', 'S5'],
    ['raw-bytes', 'S4'],
    ['hopwire-msgpack', 'S1 tcp'],
    ['hopwire-msgpack', 'S4'],
  ];

  for (const [contender, id] of picks) {
    it(`${contender}: ${id} runs and validates`, async () => {
      const scenario = quick.find((s) => s.id === id);
      expect(scenario, id).to.not.equal(undefined);
      if (scenario === undefined) return;
      const result = await runJob(jobOf(scenario, contender), { deadlineMs: 20_000 });
      expect(result.seconds).to.be.greaterThan(0);
      expect(result.rate).to.be.greaterThan(0);
      expect(result.cpuMicrosPerUnit).to.be.greaterThan(0);
      expect(result.serverRssMiB).to.be.greaterThan(0);
      if (scenario.latencies) {
        expect(result.p50).to.be.a('number');
        expect(result.p99).to.be.at.least(result.p50 ?? 0);
      }
    });
  }

  it('hopwire-nats: S3 runs and validates over a nats-server', async function () {
    if (natsServerBinary() === undefined) {
      console.log('      (skipped: nats-server is not installed; apt-get install -y nats-server)');
      this.skip();
    }
    const scenario = quick.find((s) => s.id === 'S3');
    if (scenario === undefined) throw new Error('no S3 scenario');
    const result = await runJob(jobOf(scenario, 'hopwire-nats'), { deadlineMs: 20_000 });
    expect(result.rate).to.be.greaterThan(0);
  });

  for (const contender of ['hopwire', 'hopwire-msgpack'] as const) {
    for (const id of ['S7 classes', 'S7 hooks']) {
      it(`${contender}: ${id} arrive as real Widget instances`, async () => {
        const scenario = quick.find((s) => s.id === id);
        if (scenario === undefined) throw new Error(`no ${id} scenario`);
        const result = await runJob(jobOf(scenario, contender), { deadlineMs: 20_000 });
        expect(result.rate).to.be.greaterThan(0);
      });
    }
  }

  it('a failure in a child process rejects the job with its reason', async () => {
    const scenario = quick.find((s) => s.id === 'S1 tcp');
    if (scenario === undefined) throw new Error('no S1 tcp scenario');
    // raw-bytes carries 1 MiB buffers only: its server refuses the small objects of S1
    const failure = await runJob(jobOf(scenario, 'raw-bytes'), { deadlineMs: 20_000 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.match(/raw-bytes carries 1 MiB buffers only/);
  });

  it('the validation fails loudly on a missing, reordered or damaged message', () => {
    const check = new SequenceCheck('small');
    check.expect(3, () => undefined);
    check.push(makeItem('small', 0));
    expect(() => {
      check.push(makeItem('small', 2));
    }).to.throw(BenchFailure, /message 1/);
    const buffers = new SequenceCheck('buffer');
    buffers.expect(1, () => undefined);
    const damaged = makeItem('buffer', 0) as Buffer;
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
    expect(() => {
      buffers.push(damaged);
    }).to.throw(BenchFailure);
    expect(() => {
      checkReply({ id: 4, ok: true, v: 1 }, 5);
    }).to.throw(BenchFailure);
    // S7: a Widget is not taken for the hooked class, nor the hooked one for a Widget
    checkItem('class', makeItem('class', 0), 0);
    checkItem('hooked', makeItem('hooked', 0), 0);
    expect(() => {
      checkItem('hooked', makeItem('class', 0), 0);
    }).to.throw(BenchFailure, /not a HookedWidget/);
    expect(() => {
      checkItem('class', makeItem('hooked', 0), 0);
    }).to.throw(BenchFailure, /not a Widget/);
  });

  it('the hooked Widget survives its hooks, and they refuse what is not one', () => {
    const sent = makeItem('hooked', 7) as HookedWidget;
    const back = hookedWidgetHooks.fromWire(JSON.parse(JSON.stringify(hookedWidgetHooks.toWire(sent))));
    checkItem('hooked', back, 7);
    expect(back.volume()).to.equal(sent.volume());
    expect(() => hookedWidgetHooks.fromWire({ id: 1 })).to.throw(TypeError);
    expect(() => hookedWidgetHooks.fromWire(null)).to.throw(TypeError);
    expect(() => hookedWidgetHooks.fromWire({ id: 1, name: 'w', price: 1, made: 0, dims: null })).to.throw(TypeError);
  });
});
