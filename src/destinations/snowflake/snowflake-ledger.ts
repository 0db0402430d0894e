/**
 * `_exportsync_windows`: the backfill ledger, one row per (stream, window). 'done' is only ever
 * written by the commit of the window's rows (`upsertWindow` inside that transaction); written
 * separately, a crash between the two would make a resumed backfill skip a window whose rows never
 * landed. Upserts are MERGEs on (stream_key, window_from, window_to).
 */
import type { WindowRecord } from '../../core/contracts.js';
import { redactSecrets } from '../../core/errors.js';
import type { Bind } from './snowflake-session.js';
import { isoMillis, qualified } from './snowflake-sql.js';
import { mergeRowSql, type Run } from './snowflake-state.js';

export const WINDOWS_TABLE = '_exportsync_windows';

export function createWindowsTableSql(schema: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, WINDOWS_TABLE)} (` +
    `"stream_key" VARCHAR NOT NULL, "window_from" TIMESTAMP_TZ NOT NULL, "window_to" TIMESTAMP_TZ NOT NULL, ` +
    `"backfill_id" VARCHAR NOT NULL, "shard" VARCHAR NOT NULL, "status" VARCHAR NOT NULL, ` +
    `"rows" NUMBER(38,0) NOT NULL, "attempts" NUMBER(38,0) NOT NULL, "duration_ms" NUMBER(38,0) NOT NULL, ` +
    `"error" VARCHAR, "updated_at" TIMESTAMP_TZ NOT NULL)`
  );
}

export async function upsertWindow(run: Run, schema: string, r: WindowRecord): Promise<void> {
  const binds: Bind[] = [
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
  ];
  await run(
    mergeRowSql(
      qualified(schema, WINDOWS_TABLE),
      ['stream_key', 'window_from', 'window_to'],
      [
        ['stream_key', 'CAST(? AS VARCHAR)'],
        ['window_from', 'CAST(? AS TIMESTAMP_TZ)'],
        ['window_to', 'CAST(? AS TIMESTAMP_TZ)'],
        ['backfill_id', 'CAST(? AS VARCHAR)'],
        ['shard', 'CAST(? AS VARCHAR)'],
        ['status', 'CAST(? AS VARCHAR)'],
        ['rows', 'CAST(? AS NUMBER(38,0))'],
        ['attempts', 'CAST(? AS NUMBER(38,0))'],
        ['duration_ms', 'CAST(? AS NUMBER(38,0))'],
        ['error', 'CAST(? AS VARCHAR)'],
        ['updated_at', 'CAST(? AS TIMESTAMP_TZ)'],
      ],
    ),
    binds,
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
  return rows.map((r) => ({
    streamKey: String(r[0]),
    window: { from: new Date(String(r[1])), to: new Date(String(r[2])) },
    backfillId: String(r[3]),
    shard: String(r[4]),
    status: String(r[5]) as WindowRecord['status'],
    rows: Number(r[6]),
    attempts: Number(r[7]),
    durationMs: Number(r[8]),
    ...(r[9] === null ? {} : { error: String(r[9]) }),
    updatedAt: String(r[10]),
  }));
}
