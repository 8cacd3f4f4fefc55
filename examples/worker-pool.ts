/**
 * A worker pool: one dispatcher (a hopwire server) and three worker
 * processes (hopwire clients) that answer the dispatcher's requests.
 *
 * Requests go server → client here: each worker installs `client.handle()`,
 * and the dispatcher calls `session.request(job)` on whichever worker is
 * free. A job a worker cannot do comes back as an `ERR_REMOTE` error with
 * the worker's message and code. The workers are this same file, started
 * with `fork()` and the argument `worker`.
 *
 * Run: npx tsx examples/worker-pool.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, HopwireError, Server, type Session } from '../src/index.js';

interface Job {
  n: number;
}

interface Result {
  n: number;
  factors: number[];
  worker: string;
}

/** Prime factors by trial division: enough work to be worth sending away. */
function factor(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (let d = 2; d * d <= rest; d += d === 2 ? 1 : 2) {
    while (rest % d === 0) {
      out.push(d);
      rest /= d;
    }
  }
  if (rest > 1) out.push(rest);
  return out;
}

async function worker(name: string, port: number): Promise<void> {
  const client = new Client({ port, reconnect: false });
  client.handle((request) => {
    const { n } = request as Job;
    if (!Number.isSafeInteger(n) || n < 2) {
      throw Object.assign(new Error(`${name} cannot factor ${n}`), { code: 'E_BAD_NUMBER' });
    }
    return { n, factors: factor(n), worker: name } satisfies Result;
  });
  await client.connect();
  await client.send({ ready: name, pid: process.pid });
  // The dispatcher closes the connection when the work is done; this process then exits by itself.
  client.on('disconnect', () => {
    console.log(`[${name}]   dispatcher said goodbye; exiting`);
  });
}

async function dispatcher(): Promise<void> {
  const server = new Server({ port: 0 });
  const workers = new Map<Session, string>();
  const allReady = new Promise<void>((resolve) => {
    server.on('message', (message, ctx) => {
      const { ready, pid } = message as { ready?: string; pid?: number };
      if (ready === undefined) return;
      workers.set(ctx.session, ready);
      console.log(`[dispatcher] ${ready} is ready (pid ${pid ?? '?'})`);
      if (workers.size === 3) resolve();
    });
  });
  const { port } = await server.listen();
  console.log(`[dispatcher] listening on port ${port}; starting 3 workers`);

  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = ['w1', 'w2', 'w3'].map((name) => fork(self, ['worker', name, String(port)]));
  await allReady;

  const jobs: Job[] = [600851475143, 9007199254740991, 1000003007000021, 2 ** 40 - 87, 123456789, -1, 97 * 89 * 83 * 79, 4294967297].map(
    (n) => ({ n }),
  );
  const done = new Map<string, number>();
  const started = performance.now();

  // Each worker takes the next job as soon as it has answered the previous one.
  await Promise.all(
    [...workers].map(async ([session, name]) => {
      for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
        try {
          const result = (await session.request(job, { timeout: 10_000 })) as Result;
          console.log(`[dispatcher] ${result.n} = ${result.factors.join(' × ')} (by ${result.worker})`);
          done.set(name, (done.get(name) ?? 0) + 1);
        } catch (err) {
          const e = err as HopwireError;
          console.log(`[dispatcher] job ${job.n} failed on ${name}: ${e.code} ${e.message} (remote code ${e.remoteCode ?? '-'})`);
        }
      }
    }),
  );
  const ms = (performance.now() - started).toFixed(0);
  console.log(`[dispatcher] all jobs answered in ${ms} ms; per worker: ${[...done].map(([w, n]) => `${w} ${n}`).join(', ')}`);

  await server.close();
  await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));
  console.log(`[dispatcher] every worker exited (codes ${children.map((c) => String(c.exitCode)).join(', ')})`);
}

if (process.argv[2] === 'worker') await worker(process.argv[3] ?? 'worker', Number(process.argv[4]));
else await dispatcher();
