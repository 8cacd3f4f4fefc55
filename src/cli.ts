#!/usr/bin/env node
/**
 * The `hopwire` command line: a server that prints what it receives
 * (`listen`), one-shot `send` and `request`, `tail` for broadcasts, and a
 * quick `bench`. Run `hopwire --help` for the details.
 *
 * Conventions: data (received messages, replies, bench results) goes to
 * stdout; status (listening, connected, round-trip times) to stderr; an
 * error is one line `hopwire: CODE message` on stderr (with the stack only
 * under `--debug`). Exit codes: 0 ok, 1 runtime error, 2 usage error, 130 /
 * 143 interrupted by SIGINT / SIGTERM (for the commands that end by
 * themselves).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { inspect, parseArgs, styleText } from 'node:util';
import {
  Client,
  type ClientOptions,
  ErrorCode,
  HopwireError,
  type ListenAddress,
  PROTOCOL_VERSION,
  Server,
  type ServerOptions,
  type Session,
  isHopwireError,
} from './index.js';
import { STATS_HELP, fetchSamples, renderTable } from './cli-stats.js';

const EXIT_OK = 0;
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

// ---- help texts ------------------------------------------------------------

const EXIT_CODES = `Exit codes:
  0     success
  1     runtime error: connection refused or lost, timeout, TLS or secret
        refused, remote error, no handler, unreadable file
  2     usage error: unknown command or option, bad value, invalid JSON
  130   interrupted by SIGINT (143: SIGTERM); listen and tail exit 0 instead`;

const CLIENT_OPTIONS = `Connection:
  --port N          TCP port of the server
  --path P          Unix socket path of the server (instead of --port)
  --host H          host of the server (default 127.0.0.1)
  --tls             use TLS, verifying the server with the system CAs
  --tls-ca F        use TLS, verifying the server with the CA in file F
  --tls-cert F      client certificate (PEM) for mutual TLS, with --tls-key
  --tls-key F       client private key (PEM), with --tls-cert
  --secret S        shared secret (default: $HOPWIRE_SECRET)
  --timeout MS      connect timeout, and request timeout (default 10000)`;

const COMMON = `  --debug           print stacks with errors
  -h, --help        this help`;

const HELP: Record<string, string> = {
  stats: STATS_HELP,
  top: `hopwire — pass objects between programs over TCP, TLS and Unix sockets

Usage: hopwire <command> [options]

Commands:
  listen    run a server that prints every message and request it receives
  send      send one message, or one per JSON line read from stdin
  request   send a request; print the reply and its round-trip time
  tail      print the server's broadcasts as they come, reconnecting on its own
  bench     quick throughput and latency check (its own server by default)
  stats     live figures of a running server, from its metrics endpoint

Run 'hopwire <command> --help' for a command's options.

Options:
  -h, --help        this help
  --version         print the version

Output: data (messages, replies, results) goes to stdout, status lines to
stderr, errors as one line 'hopwire: CODE message' on stderr. Color only
when the stream is a terminal and NO_COLOR is not set. NODE_DEBUG=hopwire
shows what the library does.

${EXIT_CODES}`,

  listen: `Usage: hopwire listen [--port N | --path P] [--host H]
                      [--tls-key F --tls-cert F [--tls-ca F]] [--secret S]
                      [--lines] [--echo | --reply JSON]

Runs a server and prints every message and request it receives (time,
kind, type name, sender, then the value as indented JSON) to stdout;
connects and disconnects go to stderr. Hopwire clients and JSON-lines peers
(nc, Python, ...) are told apart automatically. Ctrl-C or SIGTERM closes it
(exit 0).

Options:
  --port N          TCP port (default 0: a free port, printed at start)
  --path P          Unix socket path instead of TCP
  --host H          interface to listen on (default 127.0.0.1)
  --tls-key F       TLS private key (PEM), with --tls-cert
  --tls-cert F      TLS certificate (PEM), with --tls-key
  --tls-ca F        require client certificates signed by this CA (mutual TLS)
  --secret S        shared secret clients must prove (default: $HOPWIRE_SECRET)
  --lines           speak JSON lines only (no hopwire peers, no detection wait)
  --echo            answer each request with the request itself
  --reply JSON      answer each request with this JSON value
                    (with either, a JSON-lines peer gets the answer to each
                    of its lines; without them, requests are printed and
                    refused with ERR_NO_HANDLER)
${COMMON}

${EXIT_CODES}`,

  send: `Usage: hopwire send [connection options] [--ack] [--lines] <json | ->

Sends one message: the JSON argument, or with '-' one message per line of
stdin (blank lines skipped; the first invalid line stops with exit 2).
A JSON value starting with '-' goes after '--': hopwire send --port 7 -- -5

Options:
  --ack             wait until the server's message listeners have run
  --lines           speak JSON lines (to a server that is not hopwire)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  request: `Usage: hopwire request [connection options] <json | ->

Sends a request and prints the reply to stdout as indented JSON, and the
round-trip time to stderr. With '-', one request per line of stdin, one
after another. A remote error is exit 1 with its message and remote code.

Options:
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  tail: `Usage: hopwire tail [connection options] [--count N] [--lines]

Connects and prints every message the server sends (broadcasts included)
to stdout. It waits for a server that is not up yet, and reconnects on its
own when the connection drops (status on stderr); every failure is retried
except a refused shared secret or protocol version (exit 1). Ctrl-C or
SIGTERM closes it (exit 0).

Options:
  --count N         exit after N messages
  --lines           speak JSON lines (to a server that is not hopwire)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  bench: `Usage: hopwire bench [connection options] [--messages N] [--requests M]

Sends N small messages as fast as it can and measures the throughput up to
the server having received them (a request sent after them marks the end),
then M requests one after another and prints the round-trip p50 and p99.
Without --port or --path it starts its own server on port 0 in this process
(both ends then share one process). An outside server must answer requests
(hopwire listen --echo does, but prints every message, which is slow).

Options:
  --messages N      messages to send (default 20000)
  --requests M      requests to time (default 2000)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,
};

// ---- errors and output -----------------------------------------------------

/** A mistake on the command line (exit 2). */
class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Set when SIGINT or SIGTERM interrupted a command that ends by itself. */
let interruptedBy: string | undefined;

