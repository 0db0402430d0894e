/**
 * How many records a reader puts in one batch: `batch_rows`, or fewer when the records are wide,
 * so that one batch never holds more than BATCH_CELLS values (records × fields).
 *
 * Why values and not records: a batch is alive as a whole while it is parsed, mapped and encoded
 * (the split strings, the record arrays, the mapped rows), and it lives longer than one young-
 * generation cycle, so V8 promotes all of it to the old space, which it lets grow to ~4× its live
 * size before the next full GC. Memory therefore follows values per batch: 10,000 records of a
 * 252-field export (customer_instances with 200 dynamic columns) peaked at 890 MB RSS against
 * 181–270 MB with batches of this many values, at less CPU (bench/results/memory.md). If the
 * limit counted records only, a wide export would take the process past its memory again; if it
 * were much lower, per-batch overhead (a destination write per batch) would start to show.
 */

/** Values per batch at most: 2,500 records of a 24-field Scarf export. */
export const BATCH_CELLS = 60_000;

/**
 * Records per batch for records of `width` fields: `batchRows` (rounded down, at least 1), lowered
 * to floor(BATCH_CELLS / width) when that is smaller; never below 1, whatever the width.
 */
export function batchLimit(batchRows: number, width: number, cells = BATCH_CELLS): number {
  const rows = Math.max(1, Math.floor(batchRows));
  if (!(width > 0)) return rows;
  return Math.max(1, Math.min(rows, Math.floor(cells / width)));
}
