/**
 * `hopwire send` and `hopwire request`: one message or request given as a
 * JSON argument, or one per JSON line of stdin (`-`).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Client } from '../index.js';
import { CLIENT_SPEC, type Command, type Values, UsageError, clientOptions, construct, flag, parseJson } from './args.js';
import { EXIT_OK, interruptedBy, interruptible, interruption } from './exit.js';
import { out, showValue, status } from './output.js';

/** The one JSON argument, or `-` for stdin. */
function onePositional(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs a JSON value, or '-' to read JSON lines from stdin`, command);
  if (positionals.length > 1) {
    throw new UsageError(`${command} takes one JSON value, got ${positionals.length} arguments (quote the JSON: '{"a": 1}')`, command);
  }
  return positionals[0] ?? '';
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

async function runSend(values: Values, positionals: string[]): Promise<number> {
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
    if (interruptedBy() === undefined) status(`sent ${sent} message${sent === 1 ? '' : 's'}${ack ? ', acknowledged' : ''}`);
  } finally {
    off();
    await client.close();
  }
  return EXIT_OK;
}

async function runRequest(values: Values, positionals: string[]): Promise<number> {
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

/** `hopwire send`. */
export const send: Command = { options: { ...CLIENT_SPEC, ack: { type: 'boolean' }, lines: { type: 'boolean' } }, positionals: true, run: runSend };

/** `hopwire request`. */
export const request: Command = { options: CLIENT_SPEC, positionals: true, run: runRequest };
