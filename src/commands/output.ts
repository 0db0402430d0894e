/** Human output of commands, on stdout. Logs go to stderr. */
import type { RunSummary } from '../engine/run.js';

const fmt = new Intl.NumberFormat('en-US');

export function formatSummary(summary: RunSummary): string {
  const lines = [
    `run ${summary.runId}: ${summary.status} in ${(summary.durationMs / 1000).toFixed(1)} s, ${fmt.format(summary.requests)} request(s)`,
  ];
  for (const s of summary.streams) {
    const what =
      s.status === 'ok' || s.status === 'interrupted'
        ? `${s.windows}/${s.windowsPlanned} window(s), ${fmt.format(s.staged)} rows read${s.encoded > 0 ? ` (${fmt.format(s.encoded)} by the CSV pass-through)` : ''}, ${fmt.format(s.upserted)} new or changed` +
          (s.deleted > 0 ? `, ${fmt.format(s.deleted)} replaced` : '') +
          (s.upserted === 0 && s.deleted === 0 && s.status === 'ok' ? ' (nothing new)' : '')
        : `${s.status.toUpperCase()}: ${s.error}`;
    lines.push(`  ${s.streamKey.padEnd(28)} ${what}; mark ${s.highWaterMark ?? '(none)'}`);
  }
  const bad = summary.streams.filter((s) => s.status === 'failed' || s.status === 'locked');
  if (bad.length > 0 && bad.length < summary.streams.length) {
    lines.push(`partial: ${bad.map((s) => s.streamKey).join(', ')} failed; the others committed`);
  }
  return lines.join('\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
