/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit of the window's rows (`upsertWindow` inside that transaction); written
 * separately, a crash between the two would make a resumed backfill skip a window whose rows never
 * landed. Upserts are MERGEs on (stream_key, window_from, window_to). The row ↔ record conversion
 * is shared (bookkeeping-windows.ts).
 */
import type { WindowRecord } from '../../core/contracts.js';
import { byName } from '../bookkeeping-cells.js';
import {
  WINDOW_COLUMNS,
  windowBinds,
  windowFromRow,
  WINDOWS_TABLE,
  type WindowColumn,
} from '../bookkeeping-windows.js';
import { isoMillis, qualified } from './snowflake-sql.js';
import { mergeRowSql, type Run } from './snowflake-state.js';

export function createWindowsTableSql(schema: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, WINDOWS_TABLE)} (` +
    `"stream_key" VARCHAR NOT NULL, "window_from" TIMESTAMP_TZ NOT NULL, "window_to" TIMESTAMP_TZ NOT NULL, ` +
    `"backfill_id" VARCHAR NOT NULL, "shard" VARCHAR NOT NULL, "status" VARCHAR NOT NULL, ` +
    `"rows" NUMBER(38,0) NOT NULL, "attempts" NUMBER(38,0) NOT NULL, "duration_ms" NUMBER(38,0) NOT NULL, ` +
    `"error" VARCHAR, "updated_at" TIMESTAMP_TZ NOT NULL)`
  );
}

/** Each ledger column with the cast of its bind (`windowBinds` order). */
const WINDOW_CASTS: Record<WindowColumn, string> = {
  stream_key: 'VARCHAR',
  window_from: 'TIMESTAMP_TZ',
  window_to: 'TIMESTAMP_TZ',
  backfill_id: 'VARCHAR',
  shard: 'VARCHAR',
  status: 'VARCHAR',
  rows: 'NUMBER(38,0)',
  attempts: 'NUMBER(38,0)',
  duration_ms: 'NUMBER(38,0)',
  error: 'VARCHAR',
  updated_at: 'TIMESTAMP_TZ',
};

export async function upsertWindow(run: Run, schema: string, r: WindowRecord): Promise<void> {
  await run(
    mergeRowSql(
      qualified(schema, WINDOWS_TABLE),
      ['stream_key', 'window_from', 'window_to'],
      WINDOW_COLUMNS.map((c) => [c, `CAST(? AS ${WINDOW_CASTS[c]})`]),
    ),
    windowBinds(r),
  );
}

export async function readWindows(run: Run, schema: string, streamKeys?: string[]): Promise<WindowRecord[]> {
  if (streamKeys && streamKeys.length === 0) return [];
  const where = streamKeys ? `WHERE "stream_key" IN (${streamKeys.map(() => '?').join(', ')})` : '';
  const { rows } = await run(
    `SELECT "stream_key", ${isoMillis('"window_from"')}, ${isoMillis('"window_to"')}, "backfill_id", "shard", "status", ` +
      `CAST("rows" AS VARCHAR), CAST("attempts" AS VARCHAR), CAST("duration_ms" AS VARCHAR), "error", ${isoMillis('"updated_at"')} ` +
      `FROM ${qualified(schema, WINDOWS_TABLE)} ${where} ORDER BY "stream_key", "window_from", "window_to"`,
    streamKeys ?? [],
  );
  return rows.map((r) => windowFromRow(byName(WINDOW_COLUMNS, r))); // the SELECT lists them in order
}
