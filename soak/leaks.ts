/**
 * The long version of the leak test: N connect → request → close cycles in
 * one process (2,000 by default), then checks that sockets and timers are
 * back to where they were and that the heap has not grown.
 *
 *     npx tsx soak/leaks.ts [cycles]
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { Client, Server } from '../src/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function resources(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r === 'TCPSocketWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

const cycles = Number(process.argv[2] ?? 2000);
const server = new Server({ port: 0 });
server.handle((x) => x);
const { port } = await server.listen();

// warm up (JIT, pools), then take the baseline
for (let i = 0; i < 50; i++) {
  const c = new Client({ port });
  await c.connect();
  await c.request(i);
  await c.close();
}
while (server.sessions.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
gc();
gc();
const before = resources();
const heap0 = process.memoryUsage().heapUsed;
const started = performance.now();

for (let i = 0; i < cycles; i++) {
  const c = new Client({ port });
  await c.connect();
  if ((await c.request(i)) !== i) throw new Error(`wrong reply in cycle ${String(i)}`);
  await c.close();
}
const deadline = Date.now() + 10_000;
while (server.sessions.length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
gc();
gc();
const after = resources();
const heapGrowth = process.memoryUsage().heapUsed - heap0;
await server.close();

console.log(`cycles          ${String(cycles)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`sockets         ${String(before.sockets)} before, ${String(after.sockets)} after`);
console.log(`timers          ${String(before.timers)} before, ${String(after.timers)} after`);
console.log(`sessions left   ${String(server.sessions.length)}`);
console.log(`heap growth     ${(heapGrowth / 1e6).toFixed(2)} MB`);
const ok = after.sockets <= before.sockets && after.timers <= before.timers && server.sessions.length === 0 && heapGrowth < 20e6;
console.log(ok ? 'no leak' : 'LEAK');
process.exitCode = ok ? 0 : 1;
