/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit script of the window's rows (`windowStatements` inside its transaction);
 * if it were written separately, a crash between the two would make a resumed backfill skip a
 * window whose rows never landed. The row ↔ record conversion is shared (bookkeeping-windows.ts).
 */
import type { WindowRecord } from '../../core/contracts.js';
import {
  ofStreams,
  WINDOW_COLUMNS,
  windowFromRow,
  WINDOWS_TABLE,
  windowValues,
  type WindowColumn,
} from '../bookkeeping-windows.js';
import { stringParam, type BqClient, type Param, type Params } from './bigquery-client.js';
import { tableRef } from './bigquery-sql.js';
import { tsText } from './bigquery-state.js';

/** Statements replacing the ledger row of `r` (parameters prefixed `w_`). */
export function windowStatements(dataset: string, r: WindowRecord): { sql: string[]; params: Params } {
  const t = tableRef(dataset, WINDOWS_TABLE);
  const v = windowValues(r);
  const ts = (value: string | null) => ({ type: 'TIMESTAMP' as const, value });
  const int = (value: string | null) => ({ type: 'INT64' as const, value });
  const named: Record<WindowColumn, Param> = {
    stream_key: stringParam(v.stream_key),
    window_from: ts(v.window_from),
    window_to: ts(v.window_to),
    backfill_id: stringParam(v.backfill_id),
    shard: stringParam(v.shard),
    status: stringParam(v.status),
    rows: int(v.rows),
    attempts: int(v.attempts),
    duration_ms: int(v.duration_ms),
    error: stringParam(v.error),
    updated_at: ts(v.updated_at),
  };
  const params: Params = {};
  for (const c of WINDOW_COLUMNS) params[`w_${c}`] = named[c];
  return {
    sql: [
      `DELETE FROM ${t} WHERE stream_key = @w_stream_key AND window_from = @w_window_from AND window_to = @w_window_to`,
      `INSERT INTO ${t} (${WINDOW_COLUMNS.join(', ')}) VALUES (${WINDOW_COLUMNS.map((c) => `@w_${c}`).join(', ')})`,
    ],
    params,
  };
}

/** Upsert of one ledger row on its own (status running or failed), as one small transaction. */
export async function upsertWindow(client: BqClient, r: WindowRecord): Promise<void> {
  const { sql, params } = windowStatements(client.dataset, r);
  await client.query(
    ['BEGIN TRANSACTION', ...sql, 'COMMIT TRANSACTION'].map((s) => `${s};`).join('\n'),
    params,
    `recording window of ${r.streamKey}`,
  );
}

export async function readWindows(client: BqClient, streamKeys?: string[]): Promise<WindowRecord[]> {
  const rows = await client.query(
    `SELECT stream_key, ${tsText('window_from')} AS window_from, ${tsText('window_to')} AS window_to, ` +
      `backfill_id, shard, status, CAST(rows AS STRING) AS rows, CAST(attempts AS STRING) AS attempts, ` +
      `CAST(duration_ms AS STRING) AS duration_ms, error, ${tsText('updated_at')} AS updated_at ` +
      `FROM ${tableRef(client.dataset, WINDOWS_TABLE)} ORDER BY stream_key, window_from, window_to`,
    {},
    'listing backfill windows',
  );
  return ofStreams(rows.map(windowFromRow), streamKeys);
}
