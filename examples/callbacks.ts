/**
 * Functions as arguments: a function inside a value arrives on the other
 * side as an async stand-in; calling it runs the original on the sender.
 *
 * 1. The client sends `request({ file, onProgress })`; the server calls
 *    `onProgress` as it works, and each call runs on the client.
 * 2. The other way round: the server sends the client a request carrying a
 *    callback, and the client's handler calls it.
 * 3. Lifetime: functions inside a request are released when it settles, and
 *    functions sent with `send()` when `release(fn)` is called (or the
 *    connection closes). Calling a released function rejects with
 *    `ERR_RELEASED`.
 *
 * Run: npx tsx examples/callbacks.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { once } from 'node:events';
import { Client, HopwireError, Server, type Session } from '../src/index.js';

/** What the server receives: the client's functions are async stand-ins there. */
interface ImportJob {
  file: string;
  onProgress: (done: number, of: number) => Promise<string>;
}

const server = new Server({ port: 0 });

/** Kept past the end of its request, to show it has been released. */
let keptProgress: ImportJob['onProgress'] | undefined;
/** Sent with send(): lives until the client releases it. */
let onAlert: ((text: string) => Promise<void>) | undefined;

/** The function, or an error when none was kept. */
function held<F>(fn: F | undefined): F {
  if (fn === undefined) throw new Error('nothing was kept to call');
  return fn;
}

server.handle(async (request) => {
  if (typeof request === 'object' && request !== null && 'file' in request) {
    const { file, onProgress } = request as ImportJob;
    console.log(`[server] importing ${file}`);
    const steps = 4;
    for (let done = 1; done <= steps; done++) {
      const answer = await onProgress(done, steps); // runs on the client, and returns its result
      console.log(`[server]   onProgress(${done}, ${steps}) returned '${answer}'`);
    }
    keptProgress = onProgress;
    return { file, rows: 4000 };
  }
  // { call: 'progress' | 'alert' }: call a function received earlier, and say how it went
  const { call } = request as { call: 'progress' | 'alert' };
  try {
    if (call === 'progress') await held(keptProgress)(9, 9);
    else await held(onAlert)('disk 91% full');
    return `${call}: called`;
  } catch (err) {
    return `${call}: ${err instanceof HopwireError ? err.code : String(err)}`;
  }
});
server.on('message', (message) => {
  const { subscribe } = message as { subscribe?: (text: string) => Promise<void> };
  if (subscribe !== undefined) onAlert = subscribe;
});

const connected = once(server, 'connect') as Promise<[Session]>;
const { port } = await server.listen();
const client = new Client({ port });
await client.connect();
const [session] = await connected;

// ---- 1. a progress callback inside a client request ----
const reply = await client.request({
  file: 'big.csv',
  onProgress: (done: number, of: number) => {
    console.log(`[client] progress ${done}/${of} ${'#'.repeat(done)}${'.'.repeat(of - done)}`);
    return `seen ${done}`;
  },
});
console.log(`[client] import finished: ${JSON.stringify(reply)}`);

// ---- 2. a server → client request carrying a callback ----
client.handle(async (request) => {
  const { dir, found } = request as { dir: string; found: (name: string, size: number) => Promise<void> };
  const files: [string, number][] = [
    ['a.txt', 120],
    ['b.png', 48213],
    ['c.json', 977],
  ];
  for (const [name, size] of files) await found(`${dir}/${name}`, size); // runs on the server
  return files.length;
});
const count = await session.request({
  dir: '/data',
  found: (name: string, size: number) => {
    console.log(`[server] the client found ${name} (${size} bytes)`);
  },
});
console.log(`[server] the client listed ${String(count)} files`);

// ---- 3. released functions ----
// onProgress belonged to a request that has settled: it was released then.
console.log(`[client] asks the server to call the old onProgress → ${String(await client.request({ call: 'progress' }))}`);

// A function sent with send() lives until release().
const alert = (text: string): void => {
  console.log(`[client] alert: ${text}`);
};
const subscribed = once(server, 'message');
await client.send({ subscribe: alert });
await subscribed; // the server has it now
console.log(`[client] asks the server to call the alert → ${String(await client.request({ call: 'alert' }))}`);
console.log(`[client] release(alert) → ${client.release(alert)}`);
console.log(`[client] asks the server to call the alert → ${String(await client.request({ call: 'alert' }))}`);

await client.close();
await server.close();
console.log('[done] everything closed');
