/**
 * Reads a bench/memory-trace.ts timeline: the breakdown at the sampled RSS peak (V8 heap by space,
 * external, array buffers, and the rest = native: malloc arenas, DuckDB, code, stacks), the maxima
 * of each figure, and with --timeline a coarse table over time with the phase running then.
 *
 *   npx tsx bench/memory-summary.ts TRACE.json [--timeline 40]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { MemorySample, MemoryTrace } from './memory-trace.js';

const MB = 1024 * 1024;
const mb = (n: number): string => (n / MB).toFixed(0);

export interface MemorySummary {
  hwmMb: number;
  sampledPeakMb: number;
  peakAtS: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** RSS − heapTotal − external at the peak: memory neither V8's heap nor Buffers account for. */
  nativeMb: number;
  maxHeapUsedMb: number;
  maxExternalMb: number;
  atPeak: string;
  maxima: string;
}

export function summarise(trace: MemoryTrace): MemorySummary {
  const peak = trace.samples.reduce((a, b) => (b.rss > a.rss ? b : a));
  const max = (f: (s: MemorySample) => number): number => Math.max(...trace.samples.map(f));
  const sp = (s: MemorySample, name: string): string => {
    const v = s.spaces[name];
    return v ? `${mb(v[0])}/${mb(v[1])}` : '-';
  };
  const native = peak.rss - peak.heapTotal - peak.external;
  return {
    hwmMb: trace.hwm / MB,
    sampledPeakMb: peak.rss / MB,
    peakAtS: peak.t / 1000,
    heapUsedMb: peak.heapUsed / MB,
    heapTotalMb: peak.heapTotal / MB,
    externalMb: peak.external / MB,
    nativeMb: native / MB,
    maxHeapUsedMb: max((s) => s.heapUsed) / MB,
    maxExternalMb: max((s) => s.external) / MB,
    atPeak:
      `rss ${mb(peak.rss)} @${(peak.t / 1000).toFixed(1)}s = heap ${mb(peak.heapUsed)} used/${mb(peak.heapTotal)} total ` +
      `(new ${sp(peak, 'new')}, old ${sp(peak, 'old')}, lo ${sp(peak, 'large_object')}) + external ${mb(peak.external)} ` +
      `(arrayBuffers ${mb(peak.arrayBuffers)}) + native ${mb(native)}`,
    maxima: `heapUsed ${mb(max((s) => s.heapUsed))}, heapTotal ${mb(max((s) => s.heapTotal))}, external ${mb(max((s) => s.external))}, VmHWM ${mb(trace.hwm)}`,
  };
}

/** One line per `rows`-th of the run: the sample with the highest RSS in it and the phases overlapping it. */
export function timeline(trace: MemoryTrace, rows: number): string {
  const end = trace.samples[trace.samples.length - 1]!.t;
  const step = end / rows;
  const lines = ['| t s | rss | heapUsed | heapTotal | new | old | lo | external | native | phases |'];
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (let i = 0; i < rows; i++) {
    const [from, to] = [i * step, (i + 1) * step];
    const inside = trace.samples.filter((s) => s.t >= from && s.t < to);
    if (inside.length === 0) continue;
    const s = inside.reduce((a, b) => (b.rss > a.rss ? b : a));
    const phases = new Set(trace.marks.filter((m) => m.s < to && m.e > from).map((m) => m.k));
    const u = (name: string): string => mb(s.spaces[name]?.[0] ?? 0);
    lines.push(
      `| ${(s.t / 1000).toFixed(1)} | ${mb(s.rss)} | ${mb(s.heapUsed)} | ${mb(s.heapTotal)} | ${u('new')} | ${u('old')} | ${u('large_object')} | ${mb(s.external)} | ${mb(s.rss - s.heapTotal - s.external)} | ${[...phases].join(', ')} |`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: memory-summary.ts TRACE.json [--timeline N]');
  const trace = JSON.parse(readFileSync(file, 'utf8')) as MemoryTrace;
  const s = summarise(trace);
  process.stdout.write(`${s.atPeak}\nmaxima: ${s.maxima}\n`);
  const at = process.argv.indexOf('--timeline');
  if (at > 0) process.stdout.write(`${timeline(trace, Number(process.argv[at + 1] ?? 40))}\n`);
}
