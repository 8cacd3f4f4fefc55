/**
 * An order service on a NATS cluster: two server processes' worth of
 * `Server`s share the requests (a NATS queue group), a client sends orders
 * and gets real `Receipt`s back, one `sendAll()` reaches every client, and
 * `session.send()` reaches one.
 *
 * - Requests are load-balanced over every server subscribed to the subject.
 * - Class instances travel as over TCP (the frames are the NATS payloads).
 * - With no server subscribed, `request()` fails at once with
 *   `ERR_NO_HANDLER` (NATS' "no responders").
 *
 * Needs a NATS server (`apt-get install nats-server`, then `nats-server`)
 * and the NATS client (`npm install @nats-io/transport-node`). See
 * docs/scaling.md.
 *
 * Run: NATS_URL=nats://127.0.0.1:4222 npx tsx examples/nats.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { once } from 'node:events';
import { Client, isHopwireError, Server } from '../src/index.js';

class Order {
  constructor(
    public item = '',
    public qty = 0,
  ) {}
}

class Receipt {
  constructor(
    public item = '',
    public qty = 0,
    public by = '',
  ) {}
}

class PriceUpdate {
  constructor(
    public item = '',
    public price = 0,
  ) {}
}

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const types = [Order, Receipt, PriceUpdate];

const servers = ['east', 'west'].map((name) => {
  const server = new Server({ nats: { servers: url }, subject: 'orders', types });
  server.handle(Order, (order) => new Receipt(order.item, order.qty, name));
  return server;
});
await Promise.all(servers.map((s) => s.listen()));
console.log('[servers] east and west joined the queue group of "orders"');

const west = servers[1] as Server;
const welcomed = once(west, 'connect');
const client = new Client({ nats: { servers: url }, subject: 'orders', types });
const priced = new Promise<PriceUpdate>((resolve) => client.onMessage(PriceUpdate, resolve));
await client.connect();

const answeredBy = new Set<string>();
let receipts = 0;
for (let i = 1; i <= 20; i++) {
  const receipt = await client.request(new Order('bolt', i), { timeout: 2000 });
  if (receipt instanceof Receipt && receipt.qty === i) receipts++;
  answeredBy.add((receipt as Receipt).by);
}
console.log(`[client] 20 orders sent, ${receipts} real Receipts back, answered by ${answeredBy.size === 2 ? 'both servers' : 'one server'}`);

await servers[0]?.sendAll(new PriceUpdate('bolt', 0.25));
const update = await priced;
console.log(`[client] price update from sendAll: ${update.item} ${update.price} (a real PriceUpdate: ${String(update instanceof PriceUpdate)})`);

const greeted = once(client, 'message');
const [session] = (await welcomed) as [{ send(v: unknown): Promise<void> }];
await session.send('welcome, from west only');
console.log(`[client] a message to this client alone: ${String((await greeted)[0])}`);

const lonely = new Client({ nats: { servers: url }, subject: 'nobody-here' });
await lonely.connect();
try {
  await lonely.request('anyone?', { timeout: 2000 });
} catch (err) {
  if (isHopwireError(err)) console.log(`[client] a request no server is subscribed to: ${err.code}`);
}

await Promise.all([client.close(), lonely.close(), ...servers.map((s) => s.close())]);
console.log('[all] closed');
