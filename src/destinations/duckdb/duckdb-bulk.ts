/**
 * The bulk first load of a DuckDB merge table (`Destination.settle`, contracts.ts). DuckDB targets
 * have no key index (duckdb-sql.ts `createTableSql` says why), so every merge window used to
 * check its keys against the whole target: the key column was read again per window (~35 ms per
 * million stored keys) and its blocks stayed in the buffer pool (~3.8 MB per 100k rows). Instead,
 * the commit that CREATES a merge table from a large window (`BULK_FIRST_LOAD_MIN_ROWS`) records
 * it here, in that same transaction, with its key, cursor and run; every later commit of THAT run
 * into the recorded table appends its rows as they are (no key check, no deduplication), and
 * `settleBulk` removes the repeats per key in one transaction and deletes the record. A commit of
 * any other run (the one after a crash) settles the table first, in its own transaction, and then
 * merges: what it re-reads is never appended twice.
 *
 * Which copy of a key stays (as the merges would have chosen): the latest cursor, then the latest
 * `_exportsync_loaded_at` (one value per commit: `now()` is the transaction's start), then the
 * highest rowid. DuckDB gives an appended row the next rowid of its table and only renumbers rows
 * when a checkpoint vacuums deleted ones; a recorded table gets no deletes until it is settled, so
 * rowid order is insertion order (test/destinations/duckdb-bulk-settle.test.ts pins it across
 * commits, checkpoints, reopen and column changes), and the commit inserts a window's parts
 * (Appender rows, then each spool file) in staging order, one statement each. If the record were
 * written outside the creating commit, a crash in between would leave an appended table that
 * nothing settles (duplicates for good) or a settled-looking table that never was.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { readTable } from './duckdb-catalog.js';
import { qualified, quoteIdent, type Namespace } from './duckdb-sql.js';
import { select } from './duckdb-state.js';

export const BULK_TABLE = '_exportsync_bulk_loads';

/**
 * The smallest creating window that starts a bulk first load (as the Postgres destination's).
 * Below it a key check costs little and the table is merged from its first commit, as a small or
 * incremental stream's is, and needs no settle.
 */
export const BULK_FIRST_LOAD_MIN_ROWS = 10_000;

export function createBulkTableSql(ns: Namespace): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(ns, BULK_TABLE)} (
     table_name VARCHAR PRIMARY KEY, key_columns JSON NOT NULL, cursor_column VARCHAR NOT NULL,
     started_at TIMESTAMPTZ NOT NULL DEFAULT now(), run_id VARCHAR)`;
}

export interface BulkMark {
  primaryKey: string[];
  cursorColumn: string;
  /**
   * The run whose commit created the table. Only that run's commits append: any other run's first
   * commit settles the table, in its own transaction, before merging. Without this, a run after a
   * crash would append again the days its lookback re-reads, and they would show twice until a
   * run reached its end (measured: whole days doubled after each kill, chaos crash suite).
   */
  runId: string;
}

/**
 * Records `table` as in a bulk first load (`mark`), or as not (null). Only inside the commit
 * transaction that created it: a record left by a table of that name dropped outside exportsync
 * is replaced, so it can neither fail the commit nor make a keyed table append.
 */
export async function markBulk(
  c: DuckDBConnection,
  ns: Namespace,
  table: string,
  mark: BulkMark | null,
): Promise<void> {
  await c.run(`DELETE FROM ${qualified(ns, BULK_TABLE)} WHERE table_name = $1`, [table]);
  if (!mark) return;
  await c.run(
    `INSERT INTO ${qualified(ns, BULK_TABLE)} (table_name, key_columns, cursor_column, run_id) VALUES ($1, CAST($2 AS JSON), $3, $4)`,
    [table, JSON.stringify(mark.primaryKey), mark.cursorColumn, mark.runId],
  );
}

/** The record of `table`, or null when it is not in a bulk first load. */
export async function bulkMark(c: DuckDBConnection, ns: Namespace, table: string): Promise<BulkMark | null> {
  const [row] = await select<{ key_columns: string; cursor_column: string; run_id: string | null }>(
    c,
    `SELECT CAST(key_columns AS VARCHAR) AS key_columns, cursor_column, run_id FROM ${qualified(ns, BULK_TABLE)} WHERE table_name = $1`,
    [table],
  );
  if (!row) return null;
  return {
    primaryKey: JSON.parse(row.key_columns) as string[],
    cursorColumn: row.cursor_column,
    runId: row.run_id ?? '',
  };
}

/**
 * The statement that deletes every copy of a key but the one that stays (file comment). Only keys
 * that repeat are ranked: the GROUP BY reads the key columns once (DuckDB spills it past
 * `memory_limit`), and the window function sorts the repeated keys' rows only.
 */
export function settleDeleteSql(target: string, mark: BulkMark, loadedAt: boolean): string {
  const keys = mark.primaryKey.map(quoteIdent);
  const on = keys.map((k) => `t.${k} = d.${k}`).join(' AND ');
  const order = [
    `t.${quoteIdent(mark.cursorColumn)} DESC NULLS LAST`,
    ...(loadedAt ? [`t.${quoteIdent(AUDIT_COLUMNS.loadedAt)} DESC NULLS LAST`] : []),
    't.rowid DESC',
  ].join(', ');
  const partition = keys.map((k) => `t.${k}`).join(', ');
  return (
    `DELETE FROM ${target} WHERE rowid IN (SELECT rid FROM (` +
    `SELECT t.rowid AS rid, row_number() OVER (PARTITION BY ${partition} ORDER BY ${order}) AS rn ` +
    `FROM ${target} AS t SEMI JOIN (SELECT ${keys.join(', ')} FROM ${target} GROUP BY ALL HAVING count(*) > 1) AS d ON ${on}` +
    `) WHERE rn > 1)`
  );
}

/**
 * Settles `table` on `c`, which must be in a transaction the caller commits: removes the repeats
 * (file comment) and the record. Resolves with the rows removed, or null when `table` was not in a
 * bulk first load (nothing done).
 */
export async function settleBulk(c: DuckDBConnection, ns: Namespace, table: string): Promise<number | null> {
  const mark = await bulkMark(c, ns, table);
  if (!mark) return null;
  const found = await readTable(c, ns, table);
  let removed = 0;
  if (found) {
    const loadedAt = found.columns.some((col) => col.name === AUDIT_COLUMNS.loadedAt);
    removed = (await c.run(settleDeleteSql(qualified(ns, table), mark, loadedAt))).rowsChanged;
  }
  await c.run(`DELETE FROM ${qualified(ns, BULK_TABLE)} WHERE table_name = $1`, [table]);
  return removed;
}
