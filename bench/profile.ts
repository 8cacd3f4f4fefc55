/**
 * Summarises V8 CPU profiles (`.cpuprofile`, from `node --cpu-prof`, e.g.
 * `npm run bench:net -- --only "S1 tcp" --contenders hopwire --runs 1 --profile prof/`):
 * where the busy time went, by function (self and inclusive) and by file,
 * idle time left out.
 *
 * ```
 * npx tsx bench/profile.ts prof/S1-tcp-hopwire [--top 25] [--filter src/]
 * ```
 *
 * A directory argument takes every `.cpuprofile` in it (each process of a
 * job writes one); each is summarised on its own.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const { values: args, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, filter: { type: 'string' } },
  allowPositionals: true,
});
const top = Number(args.top);
const root = process.cwd();

const files: string[] = [];
for (const p of positionals) {
  if (statSync(p).isDirectory()) {
    for (const f of readdirSync(p)) if (f.endsWith('.cpuprofile')) files.push(join(p, f));
  } else {
    files.push(p);
  }
}
if (files.length === 0) {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile | dir>… [--top N] [--filter text]');
  process.exit(2);
}

for (const file of files) summarise(file);

function where(cf: CallFrame): string {
  let url = cf.url;
  if (url.startsWith('file://')) url = relative(root, new URL(url).pathname);
  return url === '' ? '' : `${url}:${cf.lineNumber + 1}`;
}

function label(cf: CallFrame): string {
  const at = where(cf);
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${at === '' ? '' : ` ${at}`}`;
}

function fileOf(cf: CallFrame): string {
  if (cf.url === '') return cf.functionName; // (garbage collector), (program), (idle), native
  let url = cf.url;
  if (url.startsWith('file://')) url = relative(root, new URL(url).pathname);
  if (url.startsWith('node:')) return url;
  if (url.includes('node_modules/')) return `node_modules/${url.split('node_modules/').pop()?.split('/')[0] ?? '?'}`;
  return url;
}

function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  // self time per node, from the samples and their time deltas (µs)
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] ?? 0;
    const dt = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  let idle = 0;
  let busy = 0;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    byFile.set(fileOf(node.callFrame), (byFile.get(fileOf(node.callFrame)) ?? 0) + us);
    // inclusive: every distinct function on the stack gets this sample once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined) break;
      const k = label(n.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const show = (title: string, m: Map<string, number>): void => {
    console.log(`  ${title}`);
    const rows = [...m].filter(([k]) => args.filter === undefined || k.includes(args.filter)).sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, us] of rows) console.log(`    ${pct(us)} ${ms(us)}  ${k}`);
  };
  console.log(`\n${basename(file)}: busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
  show('by file (self time)', byFile);
  show('by function, self time', self);
  show('by function, inclusive time (callees included)', inclusive);
}
