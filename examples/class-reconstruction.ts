/**
 * Class reconstruction: a `Widget` holding a `Date`, a `Map` of `Part`
 * instances, a `Set` and a `Money` value goes from a client to a server and
 * comes out a real `Widget`, methods and all, at every depth.
 *
 * - `Widget` and `Part` are registered as they are: their own enumerable
 *   properties travel, and the receiver rebuilds them on the class's
 *   prototype without calling the constructor.
 * - `Money` keeps its amount in a private field, which is not an own
 *   property, so it registers `toWire`/`fromWire` hooks under the wire name
 *   `shop.Money`.
 * - A `Gadget` the server did not register arrives as a plain object, with
 *   its name in `ctx.type` (or in `ctx.unknownTypes` when it is nested).
 *
 * Run: npx tsx examples/class-reconstruction.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { Client, Server, type TypeSpec } from '../src/index.js';

class Part {
  constructor(
    public sku = '',
    public qty = 0,
  ) {}

  label(): string {
    return `${this.qty}× ${this.sku}`;
  }
}

class Money {
  readonly #cents: bigint;

  constructor(
    cents: bigint,
    readonly currency: string,
  ) {
    this.#cents = cents;
  }

  get cents(): bigint {
    return this.#cents;
  }

  toString(): string {
    const abs = this.#cents < 0n ? -this.#cents : this.#cents;
    return `${this.#cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')} ${this.currency}`;
  }
}

class Widget {
  constructor(
    public name = '',
    public made = new Date(0),
    public parts = new Map<string, Part>(),
    public tags = new Set<string>(),
    public price = new Money(0n, 'EUR'),
  ) {}

  partCount(): number {
    let n = 0;
    for (const part of this.parts.values()) n += part.qty;
    return n;
  }
}

/** Registered on neither side: its class name still travels. */
class Gadget {
  constructor(
    public label = '',
    public inner = new Part('spring', 1),
  ) {}
}

// Both ends register the same classes (a Money travels as [cents, currency]).
const types: TypeSpec[] = [
  Widget,
  Part,
  [
    Money,
    {
      name: 'shop.Money',
      toWire: (m: Money) => [m.cents, m.currency],
      fromWire: (data: unknown) => {
        const [cents, currency] = data as [bigint, string];
        return new Money(cents, currency);
      },
    },
  ],
];

const server = new Server({ port: 0, types });
server.on('message', (message, ctx) => {
  if (message instanceof Widget) {
    const w = message;
    const bolt = w.parts.get('bolt');
    console.log(`[server] got a ${ctx.type}: instanceof Widget ${w instanceof Widget}`);
    console.log(`[server]   made instanceof Date: ${w.made instanceof Date} (${w.made.toISOString().slice(0, 10)})`);
    console.log(`[server]   parts instanceof Map: ${w.parts instanceof Map}, parts.get('bolt') instanceof Part: ${bolt instanceof Part} → ${bolt?.label() ?? '?'}`);
    console.log(`[server]   tags instanceof Set: ${w.tags instanceof Set} (${[...w.tags].join(', ')})`);
    console.log(`[server]   price instanceof Money: ${w.price instanceof Money} → ${String(w.price)} (rebuilt by fromWire)`);
    console.log(`[server]   w.partCount() = ${w.partCount()}`);
  } else if (ctx.type === 'Gadget') {
    const { inner } = message as { inner: unknown };
    console.log(`[server] got a Gadget, which it has not registered: known ${ctx.known}, plain object ${Object.getPrototypeOf(message) === Object.prototype}`);
    console.log(`[server]   its inner Part is registered, so it is rebuilt: instanceof Part ${inner instanceof Part}`);
  } else {
    console.log(`[server] got ${JSON.stringify(message)}: unregistered types inside: ${ctx.unknownTypes.join(', ')}`);
  }
});
server.handle((request) => {
  const { name } = request as { name: string };
  // the reply is a Widget too: it is rebuilt on the client
  return new Widget(name, new Date(Date.UTC(2024, 0, 2)), new Map([['pin', new Part('pin', 3)]]), new Set(['fresh']), new Money(1999n, 'EUR'));
});
const { port } = await server.listen();

const client = new Client({ port, types });
await client.connect();

const widget = new Widget(
  'gearbox',
  new Date(Date.UTC(2024, 4, 1)),
  new Map([
    ['bolt', new Part('bolt', 4)],
    ['nut', new Part('nut', 2)],
  ]),
  new Set(['steel', 'heavy']),
  new Money(1250n, 'EUR'),
);
await client.send(widget);
await client.send(new Gadget('clicker'));
await client.send({ box: new Gadget('rattle') });

// Replies are rebuilt the same way.
const reply = await client.request({ name: 'sprocket' });
if (reply instanceof Widget) {
  const pin = reply.parts.get('pin');
  console.log(`[client] the reply is a Widget: ${reply instanceof Widget}, price ${String(reply.price)}, pin instanceof Part: ${pin instanceof Part}`);
}

await client.close();
await server.close();
console.log('[done] everything closed');
