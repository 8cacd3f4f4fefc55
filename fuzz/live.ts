/**
 * Live fuzzing: garbage through a real server socket on loopback while a
 * well-behaved client keeps exchanging requests with the same server.
 *
 *     npm run fuzz:live            # 100,000 garbage chunks
 *     npm run fuzz:live -- 5000    # fewer
 *     FUZZ_SEED=7 npm run fuzz:live
 *
 * Exits 1 if the good client sees any error, the server emits an error, or
 * the process would crash; prints what happened to the garbage connections.
 */
import { mulberry32 } from './prng.js';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Client, FrameKind, MAGIC, Server, encodeFrameToBuffer } from '../src/index.js';

/** Options of {@link runLiveFuzz}. */
export interface LiveFuzzOptions {
  /** Garbage chunks to send in all. */
  chunks: number;
  /** PRNG seed. */
  seed: number;
  /** Garbage connections open at once. */
  parallel?: number;
}

/** What a run did. */
export interface LiveFuzzReport {
  chunks: number;
  connections: number;
  goodRequests: number;
  goodErrors: string[];
  disconnectReasons: Record<string, number>;
}

const HELLO = Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' })]);

/** Runs the live fuzz; resolves with what happened. */
export async function runLiveFuzz(options: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const random = mulberry32(options.seed);
  const int = (n: number): number => Math.floor(random() * n);
  const server = new Server({ port: 0, maxFrameBytes: 1024 * 1024, maxLineBytes: 64 * 1024, detectTimeout: 20, handshakeTimeout: 500 });
  server.handle((x) => x);
  const report: LiveFuzzReport = { chunks: 0, connections: 0, goodRequests: 0, goodErrors: [], disconnectReasons: {} };
  server.on('disconnect', (_s, info) => {
    const code = (info.error as { code?: unknown } | undefined)?.code;
    const key = typeof code === 'string' ? `${info.reason}/${code}` : info.reason;
    report.disconnectReasons[key] = (report.disconnectReasons[key] ?? 0) + 1;
  });
  server.on('error', (err) => report.goodErrors.push(`server error: ${err.message}`));
  const port = (await server.listen()).port ?? 0;
  const good = new Client({ port, reconnect: false });
  await good.connect();

  let running = true as boolean; // cleared when the garbage is all sent
  const goodLoop = (async () => {
    let i = 0;
    while (running) {
      try {
        const reply = await good.request({ i, d: new Date(i) }, { timeout: 5000 });
        if ((reply as { i: number }).i !== i) report.goodErrors.push(`wrong reply for ${i}`);
        report.goodRequests++;
      } catch (err) {
        report.goodErrors.push(String(err));
        return;
      }
      i++;
    }
  })();

  const garbage = (): Buffer => {
    const kind = int(5);
    const n = 1 + int(512);
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bytes[i] = int(256);
    if (kind === 0) return bytes; // random bytes (often a lines peer)
    if (kind === 1) return Buffer.concat([HELLO, bytes]); // a hello, then garbage
    if (kind === 2) {
      const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: 1, payload: '{"$hw":"c","n":"Object","v":{"__proto__":{"x":1}}}' });
      frame[int(frame.length)] = int(256); // a flipped byte in a tagged frame
      return Buffer.concat([HELLO, frame]);
    }
    if (kind === 3) return Buffer.concat([MAGIC, bytes]);
    return Buffer.from(`${JSON.stringify({ n: int(1000) })}\n${bytes.toString('latin1')}\n`, 'latin1'); // lines with junk
  };

  const parallel = options.parallel ?? 8;
  const perConnection = 20;
  const worker = async (): Promise<void> => {
    while (report.chunks < options.chunks) {
      const socket = connect({ port, host: '127.0.0.1' });
      report.connections++;
      socket.on('error', () => undefined);
      socket.resume(); // read and discard whatever the server answers
      try {
        await once(socket, 'connect');
      } catch {
        continue;
      }
      for (let i = 0; i < perConnection && report.chunks < options.chunks && !socket.destroyed; i++) {
        socket.write(garbage());
        report.chunks++;
        if (i % 4 === 3) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  running = false;
  await goodLoop;
  await good.close();
  await server.close();
  return report;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const chunks = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const started = performance.now();
  console.log(`live fuzz: ${chunks} garbage chunks, seed ${seed}`);
  const report = await runLiveFuzz({ chunks, seed });
  console.log(`connections opened   ${report.connections}`);
  console.log(`garbage chunks sent  ${report.chunks}`);
  console.log(`good requests        ${report.goodRequests}`);
  console.log(`good client errors   ${report.goodErrors.length}`);
  for (const e of report.goodErrors.slice(0, 5)) console.log(`  ${e}`);
  console.log('disconnects by reason:');
  for (const [k, v] of Object.entries(report.disconnectReasons).sort()) console.log(`  ${k.padEnd(40)} ${v}`);
  console.log(`time                 ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = report.goodErrors.length === 0 ? 0 : 1;
}
