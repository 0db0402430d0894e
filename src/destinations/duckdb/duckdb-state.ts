/**
 * The `_exportsync_*` bookkeeping tables (same shapes as the Postgres destination): state
 * (high-water marks), the persisted column map and the run log. State must only ever be written
 * inside the commit transaction of its rows (`upsertState`, called by the load); written
 * separately, a crash between the two would advance the mark past data that never landed. Table
 * names and the row ↔ record conversions are shared (bookkeeping-state.ts, bookkeeping-runs.ts);
 * the SQL here is DuckDB's.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ColumnSpec, RunRecord, StreamState } from '../../core/contracts.js';
import { RUN_COLUMNS, runBinds, runFromRow, RUNS_TABLE, type RunRow } from '../bookkeeping-runs.js';
import {
  columnFromRow,
  COLUMNS_TABLE,
  stateEntryFromRow,
  stateFromCell,
  STATE_TABLE,
  type ColumnMapRow,
} from '../bookkeeping-state.js';
import { createBulkTableSql } from './duckdb-bulk.js';
import { createWindowsTableSql } from './duckdb-ledger.js';
import { columnList, qualified, schemaRef, type Namespace } from './duckdb-sql.js';

/** Rows as plain objects (BIGINT and DECIMAL as strings, nothing through a double). */
export async function select<R extends Record<string, unknown>>(
  c: DuckDBConnection,
  sql: string,
  params: DuckDBValue[] = [],
): Promise<R[]> {
  const reader = await c.runAndReadAll(sql, params);
  return reader.getRowObjectsJson() as unknown as R[];
}

