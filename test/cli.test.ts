/**
 * The `hopwire` command line, run as a real process (`node --import tsx
 * src/cli.ts …`), against spawned `hopwire listen` processes and in-process
 * servers and clients. Every process has a deadline and is killed by
 * closeAll() if it is still running.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Server, type Session } from '../src/index.js';
import { haveOpenssl, testCerts } from './support/certs.js';
import { LineReader, closeAll, defer, freePort, rawServer, rawSocket, startServer, tempDir, tempSocketPath } from './support/net.js';

const ROOT = join(import.meta.dirname, '..');
/** Longest any one CLI process may run (tsx compiles on the fly: slow on a busy machine). */
const DEADLINE_MS = 20_000;
const ESC = '\u001b[';

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process: its output so far, and ways to wait for it. */
class Cli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly #exited: Promise<Result>;
  #watchers: (() => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: undefined, NODE_DEBUG: undefined, HOPWIRE_SECRET: undefined, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = this.child;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.#notify();
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.#notify();
    });
    const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    this.#exited = once(child, 'close').then(([code, signal]) => {
      clearTimeout(deadline);
      this.#notify();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null, stdout: this.stdout, stderr: this.stderr };
    });
    defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return this.#exited;
    });
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<Result> {
    return this.#exited;
  }

  /** Waits until stdout or stderr matches `pattern`; returns the match. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stderr'): Promise<RegExpMatchArray> {
    for (;;) {
      const m = pattern.exec(this[stream]);
      if (m !== null) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`exited before ${String(pattern)} appeared on ${stream}; stdout: ${this.stdout}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.#watchers.push(resolve));
    }
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Result> {
    this.child.kill(signal);
    return this.exited;
  }

  #notify(): void {
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const w of watchers) w();
  }
}

/** Runs the CLI to its end, with `input` on stdin. */
function run(args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const cli = new Cli(args, env);
  cli.child.stdin?.end(input);
  return cli.exited;
}

/** Starts `hopwire listen` on port 0 (or the given options) and returns it with its port. */
async function listen(args: string[] = []): Promise<{ cli: Cli; port: number }> {
  const cli = new Cli(['listen', ...args]);
  const m = await cli.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { cli, port: Number(m[1]) };
}

