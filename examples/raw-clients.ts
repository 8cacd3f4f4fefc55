/**
 * Programs that don't use hopwire: one JSON value per line.
 *
 * 1. A plain `net` socket (what `nc` does) talks to a hopwire server: the
 *    server sees it is not a hopwire peer from its first byte, answers its
 *    lines with `ctx.reply()`, answers an invalid line with an error line,
 *    and includes it in `sendAll()` broadcasts.
 * 2. If `python3` is installed, a Python one-liner does the same.
 * 3. The other way round: a hopwire `Client` with `protocol: 'lines'` talks
 *    to a plain server that is not hopwire.
 *
 * Run: npx tsx examples/raw-clients.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type Socket, connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client, Server, type TcpAddress } from '../src/index.js';

const server = new Server({ port: 0 });
server.on('connect', (session) => {
  console.log(`[server] session #${session.id} connected, speaking ${session.protocol ?? '?'}`);
});
server.on('message', (message, ctx) => {
  console.log(`[server] session #${ctx.session.id} sent ${JSON.stringify(message)} (protocol '${ctx.protocol}')`);
  void ctx.reply({ ok: true, youSent: message });
});
const { port } = (await server.listen()) as TcpAddress;

// ---- 1. a plain socket, as nc would be -------------------------------------

/** Reads a socket line by line. */
function lineReader(socket: Socket): () => Promise<string> {
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return async () => {
    const next = await lines.next();
    return next.done === true ? '(closed)' : next.value;
  };
}

const socket = connect({ port, host: '127.0.0.1' });
await once(socket, 'connect');
const readLine = lineReader(socket);

socket.write('{"hello":"from a plain socket","n":42}\n');
console.log(`[net]    <- ${await readLine()}`);

socket.write('{"this is": not json}\n');
console.log(`[net]    <- ${await readLine()}   (an invalid line gets an error line; the session stays open)`);

const n = await server.sendAll({ news: 'broadcasts reach lines peers too' });
console.log(`[server] sendAll reached ${n} session(s)`);
console.log(`[net]    <- ${await readLine()}`);
socket.end();
await once(socket, 'close');

// ---- 2. Python, if there is one ------------------------------------------------

const PYTHON = [
  'import json, socket, sys',
  's = socket.create_connection(("127.0.0.1", int(sys.argv[1])))',
  'f = s.makefile("rw")',
  'f.write(json.dumps({"hello": "from python", "pi": 3.14}) + "\\n"); f.flush()',
  'print(f.readline().strip())',
].join('; ');

try {
  const { stdout } = await promisify(execFile)('python3', ['-c', PYTHON, String(port)], { timeout: 10_000 });
  console.log(`[python] <- ${stdout.trim()}`);
} catch (err) {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') console.log('[python] python3 is not installed: skipped');
  else throw err;
}
await server.close();

// ---- 3. a hopwire client speaking lines to a server that is not hopwire ----------

// A plain line server: answers each line with the line's JSON, upper-cased keys.
const plain = createServer((peer) => {
  const lines = createInterface({ input: peer });
  lines.on('line', (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    peer.write(`${JSON.stringify(Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toUpperCase(), v])))}\n`);
  });
});
plain.listen(0, '127.0.0.1');
await once(plain, 'listening');
const address = plain.address();
const plainPort = typeof address === 'object' && address !== null ? address.port : 0;

const client = new Client({ port: plainPort, protocol: 'lines', reconnect: false });
await client.connect();
const answer = new Promise<unknown>((resolve) => client.once('message', resolve));
await client.send({ shout: 'quietly', from: 'hopwire client' });
console.log(`[client] protocol 'lines' to a plain server: got ${JSON.stringify(await answer)}`);
await client.close();
plain.close();
await once(plain, 'close');
console.log('[done] everything closed');
