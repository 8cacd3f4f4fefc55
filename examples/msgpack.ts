/**
 * MessagePack payloads (`codec: 'msgpack'`): a server that offers them,
 * a client that asks for them too, and an older client that does not.
 *
 * - The format is agreed in the hello: the msgpack client's connection
 *   carries MessagePack, the JSON client's stays JSON, on the same server
 *   (`session.payloadFormat`, `client.payloadFormat`).
 * - Values arrive the same either way: a `Trade` comes back as a real
 *   `Trade`, with its `Date`, `BigInt` and `Buffer`.
 * - `sendAll()` encodes the broadcast once per format and reaches both.
 * - The `hopwire:frame` diagnostics channel shows the payload bytes of each
 *   frame the server receives.
 *
 * Needs the optional msgpackr package (`npm install msgpackr`); see docs/codecs.md.
 *
 * Run: npx tsx examples/msgpack.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { subscribe } from 'node:diagnostics_channel';
import { Client, type Frame, FrameFlags, FrameKind, Server } from '../src/index.js';

class Trade {
  constructor(
    public symbol = '',
    public quantity = 0n,
    public at = new Date(0),
    public memo = Buffer.alloc(0),
  ) {}

  describe(): string {
    return `${this.quantity.toString()} × ${this.symbol} at ${this.at.toISOString().slice(0, 10)}`;
  }
}

const types = [Trade];

// Print the size of the payload of every MESSAGE or REQUEST the server receives.
let watching = true;
subscribe('hopwire:frame', (msg) => {
  const { frame } = msg as { frame: Frame };
  if (!watching || (frame.kind !== FrameKind.MESSAGE && frame.kind !== FrameKind.REQUEST)) return;
  const format = (frame.flags & FrameFlags.MSGPACK) !== 0 ? 'MessagePack' : 'JSON';
  console.log(`[wire]   a ${frame.type === '' ? 'plain' : frame.type} frame with a ${format} payload of ${frame.payload.length} bytes`);
});

const server = new Server({ port: 0, types, codec: 'msgpack' });
server.on('connect', (session) => {
  console.log(`[server] session #${session.id} connected: payloadFormat '${session.payloadFormat}'`);
});
let received = 0;
let bothIn!: () => void;
const bothReceived = new Promise<void>((resolve) => (bothIn = resolve));
server.onMessage(Trade, (trade, ctx) => {
  if (++received === 2) bothIn();
  console.log(`[server] from session #${ctx.session.id}: ${trade.describe()}, a real Trade: ${trade instanceof Trade}, memo "${trade.memo.toString()}"`);
});
server.handle(Trade, (trade) => ({ accepted: trade.symbol, value: trade.quantity * 2n }));
const { port } = await server.listen();

const packed = new Client({ port, types, codec: 'msgpack' });
const plain = new Client({ port, types }); // an older program: JSON only
for (const [name, client] of [['msgpack client', packed], ['json client', plain]] as const) {
  await client.connect();
  console.log(`[${name}] connected: payloadFormat '${client.payloadFormat}'`);
}

const trade = (symbol: string): Trade => new Trade(symbol, 12_345_678_901_234_567_890n, new Date('2024-05-01T00:00:00Z'), Buffer.from(`${symbol} memo`));
await packed.send(trade('ACME'));
await plain.send(trade('INIT'));
await bothReceived;
for (const [name, client] of [['msgpack client', packed], ['json client', plain]] as const) {
  const reply = (await client.request(trade('BOLT'))) as { accepted: string; value: bigint };
  console.log(`[${name}] reply: accepted ${reply.accepted}, value ${reply.value.toString()} (a bigint: ${typeof reply.value === 'bigint'})`);
}
watching = false;

const heard = [packed, plain].map(
  (client, i) =>
    new Promise<void>((resolve) => {
      client.once('message', (message) => {
        const t = (message as { news: Trade }).news;
        console.log(`[${i === 0 ? 'msgpack client' : 'json client'}] broadcast: ${t.describe()}, a real Trade: ${t instanceof Trade}`);
        resolve();
      });
    }),
);
console.log(`[server] sendAll reached ${await server.sendAll({ news: trade('NEWS') })} sessions`);
await Promise.all(heard);

await packed.close();
await plain.close();
await server.close();
console.log('[done] everything closed');
