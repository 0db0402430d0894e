/**
 * The `_exportsync_*` bookkeeping tables in the dataset: state (high-water marks), the persisted
 * column map, the run log. State and the column map are only ever written by the commit script of
 * their rows (`stateStatements`, `columnMapStatements`); if they were written separately a crash
 * between the two would advance the mark past data that never landed. Table names and the row ↔
 * record conversions are shared (bookkeeping-state.ts, bookkeeping-runs.ts); the SQL and the
 * table definitions here are BigQuery's.
 */
import type { TableField } from '@google-cloud/bigquery';
import type { ColumnSpec, RunRecord, StreamState } from '../../core/contracts.js';
import { RUN_COLUMNS, runFromRow, RUNS_TABLE, runValues, type RunColumn } from '../bookkeeping-runs.js';
import {
  columnFromRow,
  COLUMNS_TABLE,
  stateEntryFromRow,
  stateFromCell,
  STATE_TABLE,
} from '../bookkeeping-state.js';
import { WINDOWS_TABLE } from '../bookkeeping-windows.js';
import { LOCKS_TABLE } from '../lease.js';
import { stringParam, type BqClient, type Param, type Params } from './bigquery-client.js';
import { isDuplicate, isNotFound } from './bigquery-errors.js';
import { tableRef } from './bigquery-sql.js';

const f = (name: string, type: string, mode: 'NULLABLE' | 'REQUIRED' = 'NULLABLE'): TableField => ({
  name,
  type,
  mode,
});

export const BOOKKEEPING: Record<string, TableField[]> = {
  [STATE_TABLE]: [
    f('stream_key', 'STRING', 'REQUIRED'),
    f('state', 'STRING', 'REQUIRED'),
    f('updated_at', 'TIMESTAMP'),
  ],
  [COLUMNS_TABLE]: [
    f('table_name', 'STRING', 'REQUIRED'),
    f('column_name', 'STRING', 'REQUIRED'),
    f('source_name', 'STRING', 'REQUIRED'),
    f('logical_type', 'STRING', 'REQUIRED'),
    f('origin', 'STRING', 'REQUIRED'),
    f('ordinal', 'INT64', 'REQUIRED'),
  ],
  [RUNS_TABLE]: [
    f('run_id', 'STRING', 'REQUIRED'),
    f('command', 'STRING'),
    f('started_at', 'TIMESTAMP'),
    f('finished_at', 'TIMESTAMP'),
    f('status', 'STRING'),
    f('streams', 'STRING'),
    f('rows', 'INT64'),
    f('error', 'STRING'),
    f('stats', 'STRING'),
  ],
  [WINDOWS_TABLE]: [
    f('stream_key', 'STRING', 'REQUIRED'),
    f('window_from', 'TIMESTAMP', 'REQUIRED'),
    f('window_to', 'TIMESTAMP', 'REQUIRED'),
    f('backfill_id', 'STRING'),
    f('shard', 'STRING'),
    f('status', 'STRING'),
    f('rows', 'INT64'),
    f('attempts', 'INT64'),
    f('duration_ms', 'INT64'),
    f('error', 'STRING'),
    f('updated_at', 'TIMESTAMP'),
  ],
  [LOCKS_TABLE]: [
    f('lock_key', 'STRING', 'REQUIRED'),
    f('owner', 'STRING', 'REQUIRED'),
    f('acquired_at', 'TIMESTAMP'),
    f('expires_at', 'TIMESTAMP', 'REQUIRED'),
  ],
};

/** Canonical text of a TIMESTAMP column in a SELECT (all results are read as text). */
export function tsText(ref: string): string {
  return `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', ${ref}, 'UTC')`;
}

/**
 * Creates the dataset (when allowed) and the bookkeeping tables that are missing. A table
 * created concurrently by another process (409 duplicate) counts as created.
 */
export async function bootstrap(client: BqClient, createDataset: boolean): Promise<void> {
  const dataset = client.bq.dataset(client.dataset);
  await client.withRetry(`opening dataset ${client.dataset}`, undefined, async () => {
    try {
      await dataset.get();
    } catch (err) {
      if (!isNotFound(err) || !createDataset) throw err;
      try {
        await client.bq.createDataset(client.dataset, client.location ? { location: client.location } : {});
      } catch (e) {
        if (!isDuplicate(e)) throw e;
      }
    }
  });
  const [tables] = await client.withRetry('listing bookkeeping tables', undefined, () =>
    dataset.getTables({ autoPaginate: true }),
  );
  const have = new Set(tables.map((t) => t.id));
  for (const [name, fields] of Object.entries(BOOKKEEPING)) {
    if (have.has(name)) continue;
    await client.withRetry(`creating ${name}`, undefined, async () => {
      try {
        await dataset.createTable(name, { schema: { fields } });
      } catch (err) {
        if (!isDuplicate(err)) throw err;
      }
    });
  }
}

