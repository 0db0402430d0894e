/**
 * Snapshot history and the window guard, for the DuckDB destination (the same rules as the
 * Postgres destination; the contract suite pins that both agree, names included).
 *
 * History (`CommitRequest.history`): `<table>_history` has the target's data and audit columns
 * (not `_deleted_at`: a row in a snapshot is present by definition) with the target's native
 * types, key = primaryKey + cursorColumn. Each snapshot commit deletes the history rows whose
 * cursor lies in the window and inserts the staged rows deduplicated exactly as the merge does
 * (one row per key: latest cursor, then latest staged): re-running a day replaces that day, other
 * days stay. Its columns follow the target's column map (`_exportsync_columns` has no entries of
 * its own for it): a separate map could drift from the target's and mistype the history.
 *
 * Window guard: replace_window and history only delete rows whose cursor lies in the window, so
 * a staged row outside it (or with a NULL cursor) would never be replaced by a re-run of its own
 * window: it would be doubled. The commit refuses such rows with a DataError instead.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, TableSchema, Window } from '../../core/contracts.js';
import { DataError } from '../../core/errors.js';
import { quoteIdent, windowBounds } from './duckdb-sql.js';
import { select } from './duckdb-state.js';
import { castFromText, nativeFor } from './duckdb-types.js';

/**
 * Throws a DataError when a staged row's cursor is NULL or outside [from, to), naming how many
 * and the first one staged (its staged text). `stage` is the VARCHAR TEMP table.
 */
export async function assertCursorsInWindow(
  conn: DuckDBConnection,
  opts: {
    stage: string;
    seq: string;
    schema: TableSchema;
    cursorType: 'timestamp' | 'date';
    stagedTypes: ReadonlySet<LogicalType>;
    window: Window;
    streamKey: string;
    why: string;
  },
): Promise<void> {
  const raw = `s.${quoteIdent(opts.schema.cursorColumn)}`;
  const typed = castFromText(raw, nativeFor(opts.cursorType), opts.stagedTypes);
  const cast = opts.cursorType === 'date' ? 'DATE' : 'TIMESTAMPTZ';
  const sql =
    `SELECT CAST(count(*) AS VARCHAR) AS n, arg_min(coalesce(raw, 'NULL'), seq) AS first FROM ` +
    `(SELECT ${raw} AS raw, ${typed} AS c, s.${quoteIdent(opts.seq)} AS seq FROM ${opts.stage} AS s) ` +
    `WHERE c IS NULL OR c < CAST($1 AS ${cast}) OR c >= CAST($2 AS ${cast})`;
  const [from, to] = windowBounds(opts.window, opts.cursorType);
  const [row] = await select<{ n: string; first: string | null }>(conn, sql, [from, to]);
  const n = Number(row?.n ?? 0);
  if (n === 0) return;
  throw new DataError(
    `${opts.streamKey}: ${n} staged row(s) have ${opts.schema.cursorColumn} outside the window ` +
      `[${from}, ${to}) (first: ${row?.first ?? 'NULL'}); ${opts.why} only replaces rows ` +
      `inside the window, so a re-run would double them (nothing committed)`,
    { stream: opts.streamKey, field: opts.schema.cursorColumn },
  );
}
