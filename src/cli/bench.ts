/**
 * `hopwire bench`: a quick throughput and latency check, against its own
 * in-process server by default or a running one.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { Client, type ClientOptions, ErrorCode, HopwireError, Server, isHopwireError } from '../index.js';
import { CLIENT_SPEC, type Command, type Values, clientOptions, construct, integer, str } from './args.js';
import { EXIT_OK, interruptible } from './exit.js';
import { addressText, out } from './output.js';

async function runBench(values: Values): Promise<number> {
  const c = 'bench';
  const messages = integer(values, 'messages', c, 1, 10_000_000) ?? 20_000;
  const requests = integer(values, 'requests', c, 1, 10_000_000) ?? 2_000;
  let server: Server | undefined;
  let options: ClientOptions;
  let received = 0;
  if (str(values, 'port') === undefined && str(values, 'path') === undefined) {
    const host = str(values, 'host');
    const own = new Server(host === undefined ? { port: 0 } : { port: 0, host });
    own.on('message', () => {
      received++;
    });
    own.handle((r) => r);
    const address = await own.listen();
    server = own;
    options = { ...clientOptions({ ...values, port: String(address.port) }, c) };
    out(`server     in this process, ${addressText(address)} (both ends share one process)`);
  } else {
    options = clientOptions(values, c);
    out(`server     ${options.path ?? `${options.host ?? '127.0.0.1'}:${String(options.port)}`}`);
  }
  const client = construct(() => new Client({ ...options, reconnect: false }), c);
  const off = interruptible(() => Promise.all([client.close(), server?.close()]));
  try {
    await client.connect();
    const payload = { n: 0, text: 'hello, hopwire' };
    const bytes = Buffer.byteLength(JSON.stringify(payload));
    const start = performance.now();
    const WINDOW = 512;
    for (let i = 0; i < messages; i += WINDOW) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(messages, i + WINDOW); j++) batch.push(client.send({ ...payload, n: j }));
      await Promise.all(batch);
    }
    // The server handles frames in order: the answer to this request comes after every message.
    await client.request({ bench: 'end of messages' }).catch((err: unknown) => {
      if (!isHopwireError(err, ErrorCode.NO_HANDLER)) throw err;
    });
    const elapsed = performance.now() - start;
    if (server !== undefined && received !== messages) throw new Error(`the server received ${received} of ${messages} messages`);
    const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    out(`messages   ${fmt.format(messages)} × ~${bytes} B in ${elapsed.toFixed(1)} ms: ${fmt.format((messages * 1000) / elapsed)} msgs/s`);

    const times: number[] = [];
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      try {
        await client.request({ n: i });
      } catch (err) {
        if (isHopwireError(err, ErrorCode.NO_HANDLER)) {
          throw new HopwireError(ErrorCode.NO_HANDLER, "the server does not answer requests (start it with 'hopwire listen --echo')");
        }
        throw err;
      }
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const pct = (p: number): string => (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0).toFixed(3);
    const total = times.reduce((a, b) => a + b, 0);
    out(`requests   ${fmt.format(requests)} one after another: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, ${fmt.format((requests * 1000) / total)} req/s`);
  } finally {
    off();
    await client.close();
    await server?.close();
  }
  return EXIT_OK;
}

/** `hopwire bench`. */
export const bench: Command = { options: { ...CLIENT_SPEC, messages: { type: 'string' }, requests: { type: 'string' } }, positionals: false, run: runBench };
