/**
 * Snapshot history and the window guard, for the Postgres destination.
 *
 * History (`CommitRequest.history`): `<table>_history` has the target's data and audit columns
 * (not `_deleted_at`: a row in a snapshot is present by definition), key = primaryKey +
 * cursorColumn. Each snapshot commit deletes the history rows whose cursor lies in the window and
 * inserts the staged rows deduplicated exactly as the merge does (one row per key: latest cursor,
 * then latest staged), so re-running a day replaces that day and other days stay. Its columns are
 * derived from the target's column map (`_exportsync_columns` has no entries of its own for it):
 * if it kept a map of its own, the two could drift and the history would be refused or mistyped.
 *
 * Window guard: replace_window and history only ever delete rows whose cursor lies in the
 * window, so a staged row outside it (or with a NULL cursor) would never be replaced by a re-run
 * of its own window: it would be doubled. The commit refuses such rows with a DataError instead.
 */
import type pg from 'pg';
import type { TableSchema, Window } from '../../core/contracts.js';
import { DataError } from '../../core/errors.js';
import { quoteIdent, windowBounds } from './postgres-sql.js';

/**
 * Throws a DataError when a staged row's cursor is NULL or outside [from, to), naming how many
 * and the first one staged. `staging` is the typed TEMP table, `seq` its staging-order column.
 */
export async function assertCursorsInWindow(
  client: pg.ClientBase,
  opts: {
    staging: string;
    seq: string;
    schema: TableSchema;
    cursorType: 'timestamp' | 'date';
    window: Window;
    streamKey: string;
    why: string;
  },
): Promise<void> {
  const c = quoteIdent(opts.schema.cursorColumn);
  const cast = opts.cursorType === 'date' ? 'date' : 'timestamptz';
  const text =
    opts.cursorType === 'date'
      ? `${c}::text`
      : `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const outside = `${c} IS NULL OR ${c} < $1::${cast} OR ${c} >= $2::${cast}`;
  const sql =
    `SELECT count(*)::text AS n, (SELECT coalesce(${text}, 'NULL') FROM ${opts.staging} ` +
    `WHERE ${outside} ORDER BY ${quoteIdent(opts.seq)} LIMIT 1) AS first FROM ${opts.staging} WHERE ${outside}`;
  const res = await client.query<{ n: string; first: string | null }>(
    sql,
    windowBounds(opts.window, opts.cursorType),
  );
  const n = Number(res.rows[0]?.n ?? 0);
  if (n === 0) return;
  const [from, to] = windowBounds(opts.window, opts.cursorType);
  throw new DataError(
    `${opts.streamKey}: ${n} staged row(s) have ${opts.schema.cursorColumn} outside the window ` +
      `[${from}, ${to}) (first: ${res.rows[0]?.first ?? 'NULL'}); ${opts.why} only replaces rows ` +
      `inside the window, so a re-run would double them (nothing committed)`,
    { stream: opts.streamKey, field: opts.schema.cursorColumn },
  );
}
