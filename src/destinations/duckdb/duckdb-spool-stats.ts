/**
 * The writers' measurements (`CsvRows.stats`) of a DuckDB spool's files, merged per file, so the
 * commit can size DECIMAL columns without its check pass reading every value again. A column is
 * known for a file only when every write to it measured that column; if one unmeasured write's
 * values were left out, the column would be sized too small and the commit would fail the cast
 * or round them.
 */
import type { CsvRows } from '../../core/contracts.js';

/** Integer and fraction digits of a column's values, as `decimalNeedExprs` counts them. */
export interface DecimalDigits {
  intDigits: number;
  scale: number;
}

/** The digits a write measured, per line column (undefined: it measured nothing). */
export function digitsOf(stats: CsvRows['stats']): Map<number, DecimalDigits> | undefined {
  if (!stats) return undefined;
  return new Map(
    stats.decimals.map((d) => [d.column, { intDigits: d.integerDigits, scale: d.fractionDigits }]),
  );
}

/** `was` with a write's stats merged in: only columns both measured (undefined: one measured nothing). */
export function mergeStats(
  was: Map<number, DecimalDigits> | undefined,
  stats: CsvRows['stats'],
): Map<number, DecimalDigits> | undefined {
  const add = digitsOf(stats);
  if (!was || !add) return undefined;
  const next = new Map<number, DecimalDigits>();
  for (const [column, d] of add) {
    const prior = was.get(column);
    if (prior)
      next.set(column, {
        intDigits: Math.max(prior.intDigits, d.intDigits),
        scale: Math.max(prior.scale, d.scale),
      });
  }
  return next;
}

/**
 * The digits of each of `columns` (line indexes) over the files `used`, or undefined when some
 * file does not know one of them. A column past a file's width is NULL there.
 */
export function spooledDigits(
  used: Array<{ width: number; measured?: Map<number, DecimalDigits> }>,
  columns: number[],
): DecimalDigits[] | undefined {
  const out = columns.map(() => ({ intDigits: 0, scale: 0 }));
  for (const seg of used) {
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      if (c >= seg.width) continue;
      const d = seg.measured?.get(c);
      if (!d) return undefined;
      out[i]!.intDigits = Math.max(out[i]!.intDigits, d.intDigits);
      out[i]!.scale = Math.max(out[i]!.scale, d.scale);
    }
  }
  return out;
}
