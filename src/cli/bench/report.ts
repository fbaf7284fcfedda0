/** The human-readable report of a `zkts bench` run, and the table layout it shares with bench/compare. */
import type { BenchResult } from './run.js';

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function describeLoad(r: BenchResult): string {
  const s = r.settings;
  const parts =
    r.workload === 'churn'
      ? [`${s.workers} workers × ${s.sessions} concurrent connect+close loops`]
      : [`${s.workers} workers, ${s.sessions} sessions × ${s.outstanding} outstanding`];
  if (r.workload !== 'churn') parts.push(`${s.size}-byte data`);
  if (r.workload === 'mixed') parts.push(`${Math.round(s.reads * 100)}% reads`);
  if (r.workload === 'multi') parts.push(`${s.multiSize} setData per multi`);
  if (['getData', 'setData', 'mixed', 'multi'].includes(r.workload)) parts.push(`${s.znodes} znodes`);
  parts.push(s.ops !== undefined ? `${formatCount(s.ops)} ops` : `${s.durationS} s after ${s.warmupS} s warm-up`);
  return parts.join(', ');
}

const LATENCY_MEANING: Record<BenchResult['workload'], string> = {
  create: 'per create',
  setData: 'per setData',
  getData: 'per getData',
  mixed: 'per getData or setData',
  watch: 'setData sent → notification received',
  churn: 'connect, session, close',
  multi: 'per multi',
};

export function formatReport(r: BenchResult): string {
  const errorCount = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const l = r.latencyMs;
  const cpu = r.client.workerCpuPercent.map((p, k) => `worker ${k} ${p}%`).join(', ');
  const lines = [
    `zkts bench ${r.workload} against ${r.connect}`,
    `  load        ${describeLoad(r)}`,
    `  throughput  ${formatCount(r.opsPerSec)} ops/s (${formatCount(r.ops)} ops in ${r.elapsedS.toFixed(2)} s), ${errorCount} errors`,
    '',
    indent(
      formatTable(
        [`latency ms (${LATENCY_MEANING[r.workload]})`, 'min', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
        [['', l.min, l.p50, l.p90, l.p99, l.p999, l.max, l.mean].map((v) => (typeof v === 'number' ? v.toFixed(3) : v))],
      ),
    ),
    '',
    `  client CPU  ${cpu} of a core` + (r.client.hostCpuPercent === undefined ? '' : `; machine ${r.client.hostCpuPercent}% busy`),
    ...r.warnings.map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
