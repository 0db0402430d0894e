/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit of the window's rows (`upsertWindow` inside that transaction); if it were
 * written separately, a crash between the two would make a resumed backfill skip a window whose
 * rows never landed.
 */
import type pg from 'pg';
import type { WindowRecord } from '../../core/contracts.js';
import { redactSecrets } from '../../core/errors.js';
import { qualified } from './postgres-sql.js';

export const WINDOWS_TABLE = '_exportsync_windows';

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
    `INSERT INTO ${qualified(schema, WINDOWS_TABLE)}
       (stream_key, window_from, window_to, backfill_id, shard, status, rows, attempts, duration_ms, error, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (stream_key, window_from, window_to) DO UPDATE SET backfill_id = EXCLUDED.backfill_id,
       shard = EXCLUDED.shard, status = EXCLUDED.status, rows = EXCLUDED.rows, attempts = EXCLUDED.attempts,
       duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error, updated_at = EXCLUDED.updated_at`,
    [
      r.streamKey,
      r.window.from.toISOString(),
      r.window.to.toISOString(),
      r.backfillId,
      r.shard,
      r.status,
      String(r.rows),
      r.attempts,
      String(Math.round(r.durationMs)),
      r.error === undefined ? null : redactSecrets(r.error),
      r.updatedAt,
    ],
  );
}

interface WindowRow {
  stream_key: string;
  window_from: Date;
  window_to: Date;
  backfill_id: string;
  shard: string;
  status: WindowRecord['status'];
  rows: string;
  attempts: number;
  duration_ms: string;
  error: string | null;
  updated_at: Date;
}

export async function readWindows(
  db: Queryable,
  schema: string,
  streamKeys?: string[],
): Promise<WindowRecord[]> {
  const where = streamKeys ? 'WHERE stream_key = ANY($1::text[])' : '';
  const res = await db.query<WindowRow>(
    `SELECT * FROM ${qualified(schema, WINDOWS_TABLE)} ${where} ORDER BY stream_key, window_from, window_to`,
    streamKeys ? [streamKeys] : [],
  );
  return res.rows.map((r) => ({
    streamKey: r.stream_key,
    window: { from: r.window_from, to: r.window_to },
    backfillId: r.backfill_id,
    shard: r.shard,
    status: r.status,
    rows: Number(r.rows),
    attempts: r.attempts,
    durationMs: Number(r.duration_ms),
    ...(r.error === null ? {} : { error: r.error }),
    updatedAt: r.updated_at.toISOString(),
  }));
}
