/**
 * The targets of issue 10, checked against measurements: `npm run bench -- … --check` (the
 * `bench:check` script) exits 1 when any run misses one. Ratios are taken against the limit
 * measured in the same run, so a loaded machine moves both sides; peak RSS is absolute.
 */
import type { Measurement } from './report.js';

export const TARGETS = {
  /** Fraction of the raw-load limit (limit seconds / sync seconds). */
  ratio: { postgres: 0.6, duckdb: 0.5 },
  /** Peak RSS of the sync process, MB. */
  peakRssMb: 300,
} as const;

/** One line per missed target; empty when every measurement meets them. */
export function missedTargets(ms: Measurement[]): string[] {
  const missed: string[] = [];
  for (const m of ms) {
    const ratio = m.limitSeconds / m.wallSeconds;
    const want = TARGETS.ratio[m.dest];
    const what = `${m.dest} ${m.rows.toLocaleString('en-US')} rows #${m.attempt}`;
    if (ratio < want) missed.push(`${what}: ratio ${ratio.toFixed(2)} < ${want}`);
    if (m.peakRssMb >= TARGETS.peakRssMb)
      missed.push(`${what}: peak RSS ${m.peakRssMb.toFixed(0)} MB >= ${TARGETS.peakRssMb} MB`);
  }
  return missed;
}
