/**
 * What the demo's processes say to each other over the IPC channel of
 * `child_process.spawn`, and small helpers for the child processes.
 *
 * Children send their log lines over IPC too (not stdout), so that a line is
 * always printed before the report that follows it: the orchestrator reads
 * one ordered channel per child.
 */
import { inspect, parseArgs } from 'node:util';
import type { ListenAddress } from '../src/index.js';

/** Orchestrator → child. */
export type Command =
  | { readonly cmd: 'send-widget' }
  | { readonly cmd: 'request'; readonly repeat: number }
  | { readonly cmd: 'request-error' }
  | { readonly cmd: 'broadcast'; readonly kind: 'widget' | 'news' }
  | { readonly cmd: 'close' };

/** Child → orchestrator. */
export type Report =
  | { readonly type: 'log'; readonly text: string }
  | { readonly type: 'listening'; readonly address: ListenAddress; readonly pid: number }
  | { readonly type: 'connected'; readonly times: number }
  | { readonly type: 'session-closed'; readonly id: number }
  | { readonly type: 'widget-received' }
  | { readonly type: 'line-received' }
  | { readonly type: 'received'; readonly ctxType: string }
  | { readonly type: 'done'; readonly cmd: Command['cmd'] }
  | { readonly type: 'failed'; readonly error: string };

/** Where the server is: `--port N` or `--path P` on the command line. */
export type Target = { readonly port: number } | { readonly path: string };

const COMMANDS: readonly string[] = ['send-widget', 'request', 'request-error', 'broadcast', 'close'];
const REPORTS: readonly string[] = ['log', 'listening', 'connected', 'session-closed', 'widget-received', 'line-received', 'received', 'done', 'failed'];

export function isCommand(value: unknown): value is Command {
  return typeof value === 'object' && value !== null && COMMANDS.includes(String((value as { cmd?: unknown }).cmd));
}

export function isReport(value: unknown): value is Report {
  return typeof value === 'object' && value !== null && REPORTS.includes(String((value as { type?: unknown }).type));
}

/** Sends a report to the orchestrator (or prints log lines when run on its own). */
export function report(r: Report): void {
  if (process.send !== undefined && process.connected) process.send(r);
  else if (r.type === 'log') console.log(r.text);
}

/** Logs one line through the orchestrator. */
export function log(text: string): void {
  report({ type: 'log', text });
}

/** A value on one line, the way `console.log` would show it. */
export function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Infinity, compact: true });
}

/** An error's code and message, on one line. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}

/** Parses `--port N` / `--path P` (and `--name`, for clients). */
export function parseTarget(): { target: Target; name: string } {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, path: { type: 'string' }, name: { type: 'string' } },
  });
  const name = values.name ?? 'client';
  if (values.path !== undefined) return { target: { path: values.path }, name };
  const port = Number(values.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`bad --port ${String(values.port)}`);
  return { target: { port }, name };
}

/**
 * Runs each command the orchestrator sends, then reports `done` (or `failed`).
 * After `close` is done the IPC channel is closed too, so that the process
 * can exit by itself — which it does only if hopwire left nothing running.
 * When the channel closes without a `close` command, the orchestrator is gone:
 * `onOrphaned` runs, so that no child outlives it.
 */
export function serve(run: (command: Command) => Promise<void>, onOrphaned: () => void): void {
  let leaving = false;
  process.on('message', (message: unknown) => {
    if (!isCommand(message)) return;
    run(message).then(
      () => {
        if (message.cmd !== 'close') {
          report({ type: 'done', cmd: message.cmd });
          return;
        }
        leaving = true;
        if (process.send === undefined || !process.connected) return;
        process.send({ type: 'done', cmd: 'close' } satisfies Report, () => {
          if (process.connected) process.disconnect();
        });
      },
      (err: unknown) => {
        report({ type: 'failed', error: `${message.cmd}: ${describeError(err)}` });
      },
    );
  });
  process.on('disconnect', () => {
    if (!leaving) onOrphaned();
  });
}