export async function readState(client: BqClient, streamKey: string): Promise<StreamState | null> {
  const rows = await client.query(
    `SELECT state FROM ${tableRef(client.dataset, STATE_TABLE)} WHERE stream_key = @stream_key`,
    { stream_key: stringParam(streamKey) },
    `reading state of ${streamKey}`,
  );
  return stateFromCell(rows[0]?.state);
}

export async function readStates(
  client: BqClient,
): Promise<Array<{ streamKey: string; state: StreamState }>> {
  const rows = await client.query(
    `SELECT stream_key, state FROM ${tableRef(client.dataset, STATE_TABLE)} ORDER BY stream_key`,
    {},
    'listing states',
  );
  return rows.map(stateEntryFromRow);
}

export async function deleteState(client: BqClient, streamKey: string): Promise<boolean> {
  const rows = await client.query(
    `DELETE FROM ${tableRef(client.dataset, STATE_TABLE)} WHERE stream_key = @stream_key;\n` +
      `SELECT CAST(@@row_count AS STRING) AS n;`,
    { stream_key: stringParam(streamKey) },
    `resetting state of ${streamKey}`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Script statements (for the commit transaction) replacing the state row of `streamKey`. */
export function stateStatements(
  dataset: string,
  streamKey: string,
  state: StreamState,
): { sql: string[]; params: Params } {
  const t = tableRef(dataset, STATE_TABLE);
  return {
    sql: [
      `DELETE FROM ${t} WHERE stream_key = @state_key`,
      `INSERT INTO ${t} (stream_key, state, updated_at) VALUES (@state_key, @state_json, CURRENT_TIMESTAMP())`,
    ],
    params: { state_key: stringParam(streamKey), state_json: stringParam(JSON.stringify(state)) },
  };
}

export async function readColumnMap(client: BqClient, table: string): Promise<ColumnSpec[]> {
  const rows = await client.query(
    `SELECT column_name, source_name, logical_type, origin FROM ${tableRef(client.dataset, COLUMNS_TABLE)} ` +
      `WHERE table_name = @table_name ORDER BY ordinal`,
    { table_name: stringParam(table) },
    `reading the column map of ${table}`,
  );
  return rows.map(columnFromRow);
}

/** Script statements replacing the column map of `table` with `columns`, in order. */
export function columnMapStatements(
  dataset: string,
  table: string,
  columns: ColumnSpec[],
): { sql: string[]; params: Params } {
  const t = tableRef(dataset, COLUMNS_TABLE);
  const params: Params = { map_table: stringParam(table) };
  const values = columns.map((c, i) => {
    params[`cn${i}`] = stringParam(c.name);
    params[`cs${i}`] = stringParam(c.source);
    params[`ct${i}`] = stringParam(c.type);
    params[`co${i}`] = stringParam(c.origin);
    return `(@map_table, @cn${i}, @cs${i}, @ct${i}, @co${i}, ${i})`;
  });
  const sql = [`DELETE FROM ${t} WHERE table_name = @map_table`];
  if (values.length > 0) {
    sql.push(
      `INSERT INTO ${t} (table_name, column_name, source_name, logical_type, origin, ordinal) VALUES ${values.join(', ')}`,
    );
  }
  return { sql, params };
}

export async function upsertRun(client: BqClient, run: RunRecord): Promise<void> {
  const t = tableRef(client.dataset, RUNS_TABLE);
  const v = runValues(run);
  const ts = (value: string | null) => ({ type: 'TIMESTAMP' as const, value });
  await client.query(
    `BEGIN TRANSACTION;\nDELETE FROM ${t} WHERE run_id = @run_id;\n` +
      `INSERT INTO ${t} (${RUN_COLUMNS.join(', ')}) VALUES (${RUN_COLUMNS.map((c) => `@${c}`).join(', ')});\n` +
      `COMMIT TRANSACTION;`,
    {
      run_id: stringParam(v.run_id),
      command: stringParam(v.command),
      started_at: ts(v.started_at),
      finished_at: ts(v.finished_at),
      status: stringParam(v.status),
      streams: stringParam(v.streams),
      rows: { type: 'INT64', value: v.rows },
      error: stringParam(v.error),
      stats: stringParam(v.stats),
    } satisfies Record<RunColumn, Param>,
    `recording run ${run.runId}`,
  );
}

export async function readRuns(client: BqClient, limit: number): Promise<RunRecord[]> {
  const rows = await client.query(
    `SELECT run_id, command, ${tsText('started_at')} AS started_at, ${tsText('finished_at')} AS finished_at, ` +
      `status, streams, CAST(rows AS STRING) AS rows, error, stats FROM ${tableRef(client.dataset, RUNS_TABLE)} ` +
      `ORDER BY started_at DESC, run_id DESC LIMIT @limit`,
    { limit: { type: 'INT64', value: String(Math.max(0, Math.floor(limit))) } },
    'listing runs',
  );
  return rows.map(runFromRow);
}
