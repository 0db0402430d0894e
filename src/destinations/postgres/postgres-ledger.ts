/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit of the window's rows (`upsertWindow` inside that transaction); if it were
 * written separately, a crash between the two would make a resumed backfill skip a window whose
 * rows never landed. The row ↔ record conversion is shared (bookkeeping-windows.ts).
 */
import type pg from 'pg';
import type { WindowRecord } from '../../core/contracts.js';
import {
  WINDOW_COLUMNS,
  windowBinds,
  windowFromRow,
  WINDOWS_TABLE,
  type WindowRow,
} from '../bookkeeping-windows.js';
import { qualified } from './postgres-sql.js';

type Queryable = Pick<pg.ClientBase, 'query'> | pg.Pool;

export function createWindowsTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, WINDOWS_TABLE)} (
     stream_key text NOT NULL, window_from timestamptz NOT NULL, window_to timestamptz NOT NULL,
     backfill_id text NOT NULL, shard text NOT NULL, status text NOT NULL, rows bigint NOT NULL DEFAULT 0,
     attempts integer NOT NULL DEFAULT 0, duration_ms bigint NOT NULL DEFAULT 0, error text,
     updated_at timestamptz NOT NULL, PRIMARY KEY (stream_key, window_from, window_to))`;
}

export async function upsertWindow(db: Queryable, schema: string, r: WindowRecord): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, WINDOWS_TABLE)} (${WINDOW_COLUMNS.join(', ')})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (stream_key, window_from, window_to) DO UPDATE SET backfill_id = EXCLUDED.backfill_id,
       shard = EXCLUDED.shard, status = EXCLUDED.status, rows = EXCLUDED.rows, attempts = EXCLUDED.attempts,
       duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error, updated_at = EXCLUDED.updated_at`,
    windowBinds(r),
  );
}

export async function readWindows(
  db: Queryable,
  schema: string,
  streamKeys?: string[],
): Promise<WindowRecord[]> {
  const where = streamKeys ? 'WHERE stream_key = ANY($1::text[])' : '';
  // timestamptz arrives as Date, bigint as text: windowFromRow takes them as they are
  const res = await db.query<WindowRow>(
    `SELECT ${WINDOW_COLUMNS.join(', ')} FROM ${qualified(schema, WINDOWS_TABLE)} ${where}
     ORDER BY stream_key, window_from, window_to`,
    streamKeys ? [streamKeys] : [],
  );
  return res.rows.map(windowFromRow);
}
