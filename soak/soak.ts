/**
 * Delivery under chaos: a client streams sequence-numbered messages
 * (`{ seq }`) to a server process that is SIGKILLed and started again on the
 * same port, over and over, at random moments. Afterwards the logs of the
 * server processes say what was delivered: how many seqs at least once,
 * how many twice (across server lifetimes), how many never.
 *
 *   npm run soak                                  # 5000 messages, 20 restarts
 *   npm run soak -- --messages 20000 --restarts 50 --window 50 --seed 7
 *
 * It runs the scenario twice, with `send(v, { ack: true })` and with plain
 * `send(v)`, prints the figures of both, and exits with code 0 when the
 * acknowledged run lost nothing and no server process delivered a seq twice
 * or out of order (1 otherwise). Plain sends may be lost: that is reported,
 * not judged.
 *
 * `runChaos` is also what the short chaos test in `test/delivery.test.ts`
 * runs.
 *
 * @module
 */
import { mulberry32 } from '../fuzz/prng.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, isHopwireError } from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER_SCRIPT = join(ROOT, 'test', 'fixtures', 'delivery-server.ts');
/** How often a server process that cannot listen (EADDRINUSE, …) is started again. */
const LISTEN_TRIES = 5;

/** What {@link runChaos} does. */
export interface ChaosOptions {
  /** Messages to send, seq 1 to `messages`. */
  readonly messages: number;
  /** How many times the server process is SIGKILLed and started again. */
  readonly restarts: number;
  /** `send(v, { ack: true })` when true, plain `send(v)` when false. */
  readonly ack: boolean;
  /**
   * Most messages in flight: acked sends not yet acknowledged; for plain
   * sends, a request is made after every `window` sends and awaited, so at
   * most `window` are on their way when a kill lands. @default 20
   */
  readonly window?: number;
  /** Seed of the random kill moments. @default random */
  readonly seed?: number;
}

/** What {@link runChaos} found. */
export interface ChaosReport {
  readonly mode: 'acked' | 'plain';
  readonly messages: number;
  /** Kills done (the server process was started `restarts + 1` times). */
  readonly restarts: number;
  /** Kills that came after the stream had ended (their lifetime got no new messages). */
  readonly lateRestarts: number;
  readonly seed: number;
  /** The seqs each server process delivered, in delivery order. */
  readonly lifetimes: readonly (readonly number[])[];
  /** Distinct seqs delivered at least once. */
  readonly delivered: number;
  /** Seqs delivered more than once (necessarily by different server processes, unless something is broken). */
  readonly duplicated: readonly number[];
  /** Seqs never delivered. */
  readonly lost: readonly number[];
  /** Of the lost seqs, those whose send() had resolved. */
  readonly lostAfterResolving: readonly number[];
  /** Seqs delivered twice by one server process: must be 0. */
  readonly duplicatesWithinLifetime: number;
  /** Deliveries by one server process of a seq not above the one before: must be 0. */
  readonly outOfOrderWithinLifetime: number;
  /** send() rejections, by error code. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Pacing requests (plain runs) that failed, by error code: they carry no seq. */
  readonly pacingFailures: Readonly<Record<string, number>>;
  readonly ms: number;
}

type ChildMessage =
  | { type: 'listening'; port: number }
  | { type: 'message'; seq: number }
  | { type: 'error'; code: string; message: string };

function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

