/**
 * What the command line prints: data on stdout, status lines on stderr, the
 * one error line, received values as indented JSON (or as Node's inspect
 * shows what JSON cannot), and color only on a terminal without `NO_COLOR`.
 *
 * @module
 */
import { inspect, styleText } from 'node:util';
import { type ListenAddress, type Session, isHopwireError } from '../index.js';
import { UsageError } from './args.js';

function colorOn(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY && (process.env.NO_COLOR ?? '') === '';
}

type Style = Parameters<typeof styleText>[0];

function paint(stream: NodeJS.WriteStream, style: Style, text: string): string {
  return colorOn(stream) ? styleText(style, text) : text;
}

/** A status line on stderr. */
export function status(text: string): void {
  process.stderr.write(`${paint(process.stderr, 'dim', text)}\n`);
}

/** Data on stdout. */
export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** The one error line (plus stack and causes under --debug). */
export function reportError(err: unknown, debug: boolean): void {
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

/** An error's `code` (`ERR_…`, `ECONNREFUSED`, …), else its name. */
export function errorCode(e: Error): string {
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
export function showValue(value: unknown): string {
  if (isJson(value)) return JSON.stringify(value, null, 2);
  return inspect(value, { depth: null, colors: colorOn(process.stdout), breakLength: 80 });
}

function clock(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Prints a received value: a header line, then the value. */
export function printReceived(kind: string, type: string, from: string | undefined, value: unknown): void {
  const o = process.stdout;
  const parts = [paint(o, 'dim', clock()), paint(o, 'bold', kind)];
  if (type !== '') parts.push(paint(o, 'cyan', type));
  if (from !== undefined) parts.push(`from ${paint(o, 'yellow', from)}`);
  out(parts.join(' '));
  out(showValue(value));
}

/** A session as the status lines name it: address, id, and whether it speaks JSON lines. */
export function sessionName(s: Session): string {
  const where = s.remoteAddress === undefined ? 'unix socket' : `${s.remoteAddress}:${String(s.remotePort)}`;
  return `${where} #${s.id}${s.protocol === 'lines' ? ' (JSON lines)' : ''}`;
}

/** A listen address as text: the socket path, or `host:port` (`[host]:port` for IPv6). */
export function addressText(a: ListenAddress): string {
  return a.path ?? `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
