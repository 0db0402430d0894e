/**
 * `_exportsync_windows`: the backfill ledger (same shape as the Postgres destination's). 'done' is
 * only ever written by the commit of the window's rows (`upsertWindow` inside that transaction):
 * written separately, a crash between the two would make a resumed backfill skip a window whose
 * rows never landed. The row ↔ record conversion is shared (bookkeeping-windows.ts).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { WindowRecord } from '../../core/contracts.js';
import {
  ofStreams,
  WINDOW_COLUMNS,
  windowBinds,
  windowFromRow,
  WINDOWS_TABLE,
  type WindowRow,
} from '../bookkeeping-windows.js';
import { columnList, qualified, type Namespace } from './duckdb-sql.js';
import { select } from './duckdb-state.js';

export function createWindowsTableSql(ns: Namespace): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(ns, WINDOWS_TABLE)} (
     stream_key VARCHAR NOT NULL, window_from TIMESTAMPTZ NOT NULL, window_to TIMESTAMPTZ NOT NULL,
     backfill_id VARCHAR NOT NULL, shard VARCHAR NOT NULL, status VARCHAR NOT NULL, "rows" BIGINT NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0, duration_ms BIGINT NOT NULL DEFAULT 0, error VARCHAR,
     updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (stream_key, window_from, window_to))`;
}

export async function upsertWindow(c: DuckDBConnection, ns: Namespace, r: WindowRecord): Promise<void> {
  await c.run(
    `INSERT INTO ${qualified(ns, WINDOWS_TABLE)} (${columnList([...WINDOW_COLUMNS])})
     VALUES ($1, CAST($2 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), $4, $5, $6, CAST($7 AS BIGINT),
       CAST($8 AS INTEGER), CAST($9 AS BIGINT), $10, CAST($11 AS TIMESTAMPTZ))
     ON CONFLICT (stream_key, window_from, window_to) DO UPDATE SET backfill_id = EXCLUDED.backfill_id,
       shard = EXCLUDED.shard, status = EXCLUDED.status, "rows" = EXCLUDED."rows", attempts = EXCLUDED.attempts,
       duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error, updated_at = EXCLUDED.updated_at`,
    windowBinds(r),
  );
}

export async function readWindows(
  c: DuckDBConnection,
  ns: Namespace,
  streamKeys?: string[],
): Promise<WindowRecord[]> {
  // instants as epoch milliseconds (a DOUBLE reads as a number): see windowFromRow
  const rows = await select<WindowRow>(
    c,
    `SELECT stream_key, CAST(epoch_ms(window_from) AS DOUBLE) AS window_from,
       CAST(epoch_ms(window_to) AS DOUBLE) AS window_to, backfill_id, shard, status, "rows", attempts, duration_ms,
       error, CAST(epoch_ms(updated_at) AS DOUBLE) AS updated_at
     FROM ${qualified(ns, WINDOWS_TABLE)} AS w ORDER BY w.stream_key, w.window_from, w.window_to`,
  );
  return ofStreams(rows.map(windowFromRow), streamKeys);
}
