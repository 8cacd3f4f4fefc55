/**
 * Runs one {@link Job}: starts the server and the client process(es) of one
 * contender (fresh processes every time), runs a warm-up phase and then the
 * measured phase, collects the timings, the CPU time of every process and
 * the server's peak RSS, and stops the processes.
 *
 * Every failure is loud: a child that reports a validation failure, exits
 * early, or a job that passes its deadline rejects with the reason, and all
 * its processes are killed.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, Job, ListenRequest, ToWorker, WorkerConfig } from './common.js';
import { MIB } from './common.js';

/** Run from TypeScript through tsx, or compiled to JS (`tsc` into build-check/, for profiles with real line numbers). */
const COMPILED = import.meta.url.endsWith('.js');
const WORKER = fileURLToPath(new URL(COMPILED ? './worker.js' : './worker.ts', import.meta.url));
const LOADER: readonly string[] = COMPILED ? [] : ['--import', 'tsx'];

/** What one measured run produced. */
export interface JobResult {
  readonly job: Job;
  /** Seconds of the measured phase. */
  readonly seconds: number;
  /** Units per second: messages, round trips, deliveries, or MB (10^6 bytes) for buffers. */
  readonly rate: number;
  /** CPU time (user + sys) of all the job's processes during the measured phase, µs per message / round trip / delivery. */
  readonly cpuMicrosPerUnit: number;
  /** Peak RSS of the server process, MiB. */
  readonly serverRssMiB: number;
  /** rpc with latencies: median and 99th percentile round trip, µs. */
  readonly p50?: number;
  readonly p99?: number;
}

/** Options of {@link runJob}. */
export interface RunOptions {
  /** Kill everything and fail after this long. */
  readonly deadlineMs: number;
  /** Extra node flags for the children of this job (e.g. `--cpu-prof`). */
  readonly execArgv?: readonly string[];
}

type Message<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** Fails the whole job at once, from wherever the failure is noticed. */
class JobContext {
  readonly failed: Promise<never>;
  #reject!: (err: Error) => void;
  error: Error | undefined;

  constructor() {
    this.failed = new Promise<never>((_resolve, reject) => {
      this.#reject = reject;
    });
    this.failed.catch(() => undefined);
  }

  fail(err: Error): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.#reject(err);
  }

  /** `p`, unless the job fails first. */
  wait<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }
}

/** One child process and its inbox. */
class Child {
  readonly name: string;
  readonly #proc: ChildProcess;
  readonly #ctx: JobContext;
  readonly #inbox: FromWorker[] = [];
  #waiter: { type: FromWorker['type']; resolve: (m: FromWorker) => void } | undefined;
  #exited = false;
  #leaving = false;
  readonly exited: Promise<void>;