/** One server process: its port, its log, and how many messages it reported. */
class ServerProcess {
  readonly #child: ChildProcess;
  readonly #log: string;
  readonly #exited: Promise<void>;
  readonly #started: Promise<ChildMessage | undefined>;
  #port = 0;
  #killed = false;
  #received = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  private constructor(port: number, log: string) {
    this.#log = log;
    this.#child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, String(port), log], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = once(this.#child, 'exit').then(() => undefined);
    this.#started = new Promise((resolve) => {
      // Counting starts at once: a delivery reported right after 'listening' is not missed.
      this.#child.on('message', (m: unknown) => {
        if (!isChildMessage(m)) return;
        if (m.type !== 'message') {
          resolve(m);
          return;
        }
        this.#received++;
        this.#waiters = this.#waiters.filter((w) => {
          if (this.#received < w.n) return true;
          w.resolve();
          return false;
        });
      });
      void this.#exited.then(() => {
        resolve(undefined);
      });
    });
  }

  /**
   * Starts the server script on `port` (0: any), logging to `log`; starts it
   * again when it cannot listen (the port still held, …).
   */
  static async start(port: number, log: string): Promise<ServerProcess> {
    for (let attempt = 1; ; attempt++) {
      const server = new ServerProcess(port, log);
      const first = await server.#started;
      if (first?.type === 'listening') {
        server.#port = first.port;
        return server;
      }
      await server.kill();
      if (attempt >= LISTEN_TRIES) {
        throw new Error(`the delivery server could not listen on port ${port} after ${attempt} tries: ${JSON.stringify(first)}`);
      }
    }
  }

  /** The port it listens on. */
  get port(): number {
    return this.#port;
  }

  /** Resolves once the process has reported `n` delivered messages; rejects if it exits without being killed. */
  received(n: number): Promise<void> {
    const reached = this.#received >= n ? Promise.resolve() : new Promise<void>((resolve) => this.#waiters.push({ n, resolve }));
    const died = this.#exited.then(() => {
      if (!this.#killed) throw new Error('the delivery server process exited by itself');
    });
    return Promise.race([reached, died]);
  }

  /** SIGKILLs it; resolves with the seqs it delivered (from its log) once it is gone. */
  async kill(): Promise<number[]> {
    this.#killed = true;
    this.#child.kill('SIGKILL');
    await this.#exited;
    let text: string;
    try {
      text = readFileSync(this.#log, 'utf8');
    } catch {
      return [];
    }
    return text === '' ? [] : text.trimEnd().split('\n').map(Number);
  }
}

function countInto(counts: Record<string, number>, err: unknown): void {
  const code = isHopwireError(err) ? err.code : err instanceof Error ? err.name : 'unknown';
  counts[code] = (counts[code] ?? 0) + 1;
}

/** Sends seq 1..messages, at most `window` in flight; records what resolved and what rejected. */
async function stream(client: Client, options: Required<Pick<ChaosOptions, 'messages' | 'ack' | 'window'>>): Promise<{
  resolved: Set<number>;
  rejected: Record<string, number>;
  pacingFailures: Record<string, number>;
}> {
  const { messages, ack, window } = options;
  const resolved = new Set<number>();
  const rejected: Record<string, number> = {};
  const pacingFailures: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  for (let seq = 1; seq <= messages; seq++) {
    while (inFlight.size >= window) await Promise.race(inFlight);
    const sent: Promise<void> = (ack ? client.send({ seq }, { ack: true }) : client.send({ seq }))
      .then(
        () => {
          resolved.add(seq);
        },
        (err: unknown) => {
          countInto(rejected, err);
        },
      )
      .finally(() => {
        inFlight.delete(sent);
      });
    inFlight.add(sent);
    if (!ack && seq % window === 0) {
      // The reply comes after the server handled every message before the request on this connection.
      try {
        await client.request('pace', { timeout: 10_000 });
      } catch (err) {
        countInto(pacingFailures, err);
        // The connection went away: wait for the next one, as an application would, instead of sending into the void.
        if (isHopwireError(err, 'ERR_NOT_CONNECTED')) await once(client, 'connect');
      }
    }
  }
  await Promise.all(inFlight);
  if (!ack) {
    // Acknowledged, so resent until it arrives: once it is, the server has
    // read every plain send before it on its connection. A send refused with
    // ERR_NOT_CONNECTED while the client still says 'connected' (the
    // connection is closing, see docs/delivery.md) is made again after the
    // reconnect.
    for (;;) {
      try {
        await client.send({ end: true }, { ack: true });
        break;
      } catch (err) {
        if (!isHopwireError(err, 'ERR_NOT_CONNECTED')) throw err;
        await once(client, 'connect');
      }
    }
  }
  return { resolved, rejected, pacingFailures };
}

