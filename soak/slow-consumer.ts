// Soak: broadcast 1 GiB with sendAll() to one reading client process and one
// raw socket that completes the hello and never reads, sampling the server's
// RSS all along. Not part of `npm test`; run it by hand:
//
//   npx tsx soak/slow-consumer.ts [GiB=1] [disconnect|drop]
//
// ('wait' is left out: with a peer that never reads, it waits forever.)
//
// Prints what the reader got, what became of the slow session and the server's
// peak RSS; exits non-zero when the reader missed anything or the peak RSS
// passed 150 MB. (Started with `reader <port>`, it is the reading client.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, type DisconnectInfo, FrameKind, MAGIC, Server, type Session, encodeFrameToBuffer } from '../src/index.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
const FILL = 0x5a;
const RSS_LIMIT = 150e6;
const HELLO = Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' })]);

interface ReaderReport {
  messages: number;
  bytes: number;
  corrupt: number;
  disconnected?: string;
}

/** The reading client: counts the Buffers it gets until the `{ done }` marker, then reports on stdout. */
async function reader(port: number): Promise<void> {
  const client = new Client({ port, reconnect: false });
  const report: ReaderReport = { messages: 0, bytes: 0, corrupt: 0 };
  const finish = (): void => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    void client.close();
  };
  client.on('message', (m) => {
    if (Buffer.isBuffer(m)) {
      report.messages++;
      report.bytes += m.length;
      if (m.length !== CHUNK || m[0] !== FILL || m[m.length - 1] !== FILL) report.corrupt++;
    } else if (typeof m === 'object' && m !== null && 'done' in m) {
      finish();
    }
  });
  client.on('disconnect', (info) => {
    if (info.reason === 'closed') return;
    report.disconnected = `${info.reason}: ${info.message}`;
    finish();
  });
  await client.connect();
}

/** The server side: runs the broadcast and judges it. */
async function main(gib: number, policy: 'disconnect' | 'drop'): Promise<number> {
  const total = gib * 1024 * MiB;
  const count = Math.round(total / CHUNK);
  const server = new Server({ port: 0, ping: false, slowConsumer: { maxBytes: 2 * MiB, lag: 50, policy } });
  const port = (await server.listen()).port ?? 0;

  // the reading client, in a process of its own
  const readerConnected = once(server, 'connect') as Promise<[Session]>;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'reader', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const childExit = once(child, 'exit') as Promise<[number | null, string | null]>;
  const [readerSession] = await readerConnected;

  // the one that never reads
  const raw = connect({ port, host: '127.0.0.1' });
  raw.on('error', () => undefined);
  await once(raw, 'connect');
  const slowConnected = once(server, 'connect') as Promise<[Session]>;
  raw.write(HELLO);
  const [slow] = await slowConnected;
  raw.pause();
  let slowFate: DisconnectInfo | undefined;
  let readerDropped: DisconnectInfo | undefined;
  let broadcasting = true;
  server.on('disconnect', (s, info) => {
    if (s === slow) slowFate = info;
    if (s === readerSession && (broadcasting || info.reason === 'slow-consumer')) readerDropped = info;
  });

  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const payload = Buffer.alloc(CHUNK, FILL);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await server.sendAll(payload);
    if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  await server.sendAll({ done: true });
  broadcasting = false;
  const seconds = (performance.now() - started) / 1000;

  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await childExit;
  clearTimeout(guard);
  // the child is gone, so its session closes; wait for that to know how it ended
  for (let i = 0; i < 1000 && !readerSession.closed; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());

  let got: ReaderReport | undefined;
  try {
    got = JSON.parse(out.trim().split('\n').at(-1) ?? '') as ReaderReport;
  } catch {
    got = undefined;
  }
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`broadcast  ${count} × ${CHUNK / 1024} KiB = ${total} bytes in ${seconds.toFixed(1)} s (${mb(total / seconds)}/s), policy '${policy}'`);
  console.log(`reader     ${got === undefined ? `no report (exit ${String(code)} ${String(signal)})` : `${got.messages} messages, ${got.bytes} bytes, ${got.corrupt} corrupt${got.disconnected === undefined ? '' : `, dropped: ${got.disconnected}`}`}`);
  if (readerDropped !== undefined) console.log(`           server dropped the reader: ${readerDropped.reason} (${readerDropped.message})`);
  console.log(
    `slow peer  ${slowFate === undefined ? `still connected, ${slow.droppedMessages} broadcasts dropped, ${slow.bufferedBytes} bytes buffered` : `disconnected: ${slowFate.reason} (${slowFate.message})`}`,
  );
  console.log(`server RSS ${mb(rss0)} before, peak ${mb(peak)} (+${mb(peak - rss0)}); limit ${mb(RSS_LIMIT)}`);

  raw.destroy();
  await server.close();

  const failures: string[] = [];
  if (readerDropped !== undefined) failures.push('the server dropped the reader');
  if (got === undefined || got.messages !== count || got.bytes !== count * CHUNK || got.corrupt !== 0 || got.disconnected !== undefined) {
    failures.push('the reader missed broadcasts');
  }
  if (peak > RSS_LIMIT) failures.push(`peak RSS ${mb(peak)} is over ${mb(RSS_LIMIT)}`);
  if (policy === 'disconnect' && slowFate?.reason !== 'slow-consumer') failures.push('the slow peer was not disconnected as a slow consumer');
  for (const f of failures) console.log(`FAIL       ${f}`);
  if (failures.length === 0) console.log('OK');
  return failures.length === 0 ? 0 : 1;
}

if (process.argv[2] === 'reader') {
  await reader(Number(process.argv[3]));
} else {
  const gib = Number(process.argv[2] ?? '1');
  const policy = (process.argv[3] ?? 'disconnect') as 'disconnect' | 'drop';
  if (!(gib > 0) || !['disconnect', 'drop'].includes(policy)) {
    console.error('usage: tsx soak/slow-consumer.ts [GiB=1] [disconnect|drop]');
    process.exit(2);
  }
  process.exitCode = await main(gib, policy);
}