function colorOn(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY && (process.env.NO_COLOR ?? '') === '';
}

type Style = Parameters<typeof styleText>[0];

function paint(stream: NodeJS.WriteStream, style: Style, text: string): string {
  return colorOn(stream) ? styleText(style, text) : text;
}

/** A status line on stderr. */
function status(text: string): void {
  process.stderr.write(`${paint(process.stderr, 'dim', text)}\n`);
}

/** Data on stdout. */
function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** The one error line (plus stack and causes under --debug). */
function reportError(err: unknown, debug: boolean): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = errorCode(e);
  let message = e.message.trim().replace(/\s*\n\s*/g, ' ');
  if (isHopwireError(e) && e.remoteCode !== undefined) message += ` (remote code ${e.remoteCode})`;
  if (e instanceof UsageError) message += ` (see 'hopwire ${e.command ?? ''}${e.command === undefined ? '' : ' '}--help')`;
  process.stderr.write(`${paint(process.stderr, 'red', 'hopwire:')} ${code} ${message}\n`);
  if (!debug) return;
  let cause: unknown = e;
  while (cause instanceof Error) {
    process.stderr.write(`${cause === e ? '' : 'caused by: '}${cause.stack ?? cause.message}\n`);
    if (isHopwireError(cause) && cause.remoteStack !== undefined) process.stderr.write(`remote stack: ${cause.remoteStack}\n`);
    cause = cause.cause;
  }
}

function errorCode(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : e.name;
}

/** True for values that `JSON.stringify` shows exactly. */
function isJson(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) return Object.getPrototypeOf(v) === Array.prototype && v.every(isJson);
      const proto: unknown = Object.getPrototypeOf(v);
      return (proto === Object.prototype || proto === null) && Object.values(v).every(isJson);
    }
    default:
      return false;
  }
}

/** Indented JSON; values JSON cannot show (Map, Date, BigInt, bytes, …) as Node's inspect shows them. */
function showValue(value: unknown): string {
  if (isJson(value)) return JSON.stringify(value, null, 2);
  return inspect(value, { depth: null, colors: colorOn(process.stdout), breakLength: 80 });
}