/**
 * Streams `messages` sequence-numbered messages to a server process that is
 * SIGKILLed `restarts` times, each time after a random number of delivered
 * messages, and started again on the same port.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const { messages, restarts, ack } = options;
  const window = options.window ?? 20;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = mulberry32(seed);
  // Each lifetime is killed after 1..perLife deliveries: even if every kill
  // loses a window of plain sends, the sum stays below what will be delivered.
  const perLife = Math.max(1, Math.floor((messages - restarts * (window + 1)) / Math.max(1, restarts)));
  const dir = mkdtempSync(join(tmpdir(), 'hopwire-chaos-'));
  const lifetimes: number[][] = [];
  let server: ServerProcess | undefined;
  let client: Client | undefined;
  let lateRestarts = 0;
  try {
    server = await ServerProcess.start(0, join(dir, 'life-0.log'));
    const port = server.port;
    client = new Client({ port, reconnect: { initial: 5, max: 50 }, requestTimeout: 10_000 });
    await client.connect();
    const streaming = stream(client, { messages, ack, window });
    const ended = streaming.then(() => 'stream ended' as const);
    for (let life = 0; life < restarts; life++) {
      const killAfter = 1 + Math.floor(rand() * perLife);
      // A failed stream rejects here at once.
      const moment = await Promise.race([server.received(killAfter).then(() => 'count reached' as const), ended]);
      if (moment === 'stream ended') lateRestarts++;
      lifetimes.push(await server.kill());
      server = undefined;
      server = await ServerProcess.start(port, join(dir, `life-${life + 1}.log`));
    }
    const result = await streaming;
    await client.close();
    lifetimes.push(await server.kill());
    server = undefined;

    const seen = new Map<number, number>();
    let duplicatesWithinLifetime = 0;
    let outOfOrderWithinLifetime = 0;
    for (const life of lifetimes) {
      const mine = new Set<number>();
      let last = 0;
      for (const seq of life) {
        if (mine.has(seq)) duplicatesWithinLifetime++;
        if (seq <= last) outOfOrderWithinLifetime++;
        mine.add(seq);
        last = seq;
        seen.set(seq, (seen.get(seq) ?? 0) + 1);
      }
    }
    const lost: number[] = [];
    for (let seq = 1; seq <= messages; seq++) if (!seen.has(seq)) lost.push(seq);
    return {
      mode: ack ? 'acked' : 'plain',
      messages,
      restarts: lifetimes.length - 1,
      lateRestarts,
      seed,
      lifetimes,
      delivered: seen.size,
      duplicated: [...seen].filter(([, n]) => n > 1).map(([seq]) => seq),
      lost,
      lostAfterResolving: lost.filter((seq) => result.resolved.has(seq)),
      duplicatesWithinLifetime,
      outOfOrderWithinLifetime,
      rejected: result.rejected,
      pacingFailures: result.pacingFailures,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await client?.close();
    if (server !== undefined) await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line of figures. */
export function describeReport(r: ChaosReport): string {
  const codes = (counts: Readonly<Record<string, number>>): string =>
    Object.keys(counts).length === 0 ? 'none' : Object.entries(counts).map(([code, n]) => `${code} × ${n}`).join(', ');
  return [
    `${r.mode}: ${r.messages} messages, ${r.restarts} SIGKILL restarts${r.lateRestarts > 0 ? ` (${r.lateRestarts} after the stream ended)` : ''}, seed ${r.seed}, ${r.ms} ms`,
    `  delivered ${r.delivered}, duplicated ${r.duplicated.length} (across server lifetimes), lost ${r.lost.length}` +
      ` (of which resolved before being lost: ${r.lostAfterResolving.length})`,
    `  per lifetime: ${r.lifetimes.map((l) => l.length).join(' ')}; within one lifetime: ${r.duplicatesWithinLifetime} duplicates, ${r.outOfOrderWithinLifetime} out of order`,
    `  send() rejected: ${codes(r.rejected)}${r.mode === 'plain' ? `; pacing requests failed: ${codes(r.pacingFailures)}` : ''}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      restarts: { type: 'string', default: '20' },
      window: { type: 'string', default: '20' },
      seed: { type: 'string' },
    },
  });
  const int = (name: string, text: string | undefined): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${String(text)}`);
    return n;
  };
  const messages = int('messages', values.messages);
  const restarts = int('restarts', values.restarts);
  const window = Math.max(1, int('window', values.window));
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int('seed', values.seed);
  process.stdout.write(`soak: ${messages} messages, ${restarts} SIGKILL restarts of the server process, window ${window}, seed ${seed}\n`);
  const acked = await runChaos({ messages, restarts, ack: true, window, seed });
  process.stdout.write(`${describeReport(acked)}\n`);
  const plain = await runChaos({ messages, restarts, ack: false, window, seed });
  process.stdout.write(`${describeReport(plain)}\n`);
  const ok = acked.lost.length === 0 && acked.duplicatesWithinLifetime === 0 && acked.outOfOrderWithinLifetime === 0;
  process.stdout.write(ok ? 'OK: acknowledged delivery lost nothing\n' : `FAIL: acknowledged delivery lost ${acked.lost.length} (first: ${acked.lost.slice(0, 10).join(', ')})\n`);
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
