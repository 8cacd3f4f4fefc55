/**
 * A chat room: one server and three clients in one process.
 *
 * Each client says one line; the server stamps it with the time and passes
 * it on to everyone with `server.sendAll()`; each client prints what it
 * hears through its `messages()` loop. The `ChatLine` class is registered on
 * both ends, so what arrives is a real `ChatLine` (its `at` a real `Date`).
 *
 * Run: npx tsx examples/chat.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { Client, Server } from '../src/index.js';

class ChatLine {
  constructor(
    public from = '',
    public text = '',
    public at?: Date,
  ) {}

  toString(): string {
    const time = this.at === undefined ? '--:--:--' : this.at.toISOString().slice(11, 19);
    return `${time} ${this.from}: ${this.text}`;
  }
}

const server = new Server({ port: 0, types: [ChatLine] });
server.on('message', (line, ctx) => {
  if (!(line instanceof ChatLine)) return;
  // stamp it here, so every client sees the server's time
  const stamped = new ChatLine(line.from, line.text, new Date());
  void server.sendAll(stamped).then((n) => {
    console.log(`[server] ${line.from} (session #${ctx.session.id}) said "${line.text}": passed on to ${n} clients`);
  });
});
const { port } = await server.listen();
console.log(`[server] chat room open on port ${port}`);

const people = ['alice', 'bob', 'carol'];
const said: Record<string, string> = { alice: 'hello, everyone', bob: 'hi alice!', carol: 'good morning' };

const members = await Promise.all(
  people.map(async (name) => {
    const client = new Client({ port, types: [ChatLine] });
    await client.connect();
    console.log(`[${name}] joined`);
    return { name, client };
  }),
);

/** Prints what one member hears until it has heard every line once. */
async function listen(name: string, client: Client, expected: number): Promise<void> {
  let heard = 0;
  for await (const { message } of client.messages()) {
    if (message instanceof ChatLine) {
      console.log(`[${name}] heard ${String(message)} (a real ChatLine: ${message instanceof ChatLine}, at is a Date: ${message.at instanceof Date})`);
      heard++;
    }
    if (heard === expected) break;
  }
}

// start listening before anyone speaks, so nobody misses a line
const listening = members.map(({ name, client }) => listen(name, client, people.length));
for (const { name, client } of members) await client.send(new ChatLine(name, said[name] ?? ''));
await Promise.all(listening);

for (const { name, client } of members) {
  await client.close();
  console.log(`[${name}] left`);
}
await server.close();
console.log('[server] closed; everyone heard all 3 lines');
