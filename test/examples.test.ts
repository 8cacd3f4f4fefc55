/**
 * Every program in `examples/` runs to its end by itself, exits 0 and says
 * what it is meant to show. Each gets a deadline; a hung one is killed.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { haveOpenssl } from './support/certs.js';
import { NATS_SERVER, startNats } from './support/nats.js';

const ROOT = join(import.meta.dirname, '..');
const DEADLINE_MS = 20_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function runExample(name: string, env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', name)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_DEBUG: undefined, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(deadline);
  return { code, signal, stdout, stderr };
}

/** Runs an example and checks it exited 0 by itself, printing nothing on stderr. */
async function ok(name: string, env?: Record<string, string>): Promise<string> {
  const r = await runExample(name, env);
  expect(r.signal, `${name} was killed at its deadline; stdout: ${r.stdout}`).to.equal(null);
  expect(r.code, `${name} exited ${String(r.code)}; stderr: ${r.stderr}`).to.equal(0);
  expect(r.stderr).to.equal('');
  return r.stdout;
}

describe('examples', function () {
  this.timeout(DEADLINE_MS + 5_000);

  it('chat.ts: three clients each hear every line broadcast with sendAll', async () => {
    const out = await ok('chat.ts');
    for (const who of ['alice', 'bob', 'carol']) {
      for (const line of ['alice: hello, everyone', 'bob: hi alice!', 'carol: good morning']) {
        expect(out).to.match(new RegExp(`^\\[${who}\\] heard \\d\\d:\\d\\d:\\d\\d ${line} \\(a real ChatLine: true, at is a Date: true\\)$`, 'm'));
      }
    }
    expect(out).to.match(/said "hello, everyone": passed on to 3 clients/);
    expect(out).to.include('[server] closed; everyone heard all 3 lines');
  });

  it('worker-pool.ts: worker processes answer the dispatcher’s requests, and a failing job is a remote error', async () => {
    const out = await ok('worker-pool.ts');
    for (const w of ['w1', 'w2', 'w3']) expect(out).to.match(new RegExp(`^\\[dispatcher\\] ${w} is ready \\(pid \\d+\\)$`, 'm'));
    expect(out).to.match(/^\[dispatcher\] 600851475143 = 71 × 839 × 1471 × 6857 \(by w\d\)$/m);
    expect(out).to.match(/^\[dispatcher\] 1000003007000021 = 1000003 × 1000000007 \(by w\d\)$/m);
    expect(out).to.match(/^\[dispatcher\] job -1 failed on w\d: ERR_REMOTE w\d cannot factor -1 \(remote code E_BAD_NUMBER\)$/m);
    expect(out).to.match(/^\[dispatcher\] all jobs answered in \d+ ms; per worker: /m);
    expect(out).to.include('[dispatcher] every worker exited (codes 0, 0, 0)');
  });

  it('class-reconstruction.ts: a Widget with a Date, a Map of Parts, a Set and a Money comes out whole', async () => {
    const out = await ok('class-reconstruction.ts');
    expect(out).to.include('[server] got a Widget: instanceof Widget true');
    expect(out).to.include('[server]   made instanceof Date: true (2024-05-01)');
    expect(out).to.include("parts.get('bolt') instanceof Part: true → 4× bolt");
    expect(out).to.include('[server]   tags instanceof Set: true (steel, heavy)');
    expect(out).to.include('[server]   price instanceof Money: true → 12.50 EUR (rebuilt by fromWire)');
    expect(out).to.include('[server]   w.partCount() = 6');
    expect(out).to.include('[server] got a Gadget, which it has not registered: known false, plain object true');
    expect(out).to.include('unregistered types inside: Gadget');
    expect(out).to.include('[client] the reply is a Widget: true, price 19.99 EUR, pin instanceof Part: true');
  });

  it('raw-clients.ts: a plain socket (and Python, if installed) speak JSON lines with a hopwire server', async () => {
    const out = await ok('raw-clients.ts');
    expect(out).to.include('[net]    <- {"ok":true,"youSent":{"hello":"from a plain socket","n":42}}');
    expect(out).to.match(/^\[net\] {4}<- \{"error":"cannot decode a JSON line: .*","code":"ERR_DECODE"\}/m);
    expect(out).to.include('[net]    <- {"news":"broadcasts reach lines peers too"}');
    expect(out).to.match(/^\[python\] (<- \{"ok":true,"youSent":\{"hello":"from python","pi":3\.14\}\}|python3 is not installed: skipped)$/m);
    expect(out).to.include(`[client] protocol 'lines' to a plain server: got {"SHOUT":"quietly","FROM":"hopwire client"}`);
  });

  it('tls.ts: mutual TLS with certificates made by openssl at run time', async () => {
    const out = await ok('tls.ts');
    if (!haveOpenssl()) {
      expect(out).to.include('skipped');
      return;
    }
    expect(out).to.include('[client with certificate] reply: {"youSent":{"hello":"over TLS"},"over":"mutual TLS"}');
    expect(out).to.match(/^\[client without certificate\] refused: ERR_NOT_CONNECTED /m);
    expect(out).to.match(/^\[client not trusting the CA\] refused: ERR_NOT_CONNECTED .*certificate/m);
    expect(out).to.include('[done] temporary certificates removed');
  });

  it('acked-delivery.ts: acknowledged messages all arrive across a server restart', async () => {
    const out = await ok('acked-delivery.ts');
    expect(out).to.include('[server 1] got #3, and goes down before acknowledging it');
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(out).to.include(`[client]   #${n} acknowledged`);
    expect(out).to.match(/^\[client\] {3}reconnecting: attempt 1 in \d+ ms$/m);
    expect(out).to.include('[client]   all 7 acknowledged; still waiting for an ACK: 0');
    expect(out).to.match(/^\[summary\] {2}server 1 handled #1 #2 #3; server 2 handled #3 #4 #5 #6 #7$/m);
    expect(out).to.include('[summary]  every message arrived: true');
  });

  it('sockhop-migration.ts: a hopwire server with the sockhop envelope serves a real sockhop 1.8.4 client', async () => {
    const out = await ok('sockhop-migration.ts');
    expect(out).to.match(/^\[server\] {2}listening on port \d+ with envelope 'sockhop'$/m);
    expect(out).to.include("[server]  session #1 connected (protocol 'lines')");
    expect(out).to.include('[server]  got a Widget: instanceof Widget true, total(3) = 6');
    expect(out).to.include('[server]  handle({"values":[1,2,3,4]}) → sum 10');
    expect(out).to.include(`[sockhop] callback got {"sum":10} (meta.type 'Object')`);
    expect(out).to.include("[server]  sendAll(new Widget('nut', 0.25)) written to 1 session(s)");
    expect(out).to.include(`[sockhop] receive {"name":"nut","price":0.25} (meta.type 'Widget')`);
    expect(out).to.include('[server]  closed; the process exits by itself');
  });

  it('routing-and-proxies.ts: handle(Order, fn), a catch-all, onMessage(Refund, fn), and a typed proxy', async () => {
    const out = await ok('routing-and-proxies.ts');
    expect(out).to.include("[server] handle(Order): 4× bolt, a real Order: true (type 'Order')");
    expect(out).to.include(`[client] request(new Order('bolt', 4, 3)) → {"receipt":12}`);
    expect(out).to.include(`[server] catch-all: type 'Refund', {"order":"nut","amount":2}`);
    expect(out).to.include(`[client] request({ ping: 1 }) → {"handledBy":"catch-all","type":""}`);
    expect(out).to.include('[server] onMessage(Refund): 12 back for bolt (session #');
    expect(out.match(/onMessage\(Refund\)/g)).to.have.length(1);
    expect(out).to.include('[client] api.add(2, 3) → 5');
    expect(out).to.include("[client] api.describe(new Order('nut', 10, 0.5)) → 10× nut at 0.5 = 5 (argument rebuilt as an Order: true)");
    expect(out).to.match(/^\[client\] api\.multiply\(6, 7\) rejected: ERR_NO_METHOD /m);
    expect(out).to.include('[done] everything closed');
  });

  it('callbacks.ts: progress callbacks in a request, a callback in a server → client request, released functions', async () => {
    const out = await ok('callbacks.ts');
    for (const n of [1, 2, 3, 4]) {
      expect(out).to.match(new RegExp(`^\\[client\\] progress ${n}/4 [#.]{4}$`, 'm'));
      expect(out).to.include(`[server]   onProgress(${n}, 4) returned 'seen ${n}'`);
    }
    expect(out).to.include('[client] import finished: {"file":"big.csv","rows":4000}');
    for (const file of ['/data/a.txt (120 bytes)', '/data/b.png (48213 bytes)', '/data/c.json (977 bytes)']) {
      expect(out).to.include(`[server] the client found ${file}`);
    }
    expect(out).to.include('[server] the client listed 3 files');
    expect(out).to.include('[client] asks the server to call the old onProgress → progress: ERR_RELEASED');
    expect(out).to.include('[client] alert: disk 91% full');
    expect(out).to.include('[client] asks the server to call the alert → alert: called');
    expect(out).to.include('[client] release(alert) → true');
    expect(out).to.include('[client] asks the server to call the alert → alert: ERR_RELEASED');
  });

  it('nats.ts: two servers share the orders over NATS, sendAll and session.send reach the client, no responders is ERR_NO_HANDLER', async function () {
    if (NATS_SERVER === undefined) {
      console.log('      (skipped: nats-server is not installed; apt-get install -y nats-server)');
      this.skip();
    }
    const nats = await startNats();
    try {
      const out = await ok('nats.ts', { NATS_URL: nats.url });
      expect(out).to.include('[servers] east and west joined the queue group of "orders"');
      expect(out).to.match(/^\[client\] 20 orders sent, 20 real Receipts back, answered by (both servers|one server)$/m);
      expect(out).to.include('[client] price update from sendAll: bolt 0.25 (a real PriceUpdate: true)');
      expect(out).to.include('[client] a message to this client alone: welcome, from west only');
      expect(out).to.include('[client] a request no server is subscribed to: ERR_NO_HANDLER');
      expect(out).to.include('[all] closed');
    } finally {
      await nats.kill();
    }
  });

  it('udp.ts: readings in datagrams arrive as real Readings; sendAll reaches every sensor; too large and requests are refused', async () => {
    const out = await ok('udp.ts');
    expect(out).to.match(/^\[collector\] listening on udp:\/\/127\.0\.0\.1:\d+, datagrams up to 1200 bytes$/m);
    for (const [name, line] of [
      ['north', '18 °C = 64 °F'],
      ['south', '20.5 °C = 69 °F'],
      ['east', '23 °C = 73 °F'],
    ]) {
      expect(out).to.include(`[collector] ${name}: ${line}, a real Reading: true, 4 raw samples`);
      expect(out).to.include(`[${name}] the collector answered: {"ok":"${name}"}`);
      expect(out).to.include(`[${name}] broadcast: {"alert":"frost expected tonight"}`);
    }
    expect(out.match(/^\[collector\] new sensor at 127\.0\.0\.1:\d+ \(session #\d+\)$/gm)).to.have.length(3);
    expect(out).to.include('[collector] sendAll reached 3 sensors');
    expect(out).to.include('[north] a reading with 2000 samples: ERR_DATAGRAM_TOO_LARGE (nothing was sent)');
    expect(out).to.include('[north] request(): ERR_UNSUPPORTED');
    expect(out).to.include('[collector] stats: 3 messages in, 3 sessions, 0 datagrams dropped');
    expect(out).to.include('[done] everything closed');
  });

  it('msgpack.ts: the msgpack client talks MessagePack, the JSON client JSON, to one server; values arrive whole either way', async () => {
    const out = await ok('msgpack.ts');
    expect(out).to.include("[msgpack client] connected: payloadFormat 'msgpack'");
    expect(out).to.include("[json client] connected: payloadFormat 'json'");
    expect(out).to.match(/^\[server\] session #\d+ connected: payloadFormat 'msgpack'$/m);
    expect(out).to.match(/^\[server\] session #\d+ connected: payloadFormat 'json'$/m);
    expect(out).to.match(/^\[wire\] {3}a Trade frame with a MessagePack payload of \d+ bytes$/m);
    expect(out).to.match(/^\[wire\] {3}a Trade frame with a JSON payload of \d+ bytes$/m);
    for (const symbol of ['ACME', 'INIT']) {
      expect(out).to.match(new RegExp(`^\\[server\\] from session #\\d+: 12345678901234567890 × ${symbol} at 2024-05-01, a real Trade: true, memo "${symbol} memo"$`, 'm'));
    }
    for (const who of ['msgpack client', 'json client']) {
      expect(out).to.include(`[${who}] reply: accepted BOLT, value 24691357802469135780 (a bigint: true)`);
      expect(out).to.include(`[${who}] broadcast: 12345678901234567890 × NEWS at 2024-05-01, a real Trade: true`);
    }
    expect(out).to.include('[server] sendAll reached 2 sessions');
    expect(out).to.include('[done] everything closed');
  });

  it('several-servers.ts: round-robin over three servers, and over the other two once one closes', async () => {
    const out = await ok('several-servers.ts');
    for (const s of ['A', 'B', 'C']) expect(out).to.match(new RegExp(`^\\[client\\] {3}connected to server ${s} \\(port \\d+\\)$`, 'm'));
    const answered = (n: number): string | undefined => new RegExp(`^\\[client\\] {3}request #${n} answered by server ([ABC])$`, 'm').exec(out)?.[1];
    const first = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(answered);
    expect(first).to.deep.equal(['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C']);
    expect(out).to.include('[summary]  requests #1-#9 per server: A 3, B 3, C 3');
    expect(out).to.match(/^\[client\] {3}disconnected from server B \(port \d+\): remote-closed$/m);
    const after = [10, 11, 12, 13, 14, 15].map(answered);
    expect(after).to.have.length(6);
    for (const who of after) expect(who).to.be.oneOf(['A', 'C']);
    expect(out).to.include('[summary]  requests #10-#15 per server: A 3, C 3');
    expect(out).to.include('[done] the client and the servers are closed');
  });
});
