/**
 * `npm run demo`: one server and two clients, each in its own process, plus a
 * plain socket speaking JSON lines. The orchestrator (this file) starts them,
 * tells them what to do over the IPC channel, awaits what they report, and
 * prints everything with a prefix per process:
 *
 * 1. a Widget travels from a client and is rebuilt on the server;
 * 2. request/reply, with its round-trip time, and a remote error;
 * 3. `server.sendAll()` reaches both clients;
 * 4. a raw JSON-lines peer talks to the same server and gets a broadcast;
 * 5. the server is killed (SIGKILL) and restarted on the same address; the
 *    clients reconnect on their own and a request works again.
 *
 * Then everything closes and every process exits by itself with code 0.
 * `npm run demo -- --unix` does the same over a Unix domain socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, styleText } from 'node:util';
import { type Command, type Report, type Target, describeError, isReport } from './ipc.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The longest wait for any one thing a step expects; a guard, not a sleep. */
const STEP_TIMEOUT_MS = 5_000;
/** The same for things that need a process to start (tsx compiles on the fly; slow on a busy machine). */
const START_TIMEOUT_MS = 20_000;
/** Everything is killed if the demo has not finished by then. */
const SAFETY_TIMEOUT_MS = 30_000;
const started = performance.now();

type Style = Parameters<typeof styleText>[0];
const STYLES: Record<string, Style> = { demo: 'bold', server: 'yellow', alice: 'cyan', bob: 'magenta', raw: 'green' };

/** Prints one line with the speaker's prefix. */
function say(who: string, text: string): void {
  const prefix = `[${who}]`.padEnd(9);
  console.log(`${process.stdout.isTTY ? styleText(STYLES[who] ?? 'reset', prefix) : prefix}${text}`);
}

function step(title: string): void {
  console.log('');
  say('demo', `── ${title} ──`);
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** Items that arrive before or after someone waits for them; a failure rejects every wait. */
class Mailbox<T> {
  readonly #items: T[] = [];
  readonly #waiters = new Set<{ match: (item: T) => boolean; resolve: (item: T) => void; reject: (err: Error) => void }>();
  #error: Error | undefined;

  get error(): Error | undefined {
    return this.#error;
  }

  push(item: T): void {
    for (const w of this.#waiters) {
      if (w.match(item)) {
        this.#waiters.delete(w);
        w.resolve(item);
        return;
      }
    }
    this.#items.push(item);
  }

  fail(err: Error): void {
    this.#error ??= err;
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
  }

  /** The first item (already there or still to come) that matches. */
  take(match: (item: T) => boolean, what: string, ms = STEP_TIMEOUT_MS): Promise<T> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const i = this.#items.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#items.splice(i, 1)[0] as T);
    let waiter: { match: (item: T) => boolean; resolve: (item: T) => void; reject: (err: Error) => void } | undefined;
    const promise = new Promise<T>((resolve, reject) => {
      waiter = { match, resolve, reject };
      this.#waiters.add(waiter);
    });
    return within(promise, ms, what).finally(() => {
      if (waiter !== undefined) this.#waiters.delete(waiter);
    });
  }
}

const children = new Set<Child>();

/** One child process running `demo/<script>` under tsx, with an IPC channel. */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #inbox = new Mailbox<Report>();
  #exitExpected = false;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join('demo', script), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.add(this);
    // Children log over IPC; anything else they print still gets their prefix.
    if (this.proc.stdout !== null) {
      createInterface({ input: this.proc.stdout }).on('line', (line) => {
        say(name, line);
      });
    }
    this.proc.on('message', (message: unknown) => {
      if (!isReport(message)) return;
      if (message.type === 'log') say(name, message.text);
      else if (message.type === 'failed') this.#inbox.fail(new Error(`${name} reported: ${message.error}`));
      else this.#inbox.push(message);
    });
    this.proc.on('error', (err) => {
      this.#inbox.fail(err);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('close', (code, signal) => {
        children.delete(this);
        if (!this.#exitExpected) this.#inbox.fail(new Error(`${name} exited unexpectedly (${signal ?? `code ${String(code)}`})`));
        resolve({ code, signal });
      });
    });
  }

  /** Any failure this child reported. */
  get error(): Error | undefined {
    return this.#inbox.error;
  }

  /** Waits for a report of the given type (one that came already counts). */
  async expect<K extends Report['type']>(type: K, ms = STEP_TIMEOUT_MS): Promise<Extract<Report, { type: K }>> {
    const what = `${this.name} to report '${type}'`;
    return (await this.#inbox.take((r) => r.type === type, what, ms)) as Extract<Report, { type: K }>;
  }

  /** Sends a command and waits until the child says it is done. */
  async run(command: Command): Promise<void> {
    if (command.cmd === 'close') this.#exitExpected = true;
    this.proc.send(command);
    await this.#inbox.take((r) => r.type === 'done' && r.cmd === command.cmd, `${this.name} to finish '${command.cmd}'`);
  }

  /** `close` it, then require it to exit by itself, with code 0, soon. */
  async finish(): Promise<void> {
    await this.run({ cmd: 'close' });
    const { code, signal } = await within(this.exited, STEP_TIMEOUT_MS, `${this.name} to exit by itself after close()`);
    if (code !== 0) throw new Error(`${this.name} exited with ${signal ?? `code ${String(code)}`}`);
    say('demo', `${this.name} exited by itself with code 0`);
  }

  /** SIGKILL: no goodbye, no cleanup — as if the machine lost power. */
  async kill(): Promise<NodeJS.Signals | null> {
    this.#exitExpected = true;
    this.proc.kill('SIGKILL');
    return (await this.exited).signal;
  }
}

