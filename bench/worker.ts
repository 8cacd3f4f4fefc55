/**
 * One child process of the network benchmark: a server or a client of one
 * contender in one scenario. Started by the orchestrator with its
 * {@link WorkerConfig} as JSON in argv[2] and an IPC channel; it does what
 * the orchestrator says (`ToWorker`) and reports (`FromWorker`): when it is
 * listening or ready, when a phase is done (with `process.hrtime` stamps, a
 * system-wide monotonic clock on Linux, so the orchestrator can subtract
 * stamps taken in different processes), and its CPU time since the measured
 * phase began and its peak RSS.
 *
 * Anything wrong — a validation failure, an error from a library, an
 * unhandled rejection — is reported as `failed` and the process exits 1.
 */
import type { Adapter, Closable, ContenderName, FromWorker, Job, ToWorker, WorkerConfig } from './common.js';
import { BenchFailure, SequenceCheck, checkReply, fail, makeItem, makeReply } from './common.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const job: Job = config.job;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

let dying = false;

function die(err: unknown): void {
  if (dying) return;
  dying = true;
  const message = err instanceof BenchFailure ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  send({ type: 'failed', message: `${config.role} (${job.contender}, ${job.scenario}): ${message}` });
  // let the IPC message go out before leaving
  setTimeout(() => process.exit(1), 100);
}

process.on('uncaughtException', die);
process.on('unhandledRejection', die);
process.on('disconnect', () => process.exit(0)); // the orchestrator is gone

async function loadAdapter(name: ContenderName): Promise<Adapter> {
  switch (name) {
    case 'hopwire':
      return (await import('./adapters/hopwire.js')).adapter;
    case 'hopwire-msgpack':
      return (await import('./adapters/hopwire-msgpack.js')).adapter;
    case 'raw-net':
      return (await import('./adapters/raw-net.js')).adapter;
    case 'raw-bytes':
      return (await import('./adapters/raw-bytes.js')).adapter;
    case 'sockhop':
      return (await import('./adapters/sockhop.js')).adapter;
    case 'zeromq':
      return (await import('./adapters/zeromq.js')).adapter;
    case 'hopwire-nats':
      return (await import('./adapters/hopwire-nats.js')).adapter;
  }
}

/** CPU accounting starts at the last `mark`. */
let cpuMark = process.cpuUsage();
const closables: Closable[] = [];
const handlers: Partial<Record<ToWorker['type'], (msg: ToWorker) => void | Promise<void>>> = {};

process.on('message', (raw) => {
  const msg = raw as ToWorker;
  void (async () => {
    if (msg.type === 'mark') {
      cpuMark = process.cpuUsage();
      send({ type: 'ack' });
      return;
    }
    if (msg.type === 'report') {
      const cpu = process.cpuUsage(cpuMark);
      send({ type: 'report', cpuMicros: cpu.user + cpu.system, maxRssKiB: process.resourceUsage().maxRSS });
      return;
    }
    if (msg.type === 'exit') {
      const timer = setTimeout(() => process.exit(0), 2000);
      timer.unref();
      for (const c of closables) await c.close().catch(() => undefined);
      process.exit(0);
    }
    const handler = handlers[msg.type];
    if (handler === undefined) fail(`${config.role} got an unexpected ${msg.type}`);
    await handler(msg);
  })().catch(die);
});

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) fail(`${job.contender} has no ${what}`);
  return value;
}

const adapter = await loadAdapter(job.contender);
const now = (): bigint => process.hrtime.bigint();

if (job.workload === 'push') {
  const push = need(adapter.push, 'push workload');
  if (config.role === 'server') {
    const check = new SequenceCheck(job.contender === 'raw-bytes' ? 'raw-bytes' : job.payload);
    const server = await push.server(need(config.listen, 'listen address'), job.payload, (item) => {
      check.push(item);
    });
    closables.push(server);
    handlers.expect = (msg) => {
      if (msg.type !== 'expect') return;
      check.expect(msg.count, () => {
        send({ type: 'done', phase: msg.phase, t1: now() });
      });
      send({ type: 'ack' });
    };
    send({ type: 'listening', endpoint: server.endpoint });
  } else {
    const client = await push.client(need(config.endpoint, 'endpoint'), job.payload);
    closables.push(client);
    handlers.go = async (msg) => {
      if (msg.type !== 'go') return;
      const payload = job.payload;
      const t0 = now();
      await client.sendAll(msg.count, (i) => makeItem(payload, i), job.window);
      send({ type: 'done', phase: msg.phase, t0, t1: now() });
    };
    send({ type: 'ready' });
  }
} else if (job.workload === 'rpc') {
  const rpc = need(adapter.rpc, 'request/reply');
  if (config.role === 'server') {
    const server = await rpc.server(need(config.listen, 'listen address'), makeReply);
    closables.push(server);
    send({ type: 'listening', endpoint: server.endpoint });
  } else {
    const client = await rpc.client(need(config.endpoint, 'endpoint'));
    closables.push(client);
    handlers.go = async (msg) => {
      if (msg.type !== 'go') return;
      const count = msg.count;
      const latencies = job.latencies ? new Float64Array(count) : undefined;
      let next = 0;
      let replies = 0;
      const lane = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const start = latencies === undefined ? 0n : now();
          const reply = await client.request(makeItem('small', i));
          if (latencies !== undefined) latencies[i] = Number(now() - start) / 1000;
          checkReply(reply, i);
          replies++;
        }
      };
      const t0 = now();
      await Promise.all(Array.from({ length: Math.min(job.window, count) }, lane));
      const t1 = now();
      if (replies !== count) fail(`${replies} replies for ${count} requests`);
      let p50: number | undefined;
      let p99: number | undefined;
      if (latencies !== undefined) {
        latencies.sort();
        p50 = latencies[Math.floor(count * 0.5)];
        p99 = latencies[Math.min(count - 1, Math.floor(count * 0.99))];
      }
      send({ type: 'done', phase: msg.phase, t0, t1, ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }) });
    };
    send({ type: 'ready' });
  }
} else {
  const broadcast = need(adapter.broadcast, 'broadcast');
  const peers = job.connections * job.clientProcesses;
  if (config.role === 'server') {
    const server = await broadcast.server(need(config.listen, 'listen address'));
    closables.push(server);
    let waited = false;
    handlers.go = async (msg) => {
      if (msg.type !== 'go') return;
      if (!waited) {
        await server.waitForPeers(peers);
        waited = true;
      }
      const t0 = now();
      await server.broadcast(msg.count, (i) => makeItem('small', i), job.window);
      send({ type: 'done', phase: msg.phase, t0, t1: now() });
    };
    send({ type: 'listening', endpoint: server.endpoint });
  } else {
    const checks = Array.from({ length: job.connections }, () => new SequenceCheck('small'));
    const clients = await broadcast.clients(need(config.endpoint, 'endpoint'), job.connections, (conn, item) => {
      need(checks[conn], `connection ${conn}`).push(item);
    });
    closables.push(clients);
    handlers.expect = (msg) => {
      if (msg.type !== 'expect') return;
      let left = checks.length;
      for (const check of checks) {
        check.expect(msg.count, () => {
          if (--left === 0) send({ type: 'done', phase: msg.phase, t1: now() });
        });
      }
      send({ type: 'ack' });
    };
    send({ type: 'ready' });
  }
}
