/**
 * The command line's arguments: the shape of a command, the option specs
 * shared by the commands, reading option values, the connection flags
 * turned into client options, and {@link UsageError} for mistakes (exit 2).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { type ClientOptions, ErrorCode, isHopwireError } from '../index.js';

/** A mistake on the command line (exit 2). */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  /** @param command the command it was made in, if any: the error line points at its `--help` */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The options of a command, as `parseArgs` takes them. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
/** The option values `parseArgs` found. */
export type Values = Record<string, string | boolean | undefined>;

/** One command of the command line. */
export interface Command {
  /** Its options (`--help` and `--debug` are added to every command). */
  readonly options: OptionSpec;
  /** Whether it takes arguments besides its options. */
  readonly positionals: boolean;
  /** Runs it; resolves to the exit code. */
  run(values: Values, positionals: string[]): Promise<number>;
}

/** The options every command has. */
export const COMMON_SPEC: OptionSpec = { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } };
/** The connection options of the commands that connect to a server. */
export const CLIENT_SPEC: OptionSpec = {
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

/** The value of a string option, if given. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a boolean option is given. */
export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** The value of an integer option, if given. @throws UsageError when it is not an integer from `min` to `max`. */
export function integer(values: Values, name: string, command: string, min: number, max: number): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`, command);
  return n;
}

/** Parses JSON given on the command line or stdin; `what` names it in the error. @throws UsageError */
export function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message})`, command);
  }
}

/** The contents of the PEM file an option names, if given. */
export function readPem(values: Values, name: string): Buffer | undefined {
  const file = str(values, name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot read the --${name} file '${file}': ${e.message}`), { code: e.code ?? 'EIO' });
  }
}

/** The shared secret: `--secret`, else `$HOPWIRE_SECRET`; an empty one is none. */
export function secretOf(values: Values): string | undefined {
  const s = str(values, 'secret') ?? process.env.HOPWIRE_SECRET;
  return s === undefined || s === '' ? undefined : s;
}

/** Where to connect or listen. */
export function endpoint(values: Values, command: string, needed: boolean): { port: number } | { path: string } {
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
export function clientOptions(values: Values, command: string): ClientOptions {
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
export function construct<T>(build: () => T, command: string): T {
  try {
    return build();
  } catch (err) {
    if (isHopwireError(err, ErrorCode.INVALID_OPTION)) throw new UsageError(err.message, command);
    throw err;
  }
}

/** Turns parseArgs' errors into one short line. */
export function usageFromParseArgs(err: unknown, command: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return err;
  const message = (err as Error).message;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown?.[1] !== undefined) return new UsageError(`unknown option '${unknown[1]}'`, command);
  const unexpected = /^Unexpected argument '([^']*)'/.exec(message);
  if (unexpected?.[1] !== undefined) return new UsageError(`${command} takes no arguments, got '${unexpected[1]}'`, command);
  return new UsageError((message.split('\n')[0] ?? message).replace(/\.$/, ''), command);
}
