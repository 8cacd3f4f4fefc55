/**
 * `hopwire tail`: prints every message a server sends (broadcasts
 * included), waiting for a server that is not up yet and reconnecting on its
 * own, until Ctrl-C or SIGTERM (exit 0) or `--count` messages.
 *
 * @module
 */
import { Client, ErrorCode, HopwireError, isHopwireError } from '../index.js';
import { CLIENT_SPEC, type Command, type Values, clientOptions, construct, integer } from './args.js';
import { EXIT_OK, onSignals } from './exit.js';
import { errorCode, printReceived, status } from './output.js';

async function runTail(values: Values): Promise<number> {
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

/** `hopwire tail`. */
export const tail: Command = { options: { ...CLIENT_SPEC, count: { type: 'string' }, lines: { type: 'boolean' } }, positionals: false, run: runTail };
