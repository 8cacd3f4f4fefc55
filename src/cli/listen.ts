/**
 * `hopwire listen`: a server that prints every message and request it
 * receives, answers requests with `--echo` or `--reply`, and runs until
 * Ctrl-C or SIGTERM (exit 0).
 *
 * @module
 */
import { ErrorCode, HopwireError, Server, type ServerOptions } from '../index.js';
import { type Command, type Values, UsageError, construct, endpoint, flag, parseJson, readPem, secretOf, str } from './args.js';
import { EXIT_OK, onSignals } from './exit.js';
import { addressText, errorCode, printReceived, sessionName, status } from './output.js';

async function runListen(values: Values): Promise<number> {
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

/** `hopwire listen`. */
export const listen: Command = {
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
  run: runListen,
};