/** Creates the schema and bookkeeping tables; the caller serialises it with other writes. */
export async function bootstrap(c: DuckDBConnection, ns: Namespace): Promise<void> {
  await c.run('BEGIN TRANSACTION');
  try {
    await c.run(`CREATE SCHEMA IF NOT EXISTS ${schemaRef(ns)}`);
    await c.run(
      `CREATE TABLE IF NOT EXISTS ${qualified(ns, STATE_TABLE)} (
         stream_key VARCHAR PRIMARY KEY, state JSON NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    await c.run(
      `CREATE TABLE IF NOT EXISTS ${qualified(ns, COLUMNS_TABLE)} (
         table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, source_name VARCHAR NOT NULL,
         logical_type VARCHAR NOT NULL, origin VARCHAR NOT NULL, ordinal INTEGER NOT NULL,
         PRIMARY KEY (table_name, column_name))`,
    );
    await c.run(
      `CREATE TABLE IF NOT EXISTS ${qualified(ns, RUNS_TABLE)} (
         run_id VARCHAR PRIMARY KEY, command VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
         status VARCHAR NOT NULL, streams JSON NOT NULL, "rows" BIGINT NOT NULL DEFAULT 0, error VARCHAR)`,
    );
    // added after the first release: tables created before it get the column here
    await c.run(`ALTER TABLE ${qualified(ns, RUNS_TABLE)} ADD COLUMN IF NOT EXISTS stats JSON`);
    await c.run(createWindowsTableSql(ns));
    await c.run(createBulkTableSql(ns));
    await c.run('COMMIT');
  } catch (err) {
    await c.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function readState(
  c: DuckDBConnection,
  ns: Namespace,
  streamKey: string,
): Promise<StreamState | null> {
  const rows = await select<{ state: string }>(
    c,
    `SELECT CAST(state AS VARCHAR) AS state FROM ${qualified(ns, STATE_TABLE)} WHERE stream_key = $1`,
    [streamKey],
  );
  return stateFromCell(rows[0]?.state);
}

export async function readStates(
  c: DuckDBConnection,
  ns: Namespace,
): Promise<Array<{ streamKey: string; state: StreamState }>> {
  const rows = await select<{ stream_key: string; state: string }>(
    c,
    `SELECT stream_key, CAST(state AS VARCHAR) AS state FROM ${qualified(ns, STATE_TABLE)} ORDER BY stream_key`,
  );
  return rows.map(stateEntryFromRow);
}

export async function deleteState(c: DuckDBConnection, ns: Namespace, streamKey: string): Promise<boolean> {
  const result = await c.run(`DELETE FROM ${qualified(ns, STATE_TABLE)} WHERE stream_key = $1`, [streamKey]);
  return result.rowsChanged > 0;
}

/** Only call inside the commit transaction of the window's rows. */
export async function upsertState(
  c: DuckDBConnection,
  ns: Namespace,
  streamKey: string,
  state: StreamState,
): Promise<void> {
  await c.run(
    `INSERT INTO ${qualified(ns, STATE_TABLE)} (stream_key, state, updated_at) VALUES ($1, CAST($2 AS JSON), now())
     ON CONFLICT (stream_key) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
    [streamKey, JSON.stringify(state)],
  );
}

export async function readColumnMap(
  c: DuckDBConnection,
  ns: Namespace,
  table: string,
): Promise<ColumnSpec[]> {
  const rows = await select<ColumnMapRow>(
    c,
    `SELECT column_name, source_name, logical_type, origin FROM ${qualified(ns, COLUMNS_TABLE)}
     WHERE table_name = $1 ORDER BY ordinal`,
    [table],
  );
  return rows.map(columnFromRow);
}

/** Only call inside the commit transaction that brought the table to `columns`. */
export async function upsertColumnMap(
  c: DuckDBConnection,
  ns: Namespace,
  table: string,
  columns: ColumnSpec[],
): Promise<void> {
  if (columns.length === 0) return;
  const params: DuckDBValue[] = [];
  const tuples = columns.map((col, i) => {
    params.push(table, col.name, col.source, col.type, col.origin, String(i));
    const n = params.length;
    return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, CAST($${n} AS INTEGER))`;
  });
  await c.run(
    `INSERT INTO ${qualified(ns, COLUMNS_TABLE)} (table_name, column_name, source_name, logical_type, origin, ordinal)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (table_name, column_name) DO UPDATE SET source_name = EXCLUDED.source_name,
       logical_type = EXCLUDED.logical_type, origin = EXCLUDED.origin, ordinal = EXCLUDED.ordinal`,
    params,
  );
}

export async function upsertRun(c: DuckDBConnection, ns: Namespace, run: RunRecord): Promise<void> {
  await c.run(
    `INSERT INTO ${qualified(ns, RUNS_TABLE)} (${columnList([...RUN_COLUMNS])})
     VALUES ($1, $2, CAST($3 AS TIMESTAMPTZ), CAST($4 AS TIMESTAMPTZ), $5, CAST($6 AS JSON), CAST($7 AS BIGINT), $8,
       CAST($9 AS JSON))
     ON CONFLICT (run_id) DO UPDATE SET command = EXCLUDED.command, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, status = EXCLUDED.status, streams = EXCLUDED.streams,
       "rows" = EXCLUDED."rows", error = EXCLUDED.error, stats = EXCLUDED.stats`,
    runBinds(run),
  );
}

export async function readRuns(c: DuckDBConnection, ns: Namespace, limit: number): Promise<RunRecord[]> {
  // instants as epoch milliseconds (a DOUBLE reads as a number), JSON as text: see runFromRow
  const rows = await select<RunRow>(
    c,
    `SELECT run_id, command, CAST(epoch_ms(started_at) AS DOUBLE) AS started_at,
       CAST(epoch_ms(finished_at) AS DOUBLE) AS finished_at, status, CAST(streams AS VARCHAR) AS streams, "rows",
       error, CAST(stats AS VARCHAR) AS stats
     FROM ${qualified(ns, RUNS_TABLE)} AS r ORDER BY r.started_at DESC, r.run_id DESC LIMIT CAST($1 AS BIGINT)`,
    [String(limit)],
  );
  return rows.map(runFromRow);
}
