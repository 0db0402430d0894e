/**
 * `_exportsync_windows`: the backfill ledger (same shape as the Postgres destination's). 'done' is
 * only ever written by the commit of the window's rows (`upsertWindow` inside that transaction):
 * written separately, a crash between the two would make a resumed backfill skip a window whose
 * rows never landed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { WindowRecord } from '../../core/contracts.js';
import { redactSecrets } from '../../core/errors.js';
import { qualified, type Namespace } from './duckdb-sql.js';
import { select } from './duckdb-state.js';

export const WINDOWS_TABLE = '_exportsync_windows';

export function createWindowsTableSql(ns: Namespace): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(ns, WINDOWS_TABLE)} (
     stream_key VARCHAR NOT NULL, window_from TIMESTAMPTZ NOT NULL, window_to TIMESTAMPTZ NOT NULL,
     backfill_id VARCHAR NOT NULL, shard VARCHAR NOT NULL, status VARCHAR NOT NULL, "rows" BIGINT NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0, duration_ms BIGINT NOT NULL DEFAULT 0, error VARCHAR,
     updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (stream_key, window_from, window_to))`;
}

export async function upsertWindow(c: DuckDBConnection, ns: Namespace, r: WindowRecord): Promise<void> {
  await c.run(
    `INSERT INTO ${qualified(ns, WINDOWS_TABLE)}
       (stream_key, window_from, window_to, backfill_id, shard, status, "rows", attempts, duration_ms, error, updated_at)
     VALUES ($1, CAST($2 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), $4, $5, $6, CAST($7 AS BIGINT),
       CAST($8 AS INTEGER), CAST($9 AS BIGINT), $10, CAST($11 AS TIMESTAMPTZ))
     ON CONFLICT (stream_key, window_from, window_to) DO UPDATE SET backfill_id = EXCLUDED.backfill_id,
       shard = EXCLUDED.shard, status = EXCLUDED.status, "rows" = EXCLUDED."rows", attempts = EXCLUDED.attempts,
       duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error, updated_at = EXCLUDED.updated_at`,
    [
      r.streamKey,
      r.window.from.toISOString(),
      r.window.to.toISOString(),
      r.backfillId,
      r.shard,
      r.status,
      String(r.rows),
      String(r.attempts),
      String(Math.round(r.durationMs)),
      r.error === undefined ? null : redactSecrets(r.error),
      r.updatedAt,
    ],
  );
}

export async function readWindows(
  c: DuckDBConnection,
  ns: Namespace,
  streamKeys?: string[],
): Promise<WindowRecord[]> {
  const rows = await select<{
    stream_key: string;
    from_ms: string;
    to_ms: string;
    backfill_id: string;
    shard: string;
    status: WindowRecord['status'];
    rows: string;
    attempts: number;
    duration_ms: string;
    error: string | null;
    updated_ms: string;
  }>(
    c,
    `SELECT stream_key, epoch_ms(window_from) AS from_ms, epoch_ms(window_to) AS to_ms, backfill_id, shard,
       status, "rows", attempts, duration_ms, error, epoch_ms(updated_at) AS updated_ms
     FROM ${qualified(ns, WINDOWS_TABLE)} ORDER BY stream_key, window_from, window_to`,
  );
  const wanted = streamKeys ? new Set(streamKeys) : null;
  return rows
    .filter((r) => !wanted || wanted.has(r.stream_key))
    .map((r) => ({
      streamKey: r.stream_key,
      window: { from: new Date(Number(r.from_ms)), to: new Date(Number(r.to_ms)) },
      backfillId: r.backfill_id,
      shard: r.shard,
      status: r.status,
      rows: Number(r.rows),
      attempts: Number(r.attempts),
      durationMs: Number(r.duration_ms),
      ...(r.error === null ? {} : { error: r.error }),
      updatedAt: new Date(Number(r.updated_ms)).toISOString(),
    }));
}
