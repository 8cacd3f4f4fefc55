/**
 * Telemetry over UDP: three sensors send readings to a collector, one
 * datagram per reading, fire and forget (`transport: 'udp'`).
 *
 * - Each `Reading` arrives as a real `Reading` (class reconstruction works
 *   as over TCP), with a `Buffer` of raw samples beside it.
 * - Each sensor's address and port becomes a session on the collector;
 *   `server.sendAll()` reaches every sensor heard from within `peerTimeout`.
 * - A value too large for one datagram is refused before anything is sent
 *   (`ERR_DATAGRAM_TOO_LARGE`); requests are not available over UDP
 *   (`ERR_UNSUPPORTED`).
 *
 * UDP promises neither delivery nor order: on a real network some readings
 * may never arrive. On loopback, as here, they do. See docs/udp.md.
 *
 * Run: npx tsx examples/udp.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { Client, isHopwireError, Server } from '../src/index.js';

class Reading {
  constructor(
    public sensor = '',
    public celsius = 0,
    public samples = Buffer.alloc(0),
  ) {}

  fahrenheit(): number {
    return Math.round((this.celsius * 9) / 5 + 32);
  }
}

const types = [Reading];
const sensors = ['north', 'south', 'east'];

const collector = new Server({ transport: 'udp', port: 0, types, peerTimeout: 10_000, maxDatagramBytes: 1200 });
let readings = 0;
let allIn!: () => void;
const everyone = new Promise<void>((resolve) => (allIn = resolve));
collector.on('connect', (session) => {
  console.log(`[collector] new sensor at ${session.remoteAddress ?? '?'}:${String(session.remotePort)} (session #${session.id})`);
});
collector.onMessage(Reading, (r, ctx) => {
  console.log(`[collector] ${r.sensor}: ${r.celsius} °C = ${r.fahrenheit()} °F, a real Reading: ${r instanceof Reading}, ${r.samples.length} raw samples`);
  void ctx.reply({ ok: r.sensor });
  if (++readings === sensors.length) allIn();
});
const address = await collector.listen();
console.log(`[collector] listening on udp://${address.host}:${String(address.port)}, datagrams up to 1200 bytes`);

const clients = await Promise.all(
  sensors.map(async (name, i) => {
    const client = new Client({ transport: 'udp', ...address, types, maxDatagramBytes: 1200 });
    let acked!: () => void;
    const ok = new Promise<void>((resolve) => (acked = resolve));
    let alerted!: () => void;
    const alert = new Promise<void>((resolve) => (alerted = resolve));
    client.on('message', (message) => {
      if ((message as { ok?: string }).ok === name) {
        console.log(`[${name}] the collector answered: ${JSON.stringify(message)}`);
        acked();
      } else {
        console.log(`[${name}] broadcast: ${JSON.stringify(message)}`);
        alerted();
      }
    });
    await client.connect();
    await client.send(new Reading(name, 18 + i * 2.5, Buffer.from([i, i + 1, i + 2, i + 3])));
    return { name, client, ok, alert };
  }),
);
await everyone;
await Promise.all(clients.map((c) => c.ok));

const reached = await collector.sendAll({ alert: 'frost expected tonight' });
console.log(`[collector] sendAll reached ${reached} sensors`);
await Promise.all(clients.map((c) => c.alert));

const [{ client: north }] = clients as [(typeof clients)[number]];
const failure = (err: unknown): string => (isHopwireError(err) ? err.code : String(err));
await north.send(new Reading('north', 20, Buffer.alloc(2000))).catch((err: unknown) => {
  console.log(`[north] a reading with 2000 samples: ${failure(err)} (nothing was sent)`);
});
await north.request({ op: 'calibrate' }).catch((err: unknown) => {
  console.log(`[north] request(): ${failure(err)}`);
});
console.log(`[collector] stats: ${collector.stats().messagesIn} messages in, ${collector.stats().connections} sessions, ${collector.stats().decodeErrors} datagrams dropped`);

for (const { client } of clients) await client.close();
await collector.close();
console.log('[done] everything closed');
