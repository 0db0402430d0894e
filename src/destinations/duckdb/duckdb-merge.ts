/**
 * The keyed merge of one window into a DuckDB target without a key index, at a cost that follows
 * the window, not the table. A MERGE INTO (or an UPDATE joined on the key) scans EVERY column of
 * the whole target under its hash join: DuckDB cannot prune it (ids are random, so the join's
 * min/max filter passes everything) and DECIMAL(38,s) columns decode at ~1 s per million values —
 * measured 2–13 s per daily merge at 730k rows (bench/results/incremental.md). Instead, in the
 * commit transaction:
 *
 *   1. the window's rows, deduplicated per key (`dedupedSql`: latest cursor, then latest staged),
 *      are materialised in a TEMP table together with the rowid of the target row holding the
 *      same key, found by a LEFT JOIN that reads only the key columns of the target (columnar:
 *      ~30 ms for 730k VARCHAR ids);
 *   2. the matched rowids are grouped into at most MAX_RANGES ranges (split at the largest gaps);
 *   3. one UPDATE joins the target on rowid, restricted to those ranges: a constant rowid range is
 *      pruned by the scan (row groups and vectors), so only the neighbourhood of the matched rows
 *      is read. It sets only rows whose data changed (IS DISTINCT FROM, as before);
 *   4. one INSERT adds the rows with no match.
 *
 * Same result as the MERGE: one row per key, unchanged rows untouched, `upserted` = updated +
 * inserted. Rowids are stable inside the transaction (DuckDB only moves rows at a checkpoint,
 * which does not run while a transaction is open), so step 3 hits exactly the rows step 1 found;
 * the key is compared too. If the key lookup were done with a window predicate on the cursor
 * instead, a duplicate whose stored copy sits on another day would be inserted twice.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { columnList, dedupedSql, quoteIdent } from './duckdb-sql.js';
import type { Run } from './duckdb-load-target.js';
import { select } from './duckdb-state.js';

/** TEMP table of one merge (the load's connection; created and dropped in the transaction). */
const ROWS = 'temp.main."_exportsync_merge_rows"';
/** Its column with the matched target rowid (NULL: a new key). */
const RID = '_exportsync_merge_rowid';
/**
 * Upper bound of rowid ranges in the UPDATE's filter (two bound values each). More ranges read
 * less of the table between scattered matches; past ~64 the OR filter itself costs more.
 */
export const MAX_RANGES = 64;
/** Matches closer than this (rows; a DuckDB vector is 2048) share a range: reading the gap is cheaper. */
export const MIN_GAP = 2048;

export interface MergeOptions {
  target: string;
  /** Typed staged rows: a subquery with every target column and `seq`. */
  source: string;
  /** Bind values of `source`. */
  params: DuckDBValue[];
  seq: string;
  columns: string[];
  primaryKey: string[];
  cursorColumn: string;
  /** Extra SET clauses on update (snapshot: un-delete). */
  extraSet?: string[];
  /** Extra condition that makes a matched row count as changed (snapshot: it was marked deleted). */
  extraChanged?: string;
}

/** Merges `source` into `target` (see the file comment); resolves with updated + inserted rows. */
export async function mergeWindow(conn: DuckDBConnection, run: Run, opts: MergeOptions): Promise<number> {
  await run(matchSql(opts), opts.params);
  let changed = 0;
  const update = updateSql(opts);
  if (update) {
    const ranges = await select<{ lo: string; hi: string }>(conn, rangesSql(), [MIN_GAP, MAX_RANGES]);
    if (ranges.length > 0) {
      changed += await run(
        update(ranges.length),
        ranges.flatMap((r) => [BigInt(r.lo), BigInt(r.hi)]),
      );
    }
  }
  changed += await run(insertSql(opts));
  // on a failure above the commit's ROLLBACK drops it (it was created in the transaction)
  await run(`DROP TABLE ${ROWS}`);
  return changed;
}

