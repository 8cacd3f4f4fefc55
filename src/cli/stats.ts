/**
 * `hopwire stats`: a live view of a running server's figures, read from its
 * Prometheus endpoint (the server's `metrics` option), as a refreshing table
 * in the terminal or, with `--json`, one snapshot for scripts.
 *
 * @module
 */
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Command, type Values, UsageError, flag, integer, str } from './args.js';
import { EXIT_OK, onSignals } from './exit.js';
import { out } from './output.js';

/** Metric samples by name (with labels, as in the exposition: `name{label="v"}`). */
export type Samples = Record<string, number>;

/** Parses the Prometheus text exposition format (comments skipped). */
export function parsePrometheus(text: string): Samples {
  const samples: Samples = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const value = Number(match[2]);
    if (!Number.isNaN(value)) samples[match[1]] = value;
  }
  return samples;
}

/** Fetches and parses a metrics endpoint. */
export function fetchSamples(url: string, timeoutMs = 5000): Promise<Samples> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${url} answered HTTP ${String(res.statusCode)}`));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve(parsePrometheus(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${String(timeoutMs)} ms`)));
    req.on('error', reject);
  });
}

const ROWS: readonly [label: string, metric: string, rate: boolean][] = [
  ['sessions (binary)', 'hopwire_connections{protocol="binary"}', false],
  ['sessions (lines)', 'hopwire_connections{protocol="lines"}', false],
  ['accepted', 'hopwire_connections_total', true],
  ['refused', 'hopwire_connections_refused_total', true],
  ['messages in', 'hopwire_messages_received_total', true],
  ['messages out', 'hopwire_messages_sent_total', true],
  ['bytes in', 'hopwire_received_bytes_total', true],
  ['bytes out', 'hopwire_sent_bytes_total', true],
  ['requests handled', 'hopwire_requests_handled_total', true],
  ['requests sent', 'hopwire_requests_sent_total', true],
  ['requests timed out', 'hopwire_requests_timed_out_total', true],
  ['pending requests', 'hopwire_pending_requests', false],
  ['write buffers (bytes)', 'hopwire_write_buffer_bytes', false],
  ['decode errors', 'hopwire_decode_errors_total', true],
  ['ping timeouts', 'hopwire_disconnects_total{reason="ping-timeout"}', true],
  ['slow consumers', 'hopwire_disconnects_total{reason="slow-consumer"}', true],
];

/** One table of the figures, with per-second rates against the previous snapshot. */
export function renderTable(now: Samples, before: Samples | undefined, seconds: number): string {
  const lines = [`${'figure'.padEnd(24)}${'value'.padStart(14)}${'per second'.padStart(14)}`];
  for (const [label, metric, rate] of ROWS) {
    const value = now[metric] ?? 0;
    const previous = before?.[metric];
    const perSecond = rate && previous !== undefined && seconds > 0 ? ((value - previous) / seconds).toFixed(1) : '';
    lines.push(`${label.padEnd(24)}${String(value).padStart(14)}${perSecond.padStart(14)}`);
  }
  const uptime = now.hopwire_uptime_seconds;
  if (uptime !== undefined) lines.push(`${'uptime (s)'.padEnd(24)}${uptime.toFixed(0).padStart(14)}`);
  return lines.join('\n');
}

async function runStats(values: Values): Promise<number> {
  const url = str(values, 'metrics-url');
  if (url === undefined) throw new UsageError('stats needs --metrics-url URL (the server\'s metrics endpoint)', 'stats');
  if (flag(values, 'json')) {
    out(JSON.stringify(await fetchSamples(url), null, 2));
    return EXIT_OK;
  }
  const interval = integer(values, 'interval', 'stats', 50, 3_600_000) ?? 1000;
  const count = integer(values, 'count', 'stats', 1, Number.MAX_SAFE_INTEGER);
  const tty = process.stdout.isTTY;
  let before: Awaited<ReturnType<typeof fetchSamples>> | undefined;
  let at = performance.now();
  const stop = { requested: false }; // set by a signal while the loop waits
  const off = onSignals(() => {
    stop.requested = true;
  });
  try {
    for (let n = 0; !stop.requested && (count === undefined || n < count); n++) {
      if (n > 0) await new Promise((resolve) => setTimeout(resolve, interval));
      const now = await fetchSamples(url);
      const t = performance.now();
      const table = renderTable(now, before, (t - at) / 1000);
      out(tty ? `\x1b[2J\x1b[H${url}\n${table}` : `${table}\n`);
      before = now;
      at = t;
    }
  } finally {
    off();
  }
  return EXIT_OK;
}

/** `hopwire stats`. */
export const stats: Command = {
  options: { 'metrics-url': { type: 'string' }, json: { type: 'boolean' }, interval: { type: 'string' }, count: { type: 'string' } },
  positionals: false,
  run: runStats,
};