/** The single line an error leaves on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, `expected one line on stderr, got: ${stderr}`).to.have.length(1);
  return lines[0] ?? '';
}

function noColor(r: Result): void {
  expect(r.stdout).not.to.include(ESC);
  expect(r.stderr).not.to.include(ESC);
}

class Widget {
  constructor(
    public name = '',
    public made = new Date(0),
  ) {}
}

describe('hopwire CLI', function () {
  this.timeout(60_000);
  afterEach(closeAll);

  describe('help, version and usage errors', () => {
    it('prints help with the commands and the exit codes, and the version', async () => {
      const [top, version, noArgs] = await Promise.all([run(['--help']), run(['--version']), run([])]);
      expect(top.code).to.equal(0);
      expect(top.stdout).to.include('Usage: hopwire <command> [options]');
      for (const cmd of ['listen', 'send', 'request', 'tail', 'bench']) expect(top.stdout).to.match(new RegExp(`^  ${cmd} `, 'm'));
      expect(top.stdout).to.include('Exit codes:').and.include('NO_COLOR');
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(version.code).to.equal(0);
      expect(version.stdout).to.match(new RegExp(`^hopwire ${pkg.version.replaceAll('.', '\\.')} \\(protocol 1, node v`));
      expect(noArgs.code, 'no command is a usage error').to.equal(2);
      expect(noArgs.stderr).to.include('Usage: hopwire <command>');
      noColor(top);
    });

    it('prints the help of every command, with its exit codes', async () => {
      const commands = ['listen', 'send', 'request', 'tail', 'bench'];
      const results = await Promise.all(commands.map((cmd) => run([cmd, '--help'])));
      results.forEach((r, i) => {
        expect(r.code).to.equal(0);
        expect(r.stdout).to.include(`Usage: hopwire ${commands[i] ?? ''}`).and.include('Exit codes:').and.include('--debug');
      });
      const viaHelp = await run(['help', 'tail']);
      expect(viaHelp.stdout).to.include('Usage: hopwire tail');
    });

    it('exits 2 with one line for every kind of bad command line', async () => {
      const cases: [string[], RegExp][] = [
        [['frob'], /^hopwire: ERR_USAGE unknown command 'frob' \(see 'hopwire --help'\)$/],
        [['--frob'], /^hopwire: ERR_USAGE unknown option '--frob'/],
        [['send', '{}'], /^hopwire: ERR_USAGE where is the server\? give --port N or --path P \(see 'hopwire send --help'\)$/],
        [['send', '--port', 'x', '{}'], /^hopwire: ERR_USAGE --port must be an integer from 1 to 65535, got 'x'/],
        [['send', '--port', '70000', '{}'], /--port must be an integer/],
        [['send', '--port', '1', '--frob', '{}'], /^hopwire: ERR_USAGE unknown option '--frob'/],
        [['send', '--port', '1', '{'], /^hopwire: ERR_USAGE the message is not valid JSON/],
        [['send', '--port', '1'], /needs a JSON value, or '-'/],
        [['send', '--port', '1', 'a', 'b'], /takes one JSON value, got 2 arguments/],
        [['send', '--port', '1', '--path', '/tmp/x', '1'], /give --port or --path, not both/],
        [['send', '--path', '/tmp/x', '--tls', '1'], /TLS works over TCP only/],
        [['send', '--port', '1', '--tls-cert', 'package.json', '1'], /--tls-cert and --tls-key go together/],
        [['request', '--port', '1', '--timeout', '0', '1'], /--timeout must be an integer from 1/],
        [['listen', '--echo', '--reply', '1'], /give --echo or --reply, not both/],
        [['listen', '--reply', '{nope'], /--reply is not valid JSON/],
        [['listen', '--reply'], /^hopwire: ERR_USAGE Option '--reply <value>' argument missing/],
        [['listen', '--lines', '--secret', 's'], /--lines and --secret do not mix/],
        [['listen', '--tls-key', 'package.json'], /TLS needs both --tls-key and --tls-cert/],
        [['tail', '--port', '1', 'extra'], /^hopwire: ERR_USAGE tail takes no arguments, got 'extra'/],
        [['tail', '--port', '1', '--count', '0'], /--count must be an integer from 1/],
        [['bench', '--messages', '-3'], /^hopwire: ERR_USAGE /],
      ];
      const results = await Promise.all(cases.map(([args]) => run(args)));
      results.forEach((r, i) => {
        const [args, pattern] = cases[i] ?? [[], /x/];
        expect(r.code, `hopwire ${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(oneLine(r.stderr)).to.match(pattern);
        expect(r.stdout).to.equal('');
      });
    });

    it('reads --tls files and reports an unreadable one as a runtime error', async () => {
      const r = await run(['listen', '--tls-key', '/nonexistent/key.pem', '--tls-cert', '/nonexistent/cert.pem']);
      expect(r.code).to.equal(1);
      expect(oneLine(r.stderr)).to.match(/^hopwire: ENOENT cannot read the --tls-key file '\/nonexistent\/key\.pem'/);
    });
  });

  describe('runtime errors', () => {
    it('exits 1 with one line when the connection is refused; --debug adds the stack', async () => {
      const port = await freePort();
      const [send, request, debug] = await Promise.all([
        run(['send', '--port', String(port), '{"a":1}']),
        run(['request', '--port', String(port), '1']),
        run(['send', '--port', String(port), '--debug', '1']),
      ]);
      for (const r of [send, request]) {
        expect(r.code).to.equal(1);
        expect(oneLine(r.stderr)).to.match(new RegExp(`^hopwire: ERR_NOT_CONNECTED cannot connect: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
        expect(r.stdout).to.equal('');
      }
      expect(debug.code).to.equal(1);
      expect(debug.stderr.split('\n')[0]).to.match(/^hopwire: ERR_NOT_CONNECTED /);
      expect(debug.stderr).to.match(/\n\s+at /).and.include('caused by: Error: connect ECONNREFUSED');
    });

    it('exits 1 with the remote message and code when the handler throws, and on ERR_NO_HANDLER', async () => {
      const { server, port } = await startServer();
      server.handle((req) => {
        throw Object.assign(new Error(`cannot do ${JSON.stringify(req)}`), { code: 'E_CANNOT' });
      });
      const bare = await startServer();
      const [remote, noHandler] = await Promise.all([
        run(['request', '--port', String(port), '{"op":"x"}']),
        run(['request', '--port', String(bare.port), '1']),
      ]);
      expect(remote.code).to.equal(1);
      expect(oneLine(remote.stderr)).to.equal('hopwire: ERR_REMOTE cannot do {"op":"x"} (remote code E_CANNOT)');
      expect(noHandler.code).to.equal(1);
      expect(oneLine(noHandler.stderr)).to.match(/^hopwire: ERR_NO_HANDLER /);
    });

    it('listen exits 1 with EADDRINUSE when the port is taken', async () => {
      const { port } = await startServer();
      const r = await run(['listen', '--port', String(port)]);
      expect(r.code).to.equal(1);
      expect(oneLine(r.stderr)).to.match(/^hopwire: EADDRINUSE /);
    });

    it('exits 1 with ERR_AUTH when the secret is wrong', async () => {
      const { port } = await startServer({ secret: 'right' });
      const [wrong, fromEnv] = await Promise.all([
        run(['send', '--port', String(port), '--secret', 'wrong', '1']),
        run(['send', '--port', String(port), '1'], '', { HOPWIRE_SECRET: 'right' }),
      ]);
      expect(wrong.code).to.equal(1);
      expect(oneLine(wrong.stderr)).to.match(/^hopwire: ERR_AUTH /);
      expect(fromEnv.code, fromEnv.stderr).to.equal(0);
    });
  });

  describe('listen', () => {
    it('prints what a spawned send sends, and exits 0 on SIGTERM', async () => {
      const { cli, port } = await listen();
      const sent = await run(['send', '--port', String(port), '{"hello":"world","n":[1,2]}']);
      expect(sent.code, sent.stderr).to.equal(0);
      expect(sent.stderr).to.equal('sent 1 message\n');
      await cli.waitFor(/"hello": "world"/, 'stdout');
      const r = await cli.stop('SIGTERM');
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^\d\d:\d\d:\d\d\.\d{3} message from 127\.0\.0\.1:\d+ #\d+\n\{\n {2}"hello": "world",\n {2}"n": \[\n/m);
      expect(r.stderr).to.match(/\+ 127\.0\.0\.1:\d+ #\d+ connected/).and.match(/disconnected: remote-closed/).and.include('closing');
      noColor(r);
    });

    it('shows the type name and sender of what an in-process client sends, and answers with --reply', async () => {
      const { cli, port } = await listen(['--reply', '{"ok":true}']);
      const client = new Client({ port, types: [Widget] });
      defer(() => client.close());
      await client.connect();
      await client.send(new Widget('bolt', new Date(Date.UTC(2024, 4, 1))));
      await client.send({ tags: new Map([['a', 1]]) });
      expect(await client.request({ op: 'anything' })).to.deep.equal({ ok: true });
      await cli.waitFor(/request from/, 'stdout');
      await client.close();
      const r = await cli.stop();
      expect(r.stdout).to.match(/message Widget from 127\.0\.0\.1:\d+ #\d+\n/);
      expect(r.stdout).to.include("name: 'bolt'").and.include('2024-05-01T00:00:00.000Z'); // a Date: shown by inspect
      expect(r.stdout).to.include("Map(1) { 'a' => 1 }");
      expect(r.stdout).to.match(/request from 127\.0\.0\.1:\d+ #\d+\n\{\n {2}"op": "anything"\n\}/);
    });

    it('refuses requests with ERR_NO_HANDLER without --echo or --reply, after printing them', async () => {
      const { cli, port } = await listen();
      const r = await run(['request', '--port', String(port), '"ping"']);
      expect(r.code).to.equal(1);
      expect(oneLine(r.stderr)).to.equal('hopwire: ERR_NO_HANDLER hopwire listen answers requests only with --echo or --reply');
      await cli.waitFor(/request from .*\n"ping"/, 'stdout');
    });

    it('answers a JSON-lines peer (as nc would be) with --echo, and listens on a Unix socket', async () => {
      const path = tempSocketPath();
      const cli = new Cli(['listen', '--path', path, '--echo']);
      await cli.waitFor(/listening on .*s\.sock/);
      const socket = await rawSocket({ path });
      const lines = new LineReader(socket);
      socket.write('{"from":"nc"}\n');
      expect(await lines.json()).to.deep.equal({ from: 'nc' });
      const sent = await run(['send', '--path', path, '[1,2]']);
      expect(sent.code).to.equal(0);
      await cli.waitFor(/message from unix socket #\d+\n\[/, 'stdout');
      expect(cli.stdout).to.match(/message from unix socket #\d+ \(JSON lines\)\n\{\n {2}"from": "nc"\n\}/);
    });

    it('speaks TLS with client certificates (mutual TLS)', async function () {
      if (!haveOpenssl()) this.skip();
      const certs = testCerts();
      const dir = tempDir();
      const file = (name: string, data: Buffer): string => {
        writeFileSync(join(dir, name), data);
        return join(dir, name);
      };
      const [key, cert, ca] = [file('server.key', certs.serverKey), file('server.crt', certs.serverCert), file('ca.crt', certs.ca)];
      const [clientKey, clientCert] = [file('client.key', certs.clientKey), file('client.crt', certs.clientCert)];
      const { cli, port } = await listen(['--tls-key', key, '--tls-cert', cert, '--tls-ca', ca, '--echo']);
      expect(cli.stderr).to.include('(mutual TLS)');
      const p = String(port);
      const [ok, noCert, plain] = await Promise.all([
        run(['request', '--port', p, '--tls-ca', ca, '--tls-cert', clientCert, '--tls-key', clientKey, '{"secure":true}']),
        run(['request', '--port', p, '--tls-ca', ca, '1']),
        run(['request', '--port', p, '1']),
      ]);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(JSON.parse(ok.stdout)).to.deep.equal({ secure: true });
      expect(noCert.code).to.equal(1);
      expect(oneLine(noCert.stderr)).to.match(/^hopwire: ERR_NOT_CONNECTED /);
      expect(plain.code).to.equal(1);
      expect(oneLine(plain.stderr)).to.match(/^hopwire: ERR_NOT_CONNECTED /);
    });
  });

  describe('send and request', () => {
    it('request --echo prints the reply on stdout and the round trip on stderr', async () => {
      const { port } = await listen(['--echo']);
      const r = await run(['request', '--port', String(port), '{"op":"sum","values":[1,2,3]}']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal({ op: 'sum', values: [1, 2, 3] });
      expect(r.stdout).to.include('\n  "op": "sum",\n'); // indented
      expect(oneLine(r.stderr)).to.match(/^round trip \d+\.\d{3} ms$/);
    });

    it("send - sends one message per stdin line, in order, skipping blank lines; --ack waits for the server", async () => {
      const { server, port } = await startServer();
      const got: unknown[] = [];
      server.on('message', (m) => got.push(m));
      const r = await run(['send', '--port', String(port), '-'], '{"n":1}\n\n"two"\r\n[3]\n   \nnull');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.equal('sent 4 messages\n');
      const acked = await run(['send', '--port', String(port), '--ack', '-'], '5\n6\n');
      expect(acked.stderr).to.equal('sent 2 messages, acknowledged\n');
      expect(got).to.deep.equal([{ n: 1 }, 'two', [3], null, 5, 6]);
    });

    it('send - stops at the first invalid line with exit 2, after sending the lines before it', async () => {
      const { server, port } = await startServer();
      const got: unknown[] = [];
      server.on('message', (m) => got.push(m));
      const r = await run(['send', '--port', String(port), '-'], '1\n2\n{oops\n4\n');
      expect(r.code).to.equal(2);
      expect(oneLine(r.stderr)).to.match(/^hopwire: ERR_USAGE stdin line 3 is not valid JSON/);
      expect(got).to.deep.equal([1, 2]);
    });

    it('request - sends one request per stdin line and prints each reply', async () => {
      const { server, port } = await startServer();
      server.handle((req) => ({ got: req }));
      const r = await run(['request', '--port', String(port), '-'], '1\n"two"\ntrue\n');
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(`[${r.stdout.trim().replace(/\n}\n\{/g, '},{')}]`)).to.deep.equal([{ got: 1 }, { got: 'two' }, { got: true }]);
      expect(r.stderr.match(/round trip/g)).to.have.length(3);
    });

    it('send --lines talks JSON lines to a server that is not hopwire', async () => {
      let gotText!: (text: string) => void;
      const received = new Promise<string>((resolve) => (gotText = resolve));
      const { port } = await rawServer((socket) => {
        let text = '';
        socket.setEncoding('utf8').on('data', (s: string) => (text += s));
        socket.on('end', () => {
          gotText(text);
        });
      });
      const r = await run(['send', '--port', String(port), '--lines', '-'], '{"a":1}\n[2]\n');
      expect(r.code, r.stderr).to.equal(0);
      expect(await received).to.equal('{"a":1}\n[2]\n');
    });

    it('exits 143 when SIGTERM interrupts a send waiting on stdin', async () => {
      const { server, port } = await startServer();
      const connected = once(server, 'connect');
      const cli = new Cli(['send', '--port', String(port), '-']);
      await connected;
      const r = await cli.stop('SIGTERM');
      expect(r.code).to.equal(143);
      expect(oneLine(r.stderr)).to.equal('interrupted (SIGTERM)');
    });
  });

  describe('tail', () => {
    it('prints what sendAll broadcasts, and exits after --count messages', async () => {
      const { server, port } = await startServer();
      const connected = once(server, 'connect');
      const cli = new Cli(['tail', '--port', String(port), '--count', '2']);
      await connected;
      expect(await server.sendAll({ news: 'first' })).to.equal(1);
      await server.sendAll(new Widget('nut'));
      const r = await cli.exited;
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^\d\d:\d\d:\d\d\.\d{3} message\n\{\n {2}"news": "first"\n\}\n/);
      expect(r.stdout).to.match(/message Widget\n/).and.include("name: 'nut'");
      expect(r.stderr).to.match(new RegExp(`connected to 127\\.0\\.0\\.1:${port}`));
    });

    it('waits for a server that is not up yet, reconnects after a restart, and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const cli = new Cli(['tail', '--port', String(port)]);
      await cli.waitFor(/waiting for the server: attempt 1/);
      const broadcastOnce = async (news: string): Promise<Server> => {
        const server = new Server({ port });
        defer(() => server.close());
        const connected = once(server, 'connect') as Promise<[Session]>;
        await server.listen();
        await connected;
        await server.sendAll({ news });
        await cli.waitFor(new RegExp(`"news": "${news}"`), 'stdout');
        return server;
      };
      const first = await broadcastOnce('before the restart');
      await first.close();
      await cli.waitFor(/disconnected: remote-closed/);
      await broadcastOnce('after the restart');
      expect(cli.stderr).to.match(/reconnecting: attempt 1 in \d+ ms/);
      const r = await cli.stop('SIGTERM');
      expect(r.code).to.equal(0);
      expect(r.stdout.indexOf('before the restart')).to.be.lessThan(r.stdout.indexOf('after the restart'));
    });

    it('exits 1 with ERR_AUTH when the server refuses its secret', async () => {
      const { port } = await startServer({ secret: 'right' });
      const r = await run(['tail', '--port', String(port), '--secret', 'wrong']);
      expect(r.code).to.equal(1);
      expect(oneLine(r.stderr.replace(/^(?!hopwire:).*\n/gm, ''))).to.match(/^hopwire: ERR_AUTH /);
    });
  });

  describe('bench', () => {
    it('measures messages per second and round-trip percentiles against its own server', async () => {
      const r = await run(['bench', '--messages', '2000', '--requests', '100']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^server {5}in this process, 127\.0\.0\.1:\d+/m);
      expect(r.stdout).to.match(/^messages {3}2,000 × ~\d+ B in \d+\.\d ms: [\d,]+ msgs\/s$/m);
      expect(r.stdout).to.match(/^requests {3}100 one after another: p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms, [\d,]+ req\/s$/m);
    });

    it('runs against an outside server that echoes, and says so when it does not answer requests', async () => {
      const { server, port } = await startServer();
      let count = 0;
      server.on('message', () => count++);
      const r = await run(['bench', '--port', String(port), '--messages', '300', '--requests', '5']);
      expect(r.code).to.equal(1);
      expect(count).to.equal(300);
      expect(r.stdout).to.match(/msgs\/s/);
      expect(oneLine(r.stderr)).to.equal("hopwire: ERR_NO_HANDLER the server does not answer requests (start it with 'hopwire listen --echo')");
      server.handle((x) => x);
      const ok = await run(['bench', '--port', String(port), '--messages', '300', '--requests', '5']);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/p50 .* p99/);
    });
  });
});
