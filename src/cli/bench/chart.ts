/**
 * An SVG chart of a run over time: latency percentiles per second on a log
 * scale (p50 and p99.9 are often two orders of magnitude apart) above the
 * throughput per second. Plain SVG, no chart library.
 */
import type { BenchResult, TimelinePoint } from './run.js';

const WIDTH = 900;
const PANEL_HEIGHT = 250;
const LEFT = 80;
const RIGHT = 130; // room for the legend
const TOP = 50;
const GAP = 60;
const BOTTOM = 45;
const HEIGHT = TOP + PANEL_HEIGHT + GAP + PANEL_HEIGHT + BOTTOM;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;

const SERIES: { key: 'p50' | 'p99' | 'p999'; label: string; color: string }[] = [
  { key: 'p50', label: 'p50', color: '#1f77b4' },
  { key: 'p99', label: 'p99', color: '#ff7f0e' },
  { key: 'p999', label: 'p99.9', color: '#d62728' },
];

export function renderChart(result: BenchResult): string {
  const points = result.timeline;
  const tMax = Math.max(1, ...points.map((p) => p.t));
  const x = (t: number): number => LEFT + (t / tMax) * PLOT_WIDTH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    text(LEFT, 22, `zkts bench ${result.workload} against ${escape(result.connect)}: ${result.opsPerSec.toLocaleString('en-US')} ops/s, p99 ${result.latencyMs.p99} ms`, {
      size: 15,
      weight: 'bold',
    }),
  ];
  parts.push(...latencyPanel(points, x, TOP));
  parts.push(...throughputPanel(points, x, TOP + PANEL_HEIGHT + GAP));
  const bottomAxis = TOP + 2 * PANEL_HEIGHT + GAP;
  for (const t of niceTicks(0, tMax)) {
    parts.push(line(x(t), bottomAxis, x(t), bottomAxis + 5, '#333'));
    parts.push(text(x(t), bottomAxis + 18, formatTick(t), { anchor: 'middle' }));
    parts.push(line(x(t), TOP + PANEL_HEIGHT, x(t), TOP + PANEL_HEIGHT + 5, '#333'));
  }
  parts.push(text(LEFT + PLOT_WIDTH / 2, HEIGHT - 8, 'seconds of measured time', { anchor: 'middle' }));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function latencyPanel(points: TimelinePoint[], x: (t: number) => number, top: number): string[] {
  const values = points.flatMap((p) => SERIES.map((s) => p[s.key])).filter((v) => v > 0);
  const lowDecade = Math.floor(Math.log10(Math.min(1, ...values)));
  const highDecade = Math.max(lowDecade + 1, Math.ceil(Math.log10(Math.max(...values, 1))));
  const y = (v: number): number => {
    const clamped = Math.max(v, 10 ** lowDecade);
    return top + PANEL_HEIGHT - ((Math.log10(clamped) - lowDecade) / (highDecade - lowDecade)) * PANEL_HEIGHT;
  };
  const parts = [frame(top), axisLabel(top, 'latency (ms, log scale)')];
  for (let d = lowDecade; d <= highDecade; d++) {
    for (const m of d === highDecade ? [1] : [1, 2, 5]) {
      const v = m * 10 ** d;
      parts.push(line(LEFT, y(v), LEFT + PLOT_WIDTH, y(v), m === 1 ? '#ccc' : '#eee'));
      parts.push(text(LEFT - 6, y(v) + 4, formatTick(v), { anchor: 'end' }));
    }
  }
  SERIES.forEach((s, i) => {
    parts.push(polyline(points.map((p) => [x(p.t), y(p[s.key])]), s.color));
    legend(parts, top + 12 + i * 18, s.label, s.color);
  });
  return parts;
}

function throughputPanel(points: TimelinePoint[], x: (t: number) => number, top: number): string[] {
  const ticks = niceTicks(0, Math.max(1, ...points.map((p) => p.opsPerSec)));
  const yMax = ticks[ticks.length - 1]!;
  const y = (v: number): number => top + PANEL_HEIGHT - (v / yMax) * PANEL_HEIGHT;
  const parts = [frame(top), axisLabel(top, 'throughput (ops/s)')];
  for (const v of ticks) {
    parts.push(line(LEFT, y(v), LEFT + PLOT_WIDTH, y(v), '#ddd'));
    parts.push(text(LEFT - 6, y(v) + 4, v.toLocaleString('en-US'), { anchor: 'end' }));
  }
  parts.push(polyline(points.map((p) => [x(p.t), y(p.opsPerSec)]), '#2ca02c'));
  legend(parts, top + 12, 'ops/s', '#2ca02c');
  return parts;
}

function frame(top: number): string {
  return `<rect x="${LEFT}" y="${top}" width="${PLOT_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="#333"/>`;
}

function axisLabel(top: number, label: string): string {
  const cy = top + PANEL_HEIGHT / 2;
  return `<text x="18" y="${cy}" transform="rotate(-90 18 ${cy})" text-anchor="middle">${escape(label)}</text>`;
}

function legend(parts: string[], y: number, label: string, color: string): void {
  const lx = LEFT + PLOT_WIDTH + 15;
  parts.push(line(lx, y, lx + 25, y, color, 2.5));
  parts.push(text(lx + 32, y + 4, label, {}));
}

/** A line through the points, with a dot on each when there are few. */
function polyline(points: [number, number][], color: string): string {
  const coords = points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const dots = points.length <= 30 ? points.map(([px, py]) => `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="${color}"/>`) : [];
  return [`<polyline points="${coords}" fill="none" stroke="${color}" stroke-width="2"/>`, ...dots].join('\n');
}

function line(x1: number, y1: number, x2: number, y2: number, color: string, width = 1): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${color}" stroke-width="${width}"/>`;
}

function text(tx: number, ty: number, content: string, opts: { anchor?: 'start' | 'middle' | 'end'; size?: number; weight?: string }): string {
  const attrs = [
    `x="${tx.toFixed(1)}"`,
    `y="${ty.toFixed(1)}"`,
    opts.anchor ? `text-anchor="${opts.anchor}"` : '',
    opts.size ? `font-size="${opts.size}"` : '',
    opts.weight ? `font-weight="${opts.weight}"` : '',
  ];
  return `<text ${attrs.filter((a) => a !== '').join(' ')}>${escape(content)}</text>`;
}

/** Round tick values (steps of 1, 2 or 5 × 10^n) covering [low, high], about six of them. */
function niceTicks(low: number, high: number): number[] {
  const rough = (high - low) / 6;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let v = Math.floor(low / step) * step; v < high + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
