/**
 * Turns the results of the runs into the markdown tables (numbers, CPU
 * time, ratios, targets) and the SVG bar chart of the ratios.
 */
import type { ContenderName } from './common.js';
import type { JobResult } from './orchestrator.js';
import { CONTENDERS, type Scenario } from './plan.js';

/** Median, min and max of a few runs. */
export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function stat(values: readonly number[]): Stat | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN, runs: sorted.length };
}

/** Everything measured for one contender in one scenario, over the runs. */
export interface Cell {
  readonly rate: Stat;
  readonly cpu: Stat;
  readonly rss: Stat;
  readonly p50?: Stat | undefined;
  readonly p99?: Stat | undefined;
}

/** Results by scenario id, then contender. */
export type Results = Map<string, Map<ContenderName, Cell>>;

export function aggregate(results: readonly JobResult[]): Results {
  const groups = new Map<string, Map<ContenderName, JobResult[]>>();
  for (const r of results) {
    let byContender = groups.get(r.job.scenario);
    if (byContender === undefined) groups.set(r.job.scenario, (byContender = new Map<ContenderName, JobResult[]>()));
    let list = byContender.get(r.job.contender);
    if (list === undefined) byContender.set(r.job.contender, (list = []));
    list.push(r);
  }
  const out: Results = new Map();
  for (const [scenario, byContender] of groups) {
    const cells = new Map<ContenderName, Cell>();
    for (const [contender, list] of byContender) {
      const rate = stat(list.map((r) => r.rate));
      const cpu = stat(list.map((r) => r.cpuMicrosPerUnit));
      const rss = stat(list.map((r) => r.serverRssMiB));
      if (rate === undefined || cpu === undefined || rss === undefined) continue;
      const p50s = list.flatMap((r) => (r.p50 === undefined ? [] : [r.p50]));
      const p99s = list.flatMap((r) => (r.p99 === undefined ? [] : [r.p99]));
      cells.set(contender, { rate, cpu, rss, p50: stat(p50s), p99: stat(p99s) });
    }
    out.set(scenario, cells);
  }
  return out;
}

// ---- formatting ---------------------------------------------------------------

