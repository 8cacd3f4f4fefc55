/**
 * Routing by type, and calling methods through a proxy.
 *
 * The server answers requests by their class instead of one big `switch`:
 *
 * - `handle(Order, fn)`: requests that are an `Order`, typed as `Order`;
 * - `handle(fn)`: the catch-all, for every other request (plain values too);
 * - `onMessage(Refund, fn)`: messages that are a `Refund` (the `message`
 *   event still sees every message);
 * - `expose({ add, describe })`: methods the client calls through
 *   `client.proxy<Api>()`. A method the server does not expose rejects with
 *   `ERR_NO_METHOD`, even though `Api` declares it and a catch-all exists:
 *   proxy calls never reach request handlers.
 *
 * Run: npx tsx examples/routing-and-proxies.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { Client, HopwireError, Server } from '../src/index.js';

class Order {
  constructor(
    public item = '',
    public qty = 0,
    public price = 0,
  ) {}

  total(): number {
    return this.qty * this.price;
  }
}

class Refund {
  constructor(
    public order = '',
    public amount = 0,
  ) {}
}

// Both ends register the classes, so they arrive as real instances.
const types = [Order, Refund];

const server = new Server({ port: 0, types });

// requests that are an Order: `order` is typed Order, and it is a real one
server.handle(Order, (order, ctx) => {
  console.log(`[server] handle(Order): ${order.qty}× ${order.item}, a real Order: ${order instanceof Order} (type '${ctx.type}')`);
  return { receipt: order.total() };
});

// every other request
server.handle((request, ctx) => {
  console.log(`[server] catch-all: type '${ctx.type}', ${JSON.stringify(request)}`);
  return { handledBy: 'catch-all', type: ctx.type };
});

// messages that are a Refund; the 'message' event below sees them all
server.onMessage(Refund, (refund, ctx) => {
  console.log(`[server] onMessage(Refund): ${refund.amount} back for ${refund.order} (session #${ctx.session.id})`);
});
server.on('message', (_message, ctx) => {
  console.log(`[server] message event: type '${ctx.type}'`);
});

// the methods a client may call: only own function properties are callable
server.expose({
  add: (a: number, b: number) => a + b,
  describe(order: Order) {
    return `${order.qty}× ${order.item} at ${order.price} = ${order.total()} (argument rebuilt as an Order: ${order instanceof Order})`;
  },
});

const { port } = await server.listen();
console.log(`[server] listening on port ${port}`);

const client = new Client({ port, types });
await client.connect();

// ---- requests, routed by type ----
const receipt = await client.request(new Order('bolt', 4, 3));
console.log(`[client] request(new Order('bolt', 4, 3)) → ${JSON.stringify(receipt)}`);
const other = await client.request(new Refund('nut', 2));
console.log(`[client] request(new Refund('nut', 2)) → ${JSON.stringify(other)}`);
const plain = await client.request({ ping: 1 });
console.log(`[client] request({ ping: 1 }) → ${JSON.stringify(plain)}`);

// ---- messages: { ack: true } resolves once the server's listeners have run ----
await client.send(new Refund('bolt', 12), { ack: true });
console.log("[client] send(new Refund('bolt', 12)) acknowledged");
await client.send({ note: 'not a Refund' }, { ack: true });
console.log('[client] send({ note }) acknowledged (the Refund listener did not see it)');

// ---- calling methods through a typed proxy ----
interface Api {
  add(a: number, b: number): number;
  describe(order: Order): string;
  /** Declared here, but the server does not expose it. */
  multiply(a: number, b: number): number;
}
const api = client.proxy<Api>({ timeout: 2000 });
console.log(`[client] api.add(2, 3) → ${await api.add(2, 3)}`);
console.log(`[client] api.describe(new Order('nut', 10, 0.5)) → ${await api.describe(new Order('nut', 10, 0.5))}`);
try {
  await api.multiply(6, 7);
  console.log('[client] api.multiply(6, 7) answered: unexpected');
} catch (err) {
  const e = err as HopwireError;
  console.log(`[client] api.multiply(6, 7) rejected: ${e.code} (${e.message})`);
}

await client.close();
await server.close();
console.log('[done] everything closed');