/** Step 1: deduplicated rows + rowid of the target row with the same key (only key columns read). */
export function matchSql(opts: MergeOptions): string {
  const deduped = dedupedSql(opts.source, opts.primaryKey, opts.cursorColumn, opts.seq);
  const on = opts.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  return `CREATE OR REPLACE TEMP TABLE ${ROWS} AS SELECT s.*, t.rowid AS ${quoteIdent(RID)} FROM (${deduped}) AS s LEFT JOIN ${opts.target} AS t ON ${on}`;
}

/**
 * Step 2: the matched rowids as at most $2 ranges [lo, hi]: a new range starts at a gap larger
 * than $1 that is among the $2 - 1 largest gaps.
 */
export function rangesSql(): string {
  const rid = quoteIdent(RID);
  const gaps = `SELECT ${rid} AS r, ${rid} - lag(${rid}) OVER (ORDER BY ${rid}) AS gap FROM ${ROWS} WHERE ${rid} IS NOT NULL`;
  const ranked = `SELECT r, gap, row_number() OVER (ORDER BY gap DESC NULLS LAST, r) AS n FROM (${gaps})`;
  const breaks = `SELECT r, CASE WHEN gap > $1 AND n < $2 THEN 1 ELSE 0 END AS b FROM (${ranked})`;
  const numbered = `SELECT r, sum(b) OVER (ORDER BY r ROWS UNBOUNDED PRECEDING) AS g FROM (${breaks})`;
  return `SELECT CAST(min(r) AS VARCHAR) AS lo, CAST(max(r) AS VARCHAR) AS hi FROM (${numbered}) GROUP BY g ORDER BY min(r)`;
}

/**
 * Step 3: update of the matched rows whose data changed, the scan restricted to `ranges` rowid
 * ranges ($1..$2n). Undefined when a matched row can never change (no column to set or compare),
 * as MERGE then had no WHEN MATCHED clause.
 */
export function updateSql(opts: MergeOptions): ((ranges: number) => string) | undefined {
  const keys = new Set(opts.primaryKey);
  const sets = opts.columns.filter((c) => !keys.has(c)).map((c) => `${quoteIdent(c)} = s.${quoteIdent(c)}`);
  sets.push(...(opts.extraSet ?? []));
  // A re-read row whose data is unchanged is not rewritten: it keeps the run id and load time of
  // the run that last changed it, and `upserted` counts only new or changed rows.
  const data = opts.columns.filter((c) => !keys.has(c) && !AUDIT_STAMPS.has(c));
  const changed =
    data.length > 0 ? [`row(${columnList(data, 't.')}) IS DISTINCT FROM row(${columnList(data, 's.')})`] : [];
  if (opts.extraChanged) changed.push(opts.extraChanged);
  if (sets.length === 0 || changed.length === 0) return undefined;
  const on = opts.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  return (ranges) => {
    const within = Array.from(
      { length: ranges },
      (_, i) => `t.rowid BETWEEN $${2 * i + 1} AND $${2 * i + 2}`,
    );
    return (
      `UPDATE ${opts.target} AS t SET ${sets.join(', ')} FROM ${ROWS} AS s ` +
      `WHERE (${within.join(' OR ')}) AND t.rowid = s.${quoteIdent(RID)} AND ${on} AND (${changed.join(' OR ')})`
    );
  };
}

/** Step 4: the rows whose key is not in the target. */
export function insertSql(opts: MergeOptions): string {
  return `INSERT INTO ${opts.target} (${columnList(opts.columns)}) SELECT ${columnList(opts.columns, 's.')} FROM ${ROWS} AS s WHERE s.${quoteIdent(RID)} IS NULL`;
}

/** Audit columns that differ on every load by construction; they never make a row "changed". */
const AUDIT_STAMPS: ReadonlySet<string> = new Set([AUDIT_COLUMNS.loadedAt, AUDIT_COLUMNS.runId]);