function killAll(): void {
  for (const child of children) child.proc.kill('SIGKILL');
}

/**
 * A plain socket that writes and reads JSON lines, as `nc` would. Lines are
 * printed when taken, so that they follow what the server said about them.
 */
async function rawPeer(target: Target): Promise<{ socket: Socket; lines: Mailbox<string> }> {
  const socket = 'path' in target ? connect({ path: target.path }) : connect({ port: target.port, host: '127.0.0.1' });
  const lines = new Mailbox<string>();
  socket.on('error', (err) => {
    lines.fail(err);
  });
  createInterface({ input: socket }).on('line', (line) => {
    lines.push(line);
  });
  await once(socket, 'connect');
  return { socket, lines };
}

function targetArgs(target: Target): string[] {
  return 'path' in target ? ['--path', target.path] : ['--port', String(target.port)];
}

async function main(useUnixSocket: boolean, tempDir: string | undefined): Promise<void> {
  const firstArgs = tempDir === undefined ? ['--port', '0'] : ['--path', join(tempDir, 'demo.sock')];
  say('demo', `starting the server (${useUnixSocket ? 'Unix socket' : 'TCP, port 0'}) …`);
  let server = new Child('server', 'server.ts', firstArgs);
  const first = await server.expect('listening', START_TIMEOUT_MS);
  const target: Target = first.address.path !== undefined ? { path: first.address.path } : { port: first.address.port };
  const where = 'path' in target ? `socket ${target.path}` : `port ${target.port}`;

  say('demo', `starting two clients on ${where} …`);
  const alice = new Child('alice', 'client.ts', ['--name', 'alice', ...targetArgs(target)]);
  const bob = new Child('bob', 'client.ts', ['--name', 'bob', ...targetArgs(target)]);
  await Promise.all([alice.expect('connected', START_TIMEOUT_MS), bob.expect('connected', START_TIMEOUT_MS)]);

  step('1. alice sends a Widget (with a Date and a Map inside); the server gets a real Widget');
  await alice.run({ cmd: 'send-widget' });
  await server.expect('widget-received');

  step('2. request/reply: bob asks, the server answers (and once, throws)');
  await bob.run({ cmd: 'request', repeat: 100 });
  await bob.run({ cmd: 'request-error' });

  step('3. server.sendAll(widget) reaches both clients');
  await server.run({ cmd: 'broadcast', kind: 'widget' });
  await Promise.all([alice.expect('received'), bob.expect('received')]);

  step('4. a plain socket (as nc would be) speaks JSON lines to the same server');
  const raw = await rawPeer(target);
  const line = JSON.stringify({ hello: 'from a plain socket', n: 42 });
  say('raw', `-> ${line}`);
  raw.socket.write(`${line}\n`);
  await server.expect('line-received');
  const reply = await raw.lines.take(() => true, 'the reply line');
  say('raw', `<- ${reply}`);
  const answer = JSON.parse(reply) as { ok?: unknown };
  if (answer.ok !== true) throw new Error('the reply line is not { ok: true, … }');
  await server.run({ cmd: 'broadcast', kind: 'news' });
  const [news] = await Promise.all([raw.lines.take(() => true, 'the broadcast line'), alice.expect('received'), bob.expect('received')]);
  say('raw', `<- ${news}`);
  raw.socket.end();
  await once(raw.socket, 'close');
  await server.expect('session-closed');

  step(`5. SIGKILL the server, start a new one on the same ${where}; the clients reconnect on their own`);
  const signal = await server.kill();
  say('demo', `server (pid ${first.pid}) killed: ${String(signal)}`);
  server = new Child('server', 'server.ts', targetArgs(target));
  const second = await server.expect('listening', START_TIMEOUT_MS);
  await Promise.all([alice.expect('connected'), bob.expect('connected')]);
  say('demo', `both clients are back, now talking to pid ${second.pid}; a request after the restart:`);
  await Promise.all([alice.run({ cmd: 'request', repeat: 0 }), bob.run({ cmd: 'request', repeat: 0 })]);

  step('6. close everything');
  await Promise.all([alice.finish(), bob.finish()]);
  await server.finish();
  const failed = [server, alice, bob].find((c) => c.error !== undefined);
  if (failed?.error !== undefined) throw failed.error;
  say('demo', `all done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const { values } = parseArgs({ options: { unix: { type: 'boolean', default: false } } });
const tempDir = values.unix ? mkdtempSync(join(tmpdir(), 'hopwire-demo-')) : undefined;
const cleanup = (): void => {
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
};
const abort = (why: string, code: number): void => {
  say('demo', why);
  killAll();
  cleanup();
  process.exit(code);
};

setTimeout(() => {
  abort(`FAILED: the demo did not finish within ${SAFETY_TIMEOUT_MS / 1000} s; killing everything`, 1);
}, SAFETY_TIMEOUT_MS).unref();
process.once('SIGINT', () => {
  abort('interrupted', 130);
});
process.once('SIGTERM', () => {
  abort('terminated', 143);
});

main(values.unix, tempDir).then(
  () => {
    cleanup();
  },
  (err: unknown) => {
    abort(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : describeError(err)}`, 1);
  },
);
