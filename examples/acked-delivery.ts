/**
 * Acknowledged delivery across a server restart.
 *
 * A client sends seven messages with `{ ack: true }`: each `send()` resolves
 * only when the server's message listeners have run with it. Server 1 goes
 * down while handling message #3, before acknowledging it; #4–#6, already
 * written, are never handled there. The client reconnects to server 2 on the
 * same port, sends #3–#6 again, then #7, which was sent while no server was
 * up and waited in the offline queue. Every message arrives; #3 arrives at
 * both servers, because the only proof of delivery is the ACK, and server 1
 * died before sending it (at-least-once across a restart; a server drops a
 * duplicate only while it remembers the client).
 *
 * Run: npx tsx examples/acked-delivery.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Server } from '../src/index.js';

interface Numbered {
  n: number;
}

const delivered: Record<string, number[]> = { 'server 1': [], 'server 2': [] };

function startServer(name: string, port: number, crashOn?: number): Promise<Server> {
  const server = new Server({ port });
  server.on('message', (message) => {
    const { n } = message as Numbered;
    delivered[name]?.push(n);
    if (n === crashOn) {
      console.log(`[${name}] got #${n}, and goes down before acknowledging it`);
      void server.close();
    } else {
      console.log(`[${name}] got #${n}`);
    }
  });
  return server.listen().then((address) => {
    console.log(`[${name}] listening on port ${address.port ?? '?'}`);
    return server;
  });
}

const first = await startServer('server 1', 0, 3);
const port = first.address?.port ?? 0;

const client = new Client({ port, reconnect: { initial: 50, max: 200 } });
client.on('disconnect', (info) => {
  console.log(`[client]   disconnected: ${info.reason}`);
});
client.on('reconnecting', ({ attempt, delay }) => {
  console.log(`[client]   reconnecting: attempt ${attempt} in ${delay} ms`);
});
client.on('connect', () => {
  console.log('[client]   connected');
});
await client.connect();

/** Sends #n with an ACK and reports when it is acknowledged. */
function sendAcked(n: number): Promise<void> {
  return client.send({ n } satisfies Numbered, { ack: true }).then(() => {
    console.log(`[client]   #${n} acknowledged`);
  });
}

console.log('[client]   sending #1 to #6 with { ack: true }');
const sends = [1, 2, 3, 4, 5, 6].map(sendAcked);

await once(first, 'close');
console.log(`[client]   server 1 is gone; waiting for an ACK: ${client.unacknowledged} messages`);
console.log('[client]   sending #7 while no server is up: it waits in the offline queue');
sends.push(sendAcked(7));
console.log(`[client]   queued: ${client.queued}`);

await sleep(300); // server 2 starts a little later on the same port: the client keeps trying
const second = await startServer('server 2', port);

await Promise.all(sends);
console.log(`[client]   all 7 acknowledged; still waiting for an ACK: ${client.unacknowledged}`);

await client.close();
await second.close();
const fmt = (list: number[] | undefined): string => (list ?? []).map((n) => `#${n}`).join(' ');
console.log(`[summary]  server 1 handled ${fmt(delivered['server 1'])}; server 2 handled ${fmt(delivered['server 2'])}`);
const all = new Set([...(delivered['server 1'] ?? []), ...(delivered['server 2'] ?? [])]);
console.log(`[summary]  every message arrived: ${[1, 2, 3, 4, 5, 6, 7].every((n) => all.has(n))}`);