function clock(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Prints a received value: a header line, then the value. */
function printReceived(kind: string, type: string, from: string | undefined, value: unknown): void {
  const o = process.stdout;
  const parts = [paint(o, 'dim', clock()), paint(o, 'bold', kind)];
  if (type !== '') parts.push(paint(o, 'cyan', type));
  if (from !== undefined) parts.push(`from ${paint(o, 'yellow', from)}`);
  out(parts.join(' '));
  out(showValue(value));
}

function sessionName(s: Session): string {
  const where = s.remoteAddress === undefined ? 'unix socket' : `${s.remoteAddress}:${String(s.remotePort)}`;
  return `${where} #${s.id}${s.protocol === 'lines' ? ' (JSON lines)' : ''}`;
}

function addressText(a: ListenAddress): string {
  return a.path ?? `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

// ---- argument helpers --------------------------------------------------------

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
type Values = Record<string, string | boolean | undefined>;

const COMMON_SPEC: OptionSpec = { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } };
const CLIENT_SPEC: OptionSpec = {
  port: { type: 'string' },
  path: { type: 'string' },
  host: { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  secret: { type: 'string' },
  timeout: { type: 'string' },
};

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

function integer(values: Values, name: string, command: string, min: number, max: number): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`, command);
  return n;
}

function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message})`, command);
  }
}

function readPem(values: Values, name: string): Buffer | undefined {
  const file = str(values, name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot read the --${name} file '${file}': ${e.message}`), { code: e.code ?? 'EIO' });
  }
}

function secretOf(values: Values): string | undefined {
  const s = str(values, 'secret') ?? process.env.HOPWIRE_SECRET;
  return s === undefined || s === '' ? undefined : s;
}

/** Where to connect or listen. */
function endpoint(values: Values, command: string, needed: boolean): { port: number } | { path: string } {
  const path = str(values, 'path');
  const port = integer(values, 'port', command, needed ? 1 : 0, 65_535);
  if (path !== undefined && port !== undefined) throw new UsageError('give --port or --path, not both', command);
  if (path !== undefined) {
    if (str(values, 'host') !== undefined) throw new UsageError('--host goes with --port, not --path', command);
    return { path };
  }
  if (port === undefined && needed) throw new UsageError('where is the server? give --port N or --path P', command);
  return { port: port ?? 0 };
}

/** Client options from the connection flags. */
function clientOptions(values: Values, command: string): ClientOptions {
  const target = endpoint(values, command, true);
  const timeout = integer(values, 'timeout', command, 1, 2 ** 31 - 1) ?? 10_000;
  const host = str(values, 'host');
  const options: ClientOptions = { ...target, connectTimeout: timeout, handshakeTimeout: timeout, requestTimeout: timeout };
  if (host !== undefined) options.host = host;
  const secret = secretOf(values);
  if (secret !== undefined) options.secret = secret;
  if (flag(values, 'lines')) options.protocol = 'lines';
  const [ca, cert, key] = [readPem(values, 'tls-ca'), readPem(values, 'tls-cert'), readPem(values, 'tls-key')];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together', command);
  if (flag(values, 'tls') || ca !== undefined || cert !== undefined) {
    if ('path' in target) throw new UsageError('TLS works over TCP only, not with --path', command);
    options.tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  }
  return options;
}

/** `new Client` / `new Server`, with an option error reported as a usage error. */
function construct<T>(build: () => T, command: string): T {
  try {
    return build();
  } catch (err) {
    if (isHopwireError(err, ErrorCode.INVALID_OPTION)) throw new UsageError(err.message, command);
    throw err;
  }
}

