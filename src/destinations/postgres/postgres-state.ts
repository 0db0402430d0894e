/**
 * The `_exportsync_*` bookkeeping tables: state (high-water marks), the persisted column map and
 * the run log. State must only ever be written inside the commit transaction of its rows (see
 * `upsertState`, called by the load); if it were written separately a crash between the two
 * would advance the mark past data that never landed. Table names and the row ↔ record
 * conversions are shared by every destination (bookkeeping-state.ts, bookkeeping-runs.ts); the
 * SQL here is Postgres's.
 */
import { createBulkTableSql } from './postgres-bulk.js';
import type pg from 'pg';
import type { ColumnSpec, RunRecord, StreamState } from '../../core/contracts.js';
import { RUN_COLUMNS, runBinds, runFromRow, RUNS_TABLE, type RunRow } from '../bookkeeping-runs.js';
import {
  columnFromRow,
  COLUMNS_TABLE,
  type ColumnMapRow,
  stateEntryFromRow,
  stateFromCell,
  STATE_TABLE,
} from '../bookkeeping-state.js';
import { createWindowsTableSql } from './postgres-ledger.js';
import { qualified, quoteIdent } from './postgres-sql.js';

type Queryable = Pick<pg.ClientBase, 'query'> | pg.Pool;

/**
 * Creates the schema and bookkeeping tables. CREATE … IF NOT EXISTS is not safe against a
 * concurrent identical statement (unique violation on the catalog), so two processes opening at
 * once are serialised with a transaction-level advisory lock on the schema name.
 */
export async function bootstrap(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `exportsync:bootstrap:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(schema, STATE_TABLE)} (
         stream_key text PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(schema, COLUMNS_TABLE)} (
         table_name text NOT NULL, column_name text NOT NULL, source_name text NOT NULL,
         logical_type text NOT NULL, origin text NOT NULL, ordinal integer NOT NULL,
         PRIMARY KEY (table_name, column_name))`,
    );
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(schema, RUNS_TABLE)} (
         run_id text PRIMARY KEY, command text NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz,
         status text NOT NULL, streams jsonb NOT NULL, rows bigint NOT NULL DEFAULT 0, error text)`,
    );
    // added after the first release: tables created before it get the column here
    await client.query(`ALTER TABLE ${qualified(schema, RUNS_TABLE)} ADD COLUMN IF NOT EXISTS stats jsonb`);
    await client.query(createWindowsTableSql(schema));
    await client.query(createBulkTableSql(schema));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function readState(
  db: Queryable,
  schema: string,
  streamKey: string,
): Promise<StreamState | null> {
  const res = await db.query<{ state: unknown }>(
    `SELECT state FROM ${qualified(schema, STATE_TABLE)} WHERE stream_key = $1`,
    [streamKey],
  );
  return stateFromCell(res.rows[0]?.state);
}

export async function readStates(
  db: Queryable,
  schema: string,
): Promise<Array<{ streamKey: string; state: StreamState }>> {
  const res = await db.query<{ stream_key: string; state: unknown }>(
    `SELECT stream_key, state FROM ${qualified(schema, STATE_TABLE)} ORDER BY stream_key`,
  );
  return res.rows.map(stateEntryFromRow);
}

export async function deleteState(db: Queryable, schema: string, streamKey: string): Promise<boolean> {
  const res = await db.query(`DELETE FROM ${qualified(schema, STATE_TABLE)} WHERE stream_key = $1`, [
    streamKey,
  ]);
  return (res.rowCount ?? 0) > 0;
}

/** Only call inside the commit transaction of the window's rows. */
export async function upsertState(
  db: Queryable,
  schema: string,
  streamKey: string,
  state: StreamState,
): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, STATE_TABLE)} (stream_key, state, updated_at) VALUES ($1, $2::jsonb, now())
     ON CONFLICT (stream_key) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
    [streamKey, JSON.stringify(state)],
  );
}

export async function readColumnMap(db: Queryable, schema: string, table: string): Promise<ColumnSpec[]> {
  const res = await db.query<ColumnMapRow>(
    `SELECT column_name, source_name, logical_type, origin FROM ${qualified(schema, COLUMNS_TABLE)}
     WHERE table_name = $1 ORDER BY ordinal`,
    [table],
  );
  return res.rows.map(columnFromRow);
}

/** Only call inside the commit transaction that brought the table to `columns`. */
export async function upsertColumnMap(
  db: Queryable,
  schema: string,
  table: string,
  columns: ColumnSpec[],
): Promise<void> {
  if (columns.length === 0) return;
  await db.query(
    `INSERT INTO ${qualified(schema, COLUMNS_TABLE)} (table_name, column_name, source_name, logical_type, origin, ordinal)
     SELECT $1, c.name, c.source, c.type, c.origin, c.ordinal
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[]) AS c(name, source, type, origin, ordinal)
     ON CONFLICT (table_name, column_name) DO UPDATE SET source_name = EXCLUDED.source_name,
       logical_type = EXCLUDED.logical_type, origin = EXCLUDED.origin, ordinal = EXCLUDED.ordinal`,
    [
      table,
      columns.map((c) => c.name),
      columns.map((c) => c.source),
      columns.map((c) => c.type),
      columns.map((c) => c.origin),
      columns.map((_, i) => i),
    ],
  );
}

export async function upsertRun(db: Queryable, schema: string, run: RunRecord): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, RUNS_TABLE)} (${RUN_COLUMNS.join(', ')})
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb)
     ON CONFLICT (run_id) DO UPDATE SET command = EXCLUDED.command, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, status = EXCLUDED.status, streams = EXCLUDED.streams,
       rows = EXCLUDED.rows, error = EXCLUDED.error, stats = EXCLUDED.stats`,
    runBinds(run),
  );
}

export async function readRuns(db: Queryable, schema: string, limit: number): Promise<RunRecord[]> {
  // timestamptz arrives as Date, jsonb parsed, bigint as text: runFromRow takes them as they are
  const res = await db.query<RunRow>(
    `SELECT ${RUN_COLUMNS.join(', ')} FROM ${qualified(schema, RUNS_TABLE)} ORDER BY started_at DESC, run_id DESC LIMIT $1`,
    [limit],
  );
  return res.rows.map(runFromRow);
}