  constructor(name: string, config: WorkerConfig, ctx: JobContext, execArgv: readonly string[]) {
    this.name = name;
    this.#ctx = ctx;
    this.#proc = fork(WORKER, [JSON.stringify(config)], {
      execArgv: [...LOADER, ...execArgv],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => {
      this.#proc.on('exit', (code, signal) => {
        this.#exited = true;
        if (!this.#leaving) ctx.fail(new Error(`${name} exited unexpectedly (code ${String(code)}, signal ${String(signal)})`));
        resolve();
      });
    });
    this.#proc.on('error', (err) => {
      ctx.fail(err);
    });
    this.#proc.on('message', (raw) => {
      const msg = raw as FromWorker;
      if (msg.type === 'failed') {
        ctx.fail(new Error(msg.message));
        return;
      }
      const w = this.#waiter;
      if (w?.type === msg.type) {
        this.#waiter = undefined;
        w.resolve(msg);
      } else {
        this.#inbox.push(msg);
      }
    });
  }

  /** The next message of `type` from this child. */
  next<T extends FromWorker['type']>(type: T): Promise<Message<T>> {
    const i = this.#inbox.findIndex((m) => m.type === type);
    if (i >= 0) {
      const [m] = this.#inbox.splice(i, 1);
      return Promise.resolve(m as Message<T>);
    }
    if (this.#waiter !== undefined) throw new Error(`${this.name}: two waits at once`);
    return this.#ctx.wait(
      new Promise<Message<T>>((resolve) => {
        this.#waiter = { type, resolve: resolve as (m: FromWorker) => void };
      }),
    );
  }

  send(msg: ToWorker): void {
    if (!this.#exited && this.#proc.connected) this.#proc.send(msg);
  }

  /** Sends `msg` and waits for the child's `ack`. */
  async ask(msg: ToWorker): Promise<void> {
    this.send(msg);
    await this.next('ack');
  }

  /** Asks the child to leave; kills it if it has not within 3 s. */
  async stop(): Promise<void> {
    this.#leaving = true;
    if (this.#exited) return;
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.#leaving = true;
    if (!this.#exited) this.#proc.kill('SIGKILL');
  }
}

/** Runs one job in fresh processes; rejects loudly on any failure. */
export async function runJob(job: Job, options: RunOptions): Promise<JobResult> {
  const ctx = new JobContext();
  const dir = mkdtempSync(join(tmpdir(), 'hopwire-bench-'));
  const children: Child[] = [];
  const deadline = setTimeout(() => {
    ctx.fail(new Error(`${job.scenario} ${job.contender}: no result within ${Math.round(options.deadlineMs / 1000)} s`));
  }, options.deadlineMs);
  const execArgv = options.execArgv ?? [];
  const start = (name: string, config: WorkerConfig): Child => {
    const child = new Child(`${job.scenario} ${job.contender} ${name}`, config, ctx, execArgv);
    children.push(child);
    return child;
  };
  try {
    const listen: ListenRequest = job.transport === 'unix' ? { kind: 'unix', path: join(dir, 'bench.sock') } : { kind: 'tcp' };
    const server = start('server', { job, role: 'server', listen });
    const { endpoint } = await server.next('listening');
    const clientCount = job.workload === 'broadcast' ? job.clientProcesses : 1;
    const clients: Child[] = [];
    for (let i = 0; i < clientCount; i++) clients.push(start(`client ${i + 1}`, { job, role: 'client', endpoint }));
    await ctx.wait(Promise.all(clients.map((c) => c.next('ready'))));
    const all = [server, ...clients];

    const phase = (name: string, count: number): Promise<PhaseTimes> => runPhase(job, name, count, server, clients, ctx);
    if (job.warm > 0) await phase('warm', job.warm);
    await ctx.wait(Promise.all(all.map((c) => c.ask({ type: 'mark' }))));
    const times = await phase('measure', job.count);
    const reports = await ctx.wait(
      Promise.all(
        all.map((c) => {
          c.send({ type: 'report' });
          return c.next('report');
        }),
      ),
    );
    const seconds = Number(times.t1 - times.t0) / 1e9;
    if (!(seconds > 0)) throw new Error(`${job.scenario} ${job.contender}: a measured phase of ${seconds} s`);
    const units = job.workload === 'broadcast' ? job.count * job.connections * job.clientProcesses : job.count;
    const cpuMicros = reports.reduce((sum, r) => sum + r.cpuMicros, 0);
    const serverReport = reports[0];
    return {
      job,
      seconds,
      rate: job.payload === 'buffer' ? (job.count * MIB) / 1e6 / seconds : units / seconds,
      cpuMicrosPerUnit: cpuMicros / units,
      serverRssMiB: (serverReport?.maxRssKiB ?? Number.NaN) / 1024,
      ...(times.p50 === undefined ? {} : { p50: times.p50 }),
      ...(times.p99 === undefined ? {} : { p99: times.p99 }),
    };
  } catch (err) {
    for (const c of children) c.kill();
    throw ctx.error ?? err;
  } finally {
    clearTimeout(deadline);
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PhaseTimes {
  t0: bigint;
  t1: bigint;
  p50?: number;
  p99?: number;
}

/** One phase (warm-up or measured) of a job, with its start and end stamps. */
async function runPhase(job: Job, phase: string, count: number, server: Child, clients: Child[], ctx: JobContext): Promise<PhaseTimes> {
  const client = clients[0];
  if (client === undefined) throw new Error('a job without a client');
  switch (job.workload) {
    case 'push': {
      // from the client's first send until the server has received and decoded the last
      await server.ask({ type: 'expect', phase, count });
      client.send({ type: 'go', phase, count });
      const [sent, received] = await ctx.wait(Promise.all([client.next('done'), server.next('done')]));
      return { t0: need(sent.t0), t1: received.t1 };
    }
    case 'rpc': {
      client.send({ type: 'go', phase, count });
      const done = await client.next('done');
      return { t0: need(done.t0), t1: done.t1, ...(done.p50 === undefined ? {} : { p50: done.p50 }), ...(done.p99 === undefined ? {} : { p99: done.p99 }) };
    }
    case 'broadcast': {
      // from the server's first sendAll until the last connection has received the last message
      await ctx.wait(Promise.all(clients.map((c) => c.ask({ type: 'expect', phase, count }))));
      server.send({ type: 'go', phase, count });
      const [sent, ...received] = await ctx.wait(Promise.all([server.next('done'), ...clients.map((c) => c.next('done'))]));
      let t1 = 0n;
      for (const r of received) if (r.t1 > t1) t1 = r.t1;
      return { t0: need(sent.t0), t1 };
    }
  }
}

function need(t: bigint | undefined): bigint {
  if (t === undefined) throw new Error('a phase without its start stamp');
  return t;
}