/** Calls `stop` on the first SIGINT / SIGTERM; a second one exits at once. Returns the remover. */
function onSignals(stop: (signal: string) => void): () => void {
  let seen = 0;
  const handler = (signal: NodeJS.Signals): void => {
    seen++;
    if (seen > 1) process.exit(SIGNAL_EXIT[signal] ?? EXIT_RUNTIME);
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Aborted when SIGINT or SIGTERM interrupts a command that ends by itself. */
const interruption = new AbortController();

/** Interrupting a command that ends by itself: close what it opened and exit 130 / 143. */
function interruptible(close: () => Promise<unknown>): () => void {
  return onSignals((signal) => {
    interruptedBy = signal;
    interruption.abort();
    void close();
  });
}

/** The values of the lines of stdin that are not blank; stops when `signal` aborts. */
async function* stdinValues(command: string, signal: AbortSignal): AsyncGenerator {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, signal });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      if (line.trim() === '') continue;
      yield parseJson(line, `stdin line ${n}`, command);
    }
  } finally {
    rl.close();
  }
}

// ---- commands ------------------------------------------------------------------

async function listen(values: Values): Promise<number> {
  const c = 'listen';
  const echo = flag(values, 'echo');
  const replyText = str(values, 'reply');
  if (echo && replyText !== undefined) throw new UsageError('give --echo or --reply, not both', c);
  const fixed = replyText === undefined ? undefined : parseJson(replyText, '--reply', c);
  const answer = echo ? (v: unknown): unknown => v : replyText === undefined ? undefined : (): unknown => fixed;
  const options: ServerOptions = { ...endpoint(values, c, false) };
  const host = str(values, 'host');
  if (host !== undefined) options.host = host;
  const secret = secretOf(values);
  if (secret !== undefined) options.secret = secret;
  if (flag(values, 'lines')) {
    if (secret !== undefined) throw new UsageError('--lines and --secret do not mix: JSON-lines peers cannot prove a secret', c);
    options.protocol = 'lines';
  }
  const [key, cert, ca] = [readPem(values, 'tls-key'), readPem(values, 'tls-cert'), readPem(values, 'tls-ca')];
  if (key === undefined || cert === undefined) {
    if (key !== undefined || cert !== undefined || ca !== undefined) throw new UsageError('TLS needs both --tls-key and --tls-cert', c);
  } else {
    options.tls = ca === undefined ? { key, cert } : { key, cert, ca, requestCert: true, rejectUnauthorized: true };
  }
  const server = construct(() => new Server(options), c);

  server.on('connect', (s) => {
    status(`+ ${sessionName(s)} connected`);
  });
  server.on('disconnect', (s, info) => {
    const why = info.error === undefined ? '' : ` (${errorCode(info.error)})`;
    status(`- ${sessionName(s)} disconnected: ${info.reason}${why}`);
  });
  server.on('message', (message, ctx) => {
    printReceived('message', ctx.type, sessionName(ctx.session), message);
    if (ctx.protocol === 'lines' && answer !== undefined) {
      ctx.reply(answer(message)).catch((err: unknown) => {
        status(`could not answer session #${ctx.session.id}: ${String(err)}`);
      });
    }
  });
  server.handle((request, ctx) => {
    printReceived('request', ctx.type, sessionName(ctx.session), request);
    if (answer === undefined) throw new HopwireError(ErrorCode.NO_HANDLER, 'hopwire listen answers requests only with --echo or --reply');
    return answer(request);
  });

  const address = await server.listen();
  // after listen(): a listen error rejects it, and is also emitted as 'error'
  server.on('error', (err) => {
    status(`server error: ${errorCode(err)} ${err.message}`);
  });
  const tls = options.tls === undefined ? '' : options.tls.requestCert === true ? ' (mutual TLS)' : ' (TLS)';
  status(`listening on ${addressText(address)}${tls}; Ctrl-C to stop`);
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const off = onSignals(() => {
    status('closing');
    void server.close();
  });
  await closed;
  off();
  return EXIT_OK;
}

async function send(values: Values, positionals: string[]): Promise<number> {
  const c = 'send';
  const input = onePositional(positionals, c);
  const ack = flag(values, 'ack');
  if (ack && flag(values, 'lines')) throw new UsageError('--ack needs a hopwire server, not --lines', c);
  const single = input === '-' ? undefined : parseJson(input, 'the message', c);
  const client = construct(() => new Client({ ...clientOptions(values, c), reconnect: false }), c);
  const off = interruptible(() => client.close());
  try {
    await client.connect();
    let sent = 0;
    const values$ = input === '-' ? stdinValues(c, interruption.signal) : [single];
    for await (const value of values$) {
      await client.send(value, ack ? { ack: true } : {});
      sent++;
    }
    if (interruptedBy === undefined) status(`sent ${sent} message${sent === 1 ? '' : 's'}${ack ? ', acknowledged' : ''}`);
  } finally {
    off();
    await client.close();
  }
  return EXIT_OK;
}

