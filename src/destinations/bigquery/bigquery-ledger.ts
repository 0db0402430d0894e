/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit script of the window's rows (`windowStatements` inside its transaction);
 * if it were written separately, a crash between the two would make a resumed backfill skip a
 * window whose rows never landed.
 */
import type { WindowRecord } from '../../core/contracts.js';
import { redactSecrets } from '../../core/errors.js';
import { stringParam, type BqClient, type Params } from './bigquery-client.js';
import { tableRef } from './bigquery-sql.js';
import { tsText, WINDOWS_TABLE } from './bigquery-state.js';

/** Statements replacing the ledger row of `r` (parameters prefixed `w_`). */
export function windowStatements(dataset: string, r: WindowRecord): { sql: string[]; params: Params } {
  const t = tableRef(dataset, WINDOWS_TABLE);
  const ts = (v: string) => ({ type: 'TIMESTAMP' as const, value: v });
  const int = (v: number) => ({ type: 'INT64' as const, value: String(Math.round(v)) });
  return {
    sql: [
      `DELETE FROM ${t} WHERE stream_key = @w_stream_key AND window_from = @w_from AND window_to = @w_to`,
      `INSERT INTO ${t} (stream_key, window_from, window_to, backfill_id, shard, status, rows, attempts, duration_ms, error, updated_at) ` +
        `VALUES (@w_stream_key, @w_from, @w_to, @w_backfill_id, @w_shard, @w_status, @w_rows, @w_attempts, @w_duration_ms, @w_error, @w_updated_at)`,
    ],
    params: {
      w_stream_key: stringParam(r.streamKey),
      w_from: ts(r.window.from.toISOString()),
      w_to: ts(r.window.to.toISOString()),
      w_backfill_id: stringParam(r.backfillId),
      w_shard: stringParam(r.shard),
      w_status: stringParam(r.status),
      w_rows: int(r.rows),
      w_attempts: int(r.attempts),
      w_duration_ms: int(r.durationMs),
      w_error: stringParam(r.error === undefined ? null : redactSecrets(r.error)),
      w_updated_at: ts(r.updatedAt),
    },
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
  const wanted = streamKeys ? new Set(streamKeys) : undefined;
  return rows
    .filter((r) => !wanted || wanted.has(r.stream_key ?? ''))
    .map((r) => ({
      streamKey: r.stream_key ?? '',
      window: { from: new Date(r.window_from ?? 0), to: new Date(r.window_to ?? 0) },
      backfillId: r.backfill_id ?? '',
      shard: r.shard ?? '',
      status: r.status as WindowRecord['status'],
      rows: Number(r.rows ?? 0),
      attempts: Number(r.attempts ?? 0),
      durationMs: Number(r.duration_ms ?? 0),
      ...(r.error === null || r.error === undefined ? {} : { error: r.error }),
      updatedAt: new Date(r.updated_at ?? 0).toISOString(),
    }));
}
