/**
 * Migrating from sockhop 1.x, one program at a time: a hopwire server with
 * `envelope: 'sockhop'` serves an unchanged sockhop 1.8.4 client.
 *
 * The sockhop client sends a `Widget` (the server, which registered
 * `Widget`, gets a real one), sends with a callback (answered by the
 * server's `handle()`), and receives a `server.sendAll()` broadcast as a
 * sockhop `receive` event with `meta.type`. See
 * docs/migrating-from-sockhop.md for the whole mapping.
 *
 * Run: npx tsx examples/sockhop-migration.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Server } from '../src/index.js';

const require = createRequire(import.meta.url);

// sockhop 1.x ships no type definitions: these describe the parts used here.
interface SockhopMeta {
  type: string;
}
interface SockhopClient {
  /** The reconnect timer sockhop 1.8 starts in its constructor and never clears. */
  _auto_reconnect_timer: NodeJS.Timeout;
  connect(): Promise<unknown>;
  disconnect(): Promise<void>;
  send(o: unknown, callback?: (data: unknown, meta: SockhopMeta) => void): Promise<void>;
  on(event: 'receive', listener: (data: unknown, meta: SockhopMeta) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
const sockhop = require('sockhop') as { client: new (opts: { port: number; address: string; connect_timeout?: number }) => SockhopClient };

/** The class both programs share; sockhop sends its name as `type`. */
class Widget {
  constructor(
    public name = '',
    public price = 0,
  ) {}
  total(n: number): number {
    return n * this.price;
  }
}

// ── the hopwire server: it replaced a sockhop server, the clients stay as they are ──
const server = new Server({ port: 0, envelope: 'sockhop', types: [Widget] });
server.on('connect', (session) => {
  console.log(`[server]  session #${session.id} connected (protocol '${session.protocol ?? '?'}')`);
});
server.on('message', (message, ctx) => {
  if (message instanceof Widget) {
    console.log(`[server]  got a ${ctx.type}: instanceof Widget ${message instanceof Widget}, total(3) = ${message.total(3)}`);
  } else {
    console.log(`[server]  got ${JSON.stringify(message)} (type '${ctx.type}')`);
  }
});
// Answers sockhop's `send(obj, callback)`: the return value reaches the callback.
server.handle((request) => {
  const { values } = request as { values: number[] };
  const sum = values.reduce((a, b) => a + b, 0);
  console.log(`[server]  handle(${JSON.stringify(request)}) → sum ${sum}`);
  return { sum };
});
const { port = 0 } = await server.listen();
console.log(`[server]  listening on port ${port} with envelope 'sockhop'`);

// ── the sockhop 1.8.4 client, unchanged ──
// connect() also starts a timer it never clears (connect_timeout, 5 s by default),
// which holds the process open until it fires: keep it short on a local socket.
const client = new sockhop.client({ port, address: '127.0.0.1', connect_timeout: 1000 });
client.on('error', (err) => {
  console.log(`[sockhop] error: ${err.message}`);
});
const broadcast = new Promise<[unknown, SockhopMeta]>((resolve) => {
  client.on('receive', (data, meta) => {
    resolve([data, meta]);
  });
});
await client.connect();
console.log('[sockhop] connected');

// 1. a plain send: a Widget
const arrived = once(server, 'message');
console.log("[sockhop] send(new Widget('bolt', 2))");
await client.send(new Widget('bolt', 2));
await arrived;

// 2. a send with a callback, answered by server.handle()
const [reply, replyMeta] = await new Promise<[unknown, SockhopMeta]>((resolve) => {
  void client.send({ values: [1, 2, 3, 4] }, (data, meta) => {
    resolve([data, meta]);
  });
});
console.log(`[sockhop] callback got ${JSON.stringify(reply)} (meta.type '${replyMeta.type}')`);

// 3. a broadcast from the server
const written = await server.sendAll(new Widget('nut', 0.25));
console.log(`[server]  sendAll(new Widget('nut', 0.25)) written to ${written} session(s)`);
const [data, meta] = await broadcast;
console.log(`[sockhop] receive ${JSON.stringify(data)} (meta.type '${meta.type}')`);

// sockhop's disconnect() leaves its reconnect interval running: clear it, or the
// process never exits. (The connect timer above ends by itself after 1 s.)
clearInterval(client._auto_reconnect_timer);
await client.disconnect();
console.log('[sockhop] disconnected');
await server.close();
console.log('[server]  closed; the process exits by itself');