async function request(values: Values, positionals: string[]): Promise<number> {
  const c = 'request';
  const input = onePositional(positionals, c);
  const single = input === '-' ? undefined : parseJson(input, 'the request', c);
  const client = construct(() => new Client({ ...clientOptions(values, c), reconnect: false }), c);
  const off = interruptible(() => client.close());
  try {
    await client.connect();
    const values$ = input === '-' ? stdinValues(c, interruption.signal) : [single];
    for await (const value of values$) {
      const started = performance.now();
      const reply = await client.request(value);
      const ms = performance.now() - started;
      out(showValue(reply));
      status(`round trip ${ms.toFixed(3)} ms`);
    }
  } finally {
    off();
    await client.close();
  }
  return EXIT_OK;
}

async function tail(values: Values): Promise<number> {
  const c = 'tail';
  const count = integer(values, 'count', c, 1, Number.MAX_SAFE_INTEGER);
  const base = clientOptions(values, c);
  const client = construct(() => new Client({ ...base, reconnect: { retryFirstConnect: true, max: 5_000 } }), c);
  const where = 'path' in base && base.path !== undefined ? base.path : `${base.host ?? '127.0.0.1'}:${String(base.port)}`;
  let fatal: Error | undefined;
  let received = 0;
  const closed = new Promise<void>((resolve) => client.once('close', resolve));
  let connectedOnce = false;
  client.on('connect', () => {
    connectedOnce = true;
    status(`connected to ${where}`);
  });
  client.on('disconnect', (info) => {
    status(`disconnected: ${info.reason} (${info.message})`);
  });
  client.on('reconnecting', ({ attempt, delay }) => {
    status(`${connectedOnce ? 'reconnecting' : 'waiting for the server'}: attempt ${attempt} in ${delay} ms`);
  });
  client.on('error', (err) => {
    if (client.state !== 'disconnected') {
      status(`error: ${errorCode(err)} ${err.message}`);
      return;
    }
    fatal = err; // a refused secret or version: reconnecting will not help
    void client.close();
  });
  client.on('message', (message, ctx) => {
    printReceived('message', ctx.type, undefined, message);
    received++;
    if (count !== undefined && received >= count) void client.close();
  });
  client.handle((req, ctx) => {
    printReceived('request', ctx.type, undefined, req);
    throw new HopwireError(ErrorCode.NO_HANDLER, 'hopwire tail does not answer requests');
  });
  const off = onSignals(() => {
    void client.close();
  });
  // The client's reconnect timer is unref()ed: without this, tail would exit
  // while it waits for the server instead of waiting.
  const alive = setInterval(() => undefined, 1 << 30);
  void closed.then(() => {
    clearInterval(alive);
  });
  try {
    await client.connect();
  } catch (err) {
    off();
    await client.close();
    if (isHopwireError(err, ErrorCode.CLOSED)) return EXIT_OK; // Ctrl-C while waiting for the server
    throw err;
  }
  await closed;
  off();
  if (fatal !== undefined) throw fatal;
  return EXIT_OK;
}