/** 1234567 → "1.23M", 45678 → "45.7k", 512.3 → "512". */
export function human(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${sig(n / 1e6)}M`;
  if (abs >= 1e4) return `${sig(n / 1e3)}k`;
  return sig(n);
}

function sig(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function range(s: Stat, f: (n: number) => string = human): string {
  return s.runs > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

export function ratioText(r: number | undefined, digits = 2): string {
  if (r === undefined || !Number.isFinite(r)) return 'n/a';
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(digits)}×`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function header(cells: readonly string[], align: readonly string[]): string {
  return `${row(cells)}\n${row(align)}`;
}

function median(results: Results, scenario: string, contender: ContenderName, pick: (c: Cell) => Stat | undefined = (c) => c.rate): number | undefined {
  const cell = results.get(scenario)?.get(contender);
  return cell === undefined ? undefined : pick(cell)?.median;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The contenders that appear in the results, in table order. */
function present(results: Results): ContenderName[] {
  return CONTENDERS.filter((c) => [...results.values()].some((m) => m.has(c)));
}

/** Main table: rate per scenario, p50/p99 for S2, server RSS (S6). */
export function numbersTable(results: Results, plan: readonly Scenario[]): string {
  const contenders = present(results);
  const lines = [header(['scenario', 'unit', ...contenders], [':--', ':--', ...contenders.map(() => '--:')])];
  const cellOr = (scenario: string, c: ContenderName, pick: (cell: Cell) => Stat | undefined, f?: (n: number) => string): string => {
    const cell = results.get(scenario)?.get(c);
    const s = cell === undefined ? undefined : pick(cell);
    return s === undefined ? 'n/a' : range(s, f);
  };
  for (const s of plan) {
    if (!results.has(s.id)) continue;
    lines.push(row([s.id, s.unit, ...contenders.map((c) => cellOr(s.id, c, (cell) => cell.rate))]));
    if (s.latencies) {
      lines.push(row([`${s.id} p50`, 'µs', ...contenders.map((c) => cellOr(s.id, c, (cell) => cell.p50, sig))]));
      lines.push(row([`${s.id} p99`, 'µs', ...contenders.map((c) => cellOr(s.id, c, (cell) => cell.p99, sig))]));
    }
  }
  for (const id of ['S1 tcp', 'S1 unix', 'S4']) {
    if (!results.has(id)) continue;
    lines.push(row([`S6 server peak RSS in ${id}`, 'MiB', ...contenders.map((c) => cellOr(id, c, (cell) => cell.rss, (n) => n.toFixed(0)))]));
  }
  return lines.join('\n');
}

/** CPU time (user + sys, all processes) per unit of work. */
export function cpuTable(results: Results, plan: readonly Scenario[]): string {
  const contenders = present(results);
  const lines = [header(['scenario', 'CPU per', ...contenders], [':--', ':--', ...contenders.map(() => '--:')])];
  for (const s of plan) {
    if (!results.has(s.id)) continue;
    const per = s.workload === 'rpc' ? 'round trip' : s.workload === 'broadcast' ? 'delivery' : s.payload === 'buffer' ? '1 MiB message' : 'message';
    lines.push(
      row([
        s.id,
        per,
        ...contenders.map((c) => {
          const cell = results.get(s.id)?.get(c);
          return cell === undefined ? 'n/a' : `${sig(cell.cpu.median)} µs`;
        }),
      ]),
    );
  }
  return lines.join('\n');
}

/** Ratios of hopwire's median to each other contender's (higher is better for hopwire). */
export function ratiosTable(results: Results, plan: readonly Scenario[]): string {
  const others = present(results).filter((c) => c !== 'hopwire');
  const lines = [header(['scenario', ...others.map((c) => `hopwire ÷ ${c}`)], [':--', ...others.map(() => '--:')])];
  for (const s of plan) {
    if (!results.has(s.id) || s.contenders.length < 2) continue;
    const mine = median(results, s.id, 'hopwire');
    lines.push(row([s.id, ...others.map((c) => ratioText(ratio(mine, median(results, s.id, c))))]));
  }
  return lines.join('\n');
}

// ---- targets --------------------------------------------------------------------

/** One stated target and how the run measured against it. */
export interface TargetCheck {
  readonly label: string;
  readonly goal: string;
  readonly measured: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
  /** A row for reference, with no target of its own. */
  readonly reference?: boolean;
  /** The same comparison by CPU time per message (not the target's measure; steadier on a noisy machine). */
  readonly cpu?: string | undefined;
  /** For the chart: the measured ratio and the threshold, when the target is a ratio. */
  readonly chart?: { readonly value: number; readonly threshold: number; readonly higherIsBetter: boolean } | undefined;
}

export function checkTargets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const cpuOf = (scenario: string, c: ContenderName): number | undefined => median(results, scenario, c, (cell) => cell.cpu);
  const atLeast = (label: string, scenario: string, other: ContenderName, min: number): void => {
    const r = ratio(median(results, scenario, 'hopwire'), median(results, scenario, other));
    checks.push({
      label,
      goal: `≥ ${min}×`,
      measured: ratioText(r, 3),
      cpu: ratioText(ratio(cpuOf(scenario, other), cpuOf(scenario, 'hopwire')), 2),
      met: r === undefined ? undefined : r >= min,
      chart: r === undefined ? undefined : { value: r, threshold: min, higherIsBetter: true },
    });
  };
  atLeast('S1 TCP: hopwire ÷ raw-net', 'S1 tcp', 'raw-net', 0.8);
  atLeast('S1 Unix: hopwire ÷ raw-net', 'S1 unix', 'raw-net', 0.8);
  atLeast('S2: hopwire ÷ raw-net', 'S2', 'raw-net', 0.9);
  atLeast('S3: hopwire ÷ raw-net', 'S3', 'raw-net', 0.8);
  atLeast('S4: hopwire ÷ raw-bytes', 'S4', 'raw-bytes', 0.9);
  atLeast('S5: hopwire ÷ raw-net', 'S5', 'raw-net', 0.8);
  atLeast('S1 TCP: hopwire ÷ sockhop', 'S1 tcp', 'sockhop', 3);
  atLeast('S1 Unix: hopwire ÷ sockhop', 'S1 unix', 'sockhop', 3);
  atLeast('S4: hopwire ÷ sockhop', 'S4', 'sockhop', 3);
  atLeast('S5: hopwire ÷ sockhop', 'S5', 'sockhop', 3);
  {
    const mine = median(results, 'S4', 'hopwire', (c) => c.rss);
    const raw = median(results, 'S4', 'raw-net', (c) => c.rss);
    const extra = mine === undefined || raw === undefined ? undefined : mine - raw;
    checks.push({
      label: 'S6: server peak RSS in S4, hopwire − raw-net',
      goal: '≤ +20 MiB',
      measured: extra === undefined ? 'n/a' : `${extra >= 0 ? '+' : ''}${extra.toFixed(1)} MiB (${mine?.toFixed(0) ?? '?'} vs ${raw?.toFixed(0) ?? '?'})`,
      met: extra === undefined ? undefined : extra <= 20,
    });
  }
  /** S7: plain msgs/s ÷ `scenario`'s; a target when `max` is given, a row for reference otherwise. */
  const plainOver = (label: string, scenario: string, max: number | undefined): void => {
    const r = ratio(median(results, 'S7 plain', 'hopwire'), median(results, scenario, 'hopwire'));
    const judged = r !== undefined && max !== undefined;
    checks.push({
      label,
      goal: max === undefined ? '' : `≤ ${max}×`,
      measured: ratioText(r, 3),
      cpu: ratioText(ratio(cpuOf(scenario, 'hopwire'), cpuOf('S7 plain', 'hopwire')), 2),
      met: judged ? r <= max : undefined,
      reference: max === undefined,
      chart: judged ? { value: r, threshold: max, higherIsBetter: false } : undefined,
    });
  };
  plainOver('S7: plain ÷ classes (msgs/s)', 'S7 classes', 1.5);
  plainOver('S7 for reference: plain ÷ the Widget with plain-JSON toWire/fromWire hooks (msgs/s)', 'S7 hooks', undefined);
  return checks;
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const lines = [header(['target', 'goal', 'measured', 'status', 'the same by CPU time per message'], [':--', ':--', '--:', ':--', '--:'])];
  for (const t of checks) lines.push(row([t.label, t.goal, t.measured, t.reference === true ? 'reference' : t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**', t.cpu ?? '']));
  return lines.join('\n');
}

// ---- chart ------------------------------------------------------------------------

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A horizontal bar chart of the target ratios on a log scale, each bar with
 * its threshold marked; green when met, red when missed.
 */
export function chartSvg(checks: readonly TargetCheck[], subtitle: string): string {
  const bars = checks.filter((c) => c.chart !== undefined);
  const labelWidth = 270;
  const plotWidth = 520;
  const rowHeight = 26;
  const top = 58;
  const width = labelWidth + plotWidth + 200;
  const height = top + bars.length * rowHeight + 46;
  const lo = Math.log10(0.05);
  const hi = Math.log10(100);
  const x = (v: number): number => labelWidth + ((Math.log10(Math.min(Math.max(v, 0.05), 100)) - lo) / (hi - lo)) * plotWidth;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold">hopwire network benchmark: ratios against the targets (log scale)</text>`);
  out.push(`<text x="12" y="40" fill="#555555">${escapeXml(subtitle)}</text>`);
  for (const g of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    const gx = x(g).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + bars.length * rowHeight}" stroke="${g === 1 ? '#888888' : '#dddddd'}" stroke-width="1"/>`);
    out.push(`<text x="${gx}" y="${top + bars.length * rowHeight + 16}" text-anchor="middle" fill="#555555">${g}×</text>`);
  }
  bars.forEach((c, i) => {
    const chart = c.chart;
    if (chart === undefined) return;
    const y = top + i * rowHeight;
    const met = c.met === true;
    const x0 = x(0.05);
    const xv = x(chart.value);
    out.push(`<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escapeXml(c.label)}</text>`);
    out.push(`<rect x="${x0.toFixed(1)}" y="${y + 5}" width="${Math.max(1, xv - x0).toFixed(1)}" height="${rowHeight - 10}" fill="${met ? '#3a9d5d' : '#d0453a'}"/>`);
    const tx = x(chart.threshold).toFixed(1);
    out.push(`<line x1="${tx}" y1="${y + 2}" x2="${tx}" y2="${y + rowHeight - 2}" stroke="#111111" stroke-width="2" stroke-dasharray="3,2"/>`);
    out.push(`<text x="${(Math.max(xv, Number(tx)) + 6).toFixed(1)}" y="${y + 16}" fill="#222222">${escapeXml(ratioText(chart.value))} (target ${chart.higherIsBetter ? '≥' : '≤'} ${chart.threshold}×)</text>`);
  });
  out.push(`<text x="12" y="${height - 8}" fill="#555555">Bars: measured ratio (green: target met, red: missed). Dashed line: the target. S7 is plain ÷ classes, lower is better.</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
