/**
 * The network benchmark: hopwire against hand-written `node:net` code
 * (raw-net, raw-bytes), sockhop@1.8.4 and zeromq, in the scenarios of
 * `plan.ts`. Each job runs in fresh processes (server and clients apart),
 * with a warm-up phase before the measured one; the runs of the contenders
 * are interleaved (round 1 of every job, then round 2, …) so drift on a
 * shared machine hits all alike. It prints the median (min–max), CPU time
 * per message, the ratios and the targets as markdown, and — for a full run
 * — writes them to `docs/benchmarks.md` and the chart to
 * `assets/benchmarks.svg`. `npm run bench:net` compiles `src/` and `bench/`
 * first and runs this file as JavaScript from `build-check/`, as users run
 * hopwire; through tsx it works too, but every process then carries the
 * transpiler and its source maps (see docs/benchmarks.md, Method).
 *
 * ```
 * npm run bench:net                      # the full benchmark (5 runs, 6–7 minutes)
 * npm run bench:net -- --quick           # smoke test: 1 run, 1/20 of the counts
 * npm run bench:net -- --only S1,S4      # some scenarios (ids start with these)
 * npm run bench:net -- --contenders hopwire,raw-net
 * npm run bench:net -- --only S2,S3 --contenders hopwire,hopwire-nats,raw-net   # NATS: needs nats-server
 * npm run bench:net -- --runs 3         # fewer runs: quicker, noisier medians
 * npm run bench:net -- --profile prof/   # node --cpu-prof in every child, into prof/
 * npm run bench:net -- --write / --no-write   # force writing the docs, or not
 * ```
 *
 * The report names the commit measured, and says so when `src/` changed
 * while the benchmark ran. `HOPWIRE_BENCH_CODE="…"` names the code instead,
 * for a snapshot that is not a git checkout.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ContenderName } from './common.js';
import { type JobResult, runJob } from './orchestrator.js';
import { CONTENDERS, OPT_IN, type Scenario, jobOf, scenarios } from './plan.js';
import { aggregate, chartSvg, checkTargets, cpuTable, human, numbersTable, ratiosTable, targetsTable } from './report.js';

/** The repository: above `bench/`, or above `build-check/bench/` when compiled (as `npm run bench:net` runs it). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.js') ? '../..' : '..');
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const SVG = join(ROOT, 'assets', 'benchmarks.svg');
const START = '<!-- results:start (written by npm run bench:net; edit outside these markers) -->';
const END = '<!-- results:end -->';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    contenders: { type: 'string' },
    profile: { type: 'string' },
    write: { type: 'boolean' },
    'no-write': { type: 'boolean' },
  },
  allowPositionals: false,
});

const quick = args.quick;
const runs = Number(args.runs ?? (quick ? 1 : 5));
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
const only = args.only?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const picked = args.contenders?.split(',').map((s) => s.trim()).filter(Boolean);
for (const c of picked ?? []) if (!CONTENDERS.includes(c as ContenderName)) throw new Error(`unknown contender ${c}; known: ${CONTENDERS.join(', ')}`);
const filtered = only !== undefined || picked !== undefined;
const write = args.write ?? (args['no-write'] !== true && !quick && !filtered && runs >= 3);
const profileDir = args.profile === undefined ? undefined : resolve(args.profile);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });

const plan: Scenario[] = scenarios(quick ? 20 : 1).filter((s) => only === undefined || only.some((o) => s.id.toLowerCase().startsWith(o)));
const contendersOf = (s: Scenario): ContenderName[] => s.contenders.filter((c) => (picked === undefined ? !OPT_IN.includes(c) : picked.includes(c)));

const machine = {
  cpu: cpuModel(),
  cores: cpus().length,
  node: process.version,
  os: `${process.platform} ${release()}`,
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
};
const codeAtStart = codeVersion();
const command = `npm run bench:net${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

const jobsPerRun = plan.reduce((n, s) => n + contendersOf(s).length, 0);
log(`hopwire network benchmark: ${plan.length} scenarios, ${jobsPerRun} jobs × ${runs} run(s)${quick ? ' (quick: 1/20 of the counts)' : ''}`);
log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);

const results: JobResult[] = [];
const began = Date.now();
try {
  for (let run = 0; run < runs; run++) {
    for (const s of plan) {
      const contenders = contendersOf(s);
      // rotate the order each run, so no contender always goes first
      const order = contenders.map((_, i) => contenders[(i + run) % contenders.length] as ContenderName);
      for (const contender of order) {
        const job = jobOf(s, contender);
        const t = Date.now();
        const result = await runJob(job, {
          deadlineMs: quick ? 60_000 : 240_000,
          ...(profileDir === undefined ? {} : { execArgv: ['--cpu-prof', '--cpu-prof-dir', join(profileDir, `${s.id.replace(/\s+/g, '-')}-${contender}`)] }),
        });
        results.push(result);
        const extra = result.p50 === undefined ? '' : `, p50 ${result.p50.toFixed(0)} µs, p99 ${(result.p99 ?? Number.NaN).toFixed(0)} µs`;
        log(
          `[run ${run + 1}/${runs}] ${s.id.padEnd(10)} ${contender.padEnd(9)} ${human(result.rate).padStart(7)} ${s.unit}${extra}, CPU ${result.cpuMicrosPerUnit.toFixed(2)} µs/unit, server RSS ${result.serverRssMiB.toFixed(0)} MiB  (${((Date.now() - t) / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
} catch (err) {
  log(`\nBENCHMARK FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const elapsed = (Date.now() - began) / 1000;
const codeAtEnd = codeVersion();
const code =
  codeAtEnd.fingerprint === codeAtStart.fingerprint
    ? codeAtStart.text
    : `${codeAtStart.text} at the start; src/ CHANGED while the benchmark ran (${codeAtEnd.text} at the end), so the runs measured different code`;
if (codeAtEnd.fingerprint !== codeAtStart.fingerprint) log('\nwarning: src/ changed while the benchmark ran');

const agg = aggregate(results);
const checks = checkTargets(agg);
const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)}, median of ${runs} run${runs > 1 ? 's' : ''}`;
const block = [
  `Measured ${machine.date} with \`${command}\` (${runs} run${runs > 1 ? 's' : ''} of each job, ${elapsed.toFixed(0)} s in all${quick ? '; QUICK MODE: 1/20 of the counts, the numbers mean little' : ''}).`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores (shared), ${machine.os}, Node ${machine.node}. Code: ${code}.`,
  '',
  '### Throughput, median (min–max)',
  '',
  numbersTable(agg, plan),
  '',
  '### CPU time, user + sys of every process of the job, median',
  '',
  cpuTable(agg, plan),
  '',
  '### Ratios of the medians (hopwire ÷ contender; above 1 hopwire is faster)',
  '',
  ratiosTable(agg, plan),
  '',
  '### Targets',
  '',
  'Status is judged on the medians of throughput, as the targets are stated. The last column makes the same comparison by CPU time per message (for S7: classes, or hooks, ÷ plain), for reference: it is steadier than throughput on a shared machine, but it is not what a target measures.',
  '',
  targetsTable(checks),
  '',
  '![ratios against the targets](../assets/benchmarks.svg)',
].join('\n');

process.stdout.write(`\n${block}\n`);

if (write) {
  mkdirSync(dirname(DOC), { recursive: true });
  mkdirSync(dirname(SVG), { recursive: true });
  const section = `${START}\n\n${block}\n\n${END}`;
  let doc: string;
  if (existsSync(DOC)) {
    const old = readFileSync(DOC, 'utf8');
    const a = old.indexOf(START);
    const b = old.indexOf(END);
    doc = a >= 0 && b > a ? `${old.slice(0, a)}${section}${old.slice(b + END.length)}` : `${old.trimEnd()}\n\n## Results\n\n${section}\n`;
  } else {
    doc = `# Benchmarks\n\n## Results\n\n${section}\n`;
  }
  writeFileSync(DOC, doc);
  writeFileSync(SVG, chartSvg(checks, subtitle));
  log(`\nwrote ${DOC} and ${SVG}`);
} else {
  log('\n(docs not written: quick, filtered or fewer than 3 runs; --write forces it)');
}
log(`done in ${elapsed.toFixed(0)} s`);

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

/** The commit measured, whether src/ differed from it, and a fingerprint of src/ to notice changes during the run. */
function codeVersion(): { text: string; fingerprint: string } {
  // set when measuring an exported snapshot that is not a git checkout
  const named = process.env.HOPWIRE_BENCH_CODE;
  if (named !== undefined && named !== '') return { text: named, fingerprint: named };
  try {
    const git = (...a: string[]): string => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src').trim() !== '';
    const fingerprint = createHash('sha1').update(head).update(git('diff', 'HEAD', '--', 'src')).update(git('ls-files', '--others', '--exclude-standard', '--', 'src')).digest('hex');
    return { text: dirty ? `commit ${head} with uncommitted changes in src/` : `commit ${head}`, fingerprint };
  } catch {
    return { text: 'not a git checkout', fingerprint: '' };
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