async function bench(values: Values): Promise<number> {
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

async function stats(values: Values): Promise<number> {
  const url = str(values, 'metrics-url');
  if (url === undefined) throw new UsageError('stats needs --metrics-url URL (the server\'s metrics endpoint)', 'stats');
  if (flag(values, 'json')) {
    out(JSON.stringify(await fetchSamples(url), null, 2));
    return EXIT_OK;
  }
  const interval = integer(values, 'interval', 'stats', 50, 3_600_000) ?? 1000;
  const count = integer(values, 'count', 'stats', 1, Number.MAX_SAFE_INTEGER);
  const tty = process.stdout.isTTY;
  let before: Awaited<ReturnType<typeof fetchSamples>> | undefined;
  let at = performance.now();
  const stop = { requested: false }; // set by a signal while the loop waits
  const off = onSignals(() => {
    stop.requested = true;
  });
  try {
    for (let n = 0; !stop.requested && (count === undefined || n < count); n++) {
      if (n > 0) await new Promise((resolve) => setTimeout(resolve, interval));
      const now = await fetchSamples(url);
      const t = performance.now();
      const table = renderTable(now, before, (t - at) / 1000);
      out(tty ? `\x1b[2J\x1b[H${url}\n${table}` : `${table}\n`);
      before = now;
      at = t;
    }
  } finally {
    off();
  }
  return EXIT_OK;
}

function onePositional(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs a JSON value, or '-' to read JSON lines from stdin`, command);
  if (positionals.length > 1) {
    throw new UsageError(`${command} takes one JSON value, got ${positionals.length} arguments (quote the JSON: '{"a": 1}')`, command);
  }
  return positionals[0] ?? '';
}

// ---- dispatch ------------------------------------------------------------------

interface Command {
  readonly options: OptionSpec;
  readonly positionals: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  listen: {
    options: {
      port: { type: 'string' },
      path: { type: 'string' },
      host: { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-ca': { type: 'string' },
      secret: { type: 'string' },
      lines: { type: 'boolean' },
      echo: { type: 'boolean' },
      reply: { type: 'string' },
    },
    positionals: false,
    run: listen,
  },
  send: { options: { ...CLIENT_SPEC, ack: { type: 'boolean' }, lines: { type: 'boolean' } }, positionals: true, run: send },
  request: { options: CLIENT_SPEC, positionals: true, run: request },
  tail: { options: { ...CLIENT_SPEC, count: { type: 'string' }, lines: { type: 'boolean' } }, positionals: false, run: tail },
  bench: { options: { ...CLIENT_SPEC, messages: { type: 'string' }, requests: { type: 'string' } }, positionals: false, run: bench },
  stats: {
    options: { 'metrics-url': { type: 'string' }, json: { type: 'boolean' }, interval: { type: 'string' }, count: { type: 'string' } },
    positionals: false,
    run: stats,
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Turns parseArgs' errors into one short line. */
function usageFromParseArgs(err: unknown, command: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return err;
  const message = (err as Error).message;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown?.[1] !== undefined) return new UsageError(`unknown option '${unknown[1]}'`, command);
  const unexpected = /^Unexpected argument '([^']*)'/.exec(message);
  if (unexpected?.[1] !== undefined) return new UsageError(`${command} takes no arguments, got '${unexpected[1]}'`, command);
  return new UsageError((message.split('\n')[0] ?? message).replace(/\.$/, ''), command);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${HELP.top ?? ''}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] !== undefined && rest[0] in COMMANDS ? rest[0] : 'top';
    out(HELP[topic] ?? '');
    return EXIT_OK;
  }
  if (name === '--version') {
    out(`hopwire ${version()} (protocol ${PROTOCOL_VERSION}, node ${process.version})`);
    return EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw new UsageError(name.startsWith('-') ? `unknown option '${name}' (give a command first)` : `unknown command '${name}'`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, ...COMMON_SPEC }, allowPositionals: command.positionals, strict: true });
  } catch (err) {
    throw usageFromParseArgs(err, name);
  }
  if (parsed.values.help === true) {
    out(HELP[name] ?? '');
    return EXIT_OK;
  }
  return command.run(parsed.values, parsed.positionals);
}

const argv = process.argv.slice(2);
const debugging = argv.includes('--debug');
main(argv).then(
  (code) => {
    if (interruptedBy !== undefined) status(`interrupted (${interruptedBy})`);
    process.exitCode = interruptedBy === undefined ? code : (SIGNAL_EXIT[interruptedBy] ?? EXIT_RUNTIME);
  },
  (err: unknown) => {
    if (interruptedBy !== undefined) {
      status(`interrupted (${interruptedBy})`);
      process.exitCode = SIGNAL_EXIT[interruptedBy] ?? EXIT_RUNTIME;
      return;
    }
    reportError(err, debugging);
    process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
  },
);
