/**
 * Several servers behind one client.
 *
 * Three servers (in this process, each on its own port) answer every
 * request with their name. One client is given all three with
 * `servers: [...]` and `strategy: 'round-robin'`: its requests go to each
 * connected server in turn. Then server B closes; the client sees it go
 * (`disconnect` says which server), sends the next requests only to A and
 * C, and keeps retrying B in the background until the client closes.
 *
 * Run: npx tsx examples/several-servers.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { Client, type DisconnectInfo, type Endpoint, Server } from '../src/index.js';

/** The name of the server at each port, to say which one answered. */
const names = new Map<number, string>();

/** Starts a server that answers each request with its name. */
async function startServer(name: string): Promise<Server> {
  const server = new Server({ port: 0 });
  server.handle((request) => {
    const { n } = request as { n: number };
    return { n, from: name };
  });
  const { port = 0 } = await server.listen();
  names.set(port, name);
  console.log(`[server ${name}] listening on port ${port}`);
  return server;
}

/** A readable name for an endpoint from the `connect` and `disconnect` events. */
function which(endpoint: Endpoint): string {
  return 'port' in endpoint ? `${names.get(endpoint.port) ?? '?'} (port ${endpoint.port})` : endpoint.path;
}

const [a, b, c] = await Promise.all(['A', 'B', 'C'].map(startServer));
if (a === undefined || b === undefined || c === undefined) throw new Error('three servers expected');
const ports = [a, b, c].map((s) => s.address?.port ?? 0);

const client = new Client({
  servers: ports.map((port) => ({ port })),
  strategy: 'round-robin',
  reconnect: { initial: 100, max: 500 },
});
let connectedCount = 0;
const allConnected = new Promise<void>((resolve) => {
  client.on('connect', (server) => {
    console.log(`[client]   connected to server ${which(server)}`);
    if (++connectedCount === 3) resolve();
  });
});
client.on('disconnect', (info, server) => {
  console.log(`[client]   disconnected from server ${which(server)}: ${info.reason}`);
});
client.on('reconnecting', ({ attempt, delay }, server) => {
  // it keeps trying; print the first attempt only, the rest depend on timing
  if (attempt === 1) console.log(`[client]   will retry server ${which(server)} in the background (first attempt in ${delay} ms)`);
});

await client.connect(); // resolves when one server is up; the others follow
await allConnected; // wait for all three, so the round-robin is easy to read

/** Sends requests `from`..`to` one after the other, and says who answered each. */
async function ask(from: number, to: number): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (let n = from; n <= to; n++) {
    const reply = (await client.request({ n })) as { n: number; from: string };
    console.log(`[client]   request #${n} answered by server ${reply.from}`);
    tally[reply.from] = (tally[reply.from] ?? 0) + 1;
  }
  return tally;
}
const summary = (tally: Record<string, number>): string =>
  Object.entries(tally)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');

console.log("[client]   9 requests with strategy 'round-robin'");
console.log(`[summary]  requests #1-#9 per server: ${summary(await ask(1, 9))}`);

// Server B goes away. Wait until the client has seen it go: from then on,
// no request is sent to B.
const bGone = new Promise<void>((resolve) => {
  const onDisconnect = (_info: DisconnectInfo, server: Endpoint): void => {
    if ('port' in server && server.port === ports[1]) {
      client.off('disconnect', onDisconnect);
      resolve();
    }
  };
  client.on('disconnect', onDisconnect);
});
console.log('[server B] closing');
await b.close();
await bGone;

console.log('[client]   6 more requests, with server B down');
console.log(`[summary]  requests #10-#15 per server: ${summary(await ask(10, 15))}`);

await client.close();
await Promise.all([a.close(), c.close()]);
console.log('[done] the client and the servers are closed');
