/**
 * The `_exportsync_*` bookkeeping tables: state (high-water marks), the persisted column map and
 * the run log. State must only ever be written inside the commit transaction of its rows (see
 * `upsertState`, called by the load); if it were written separately a crash between the two
 * would advance the mark past data that never landed.
 */
import type pg from 'pg';
import type { ColumnSpec, RunRecord, RunStreamStats, StreamState } from '../../core/contracts.js';
import { redactSecrets } from '../../core/errors.js';
import { createWindowsTableSql } from './postgres-ledger.js';
import { qualified, quoteIdent } from './postgres-sql.js';

export const STATE_TABLE = '_exportsync_state';
export const COLUMNS_TABLE = '_exportsync_columns';
export const RUNS_TABLE = '_exportsync_runs';

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
  const res = await db.query<{ state: StreamState }>(
    `SELECT state FROM ${qualified(schema, STATE_TABLE)} WHERE stream_key = $1`,
    [streamKey],
  );
  return res.rows[0]?.state ?? null;
}

export async function readStates(
  db: Queryable,
  schema: string,
): Promise<Array<{ streamKey: string; state: StreamState }>> {
  const res = await db.query<{ stream_key: string; state: StreamState }>(
    `SELECT stream_key, state FROM ${qualified(schema, STATE_TABLE)} ORDER BY stream_key`,
  );
  return res.rows.map((r) => ({ streamKey: r.stream_key, state: r.state }));
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
  const res = await db.query<{
    column_name: string;
    source_name: string;
    logical_type: string;
    origin: string;
  }>(
    `SELECT column_name, source_name, logical_type, origin FROM ${qualified(schema, COLUMNS_TABLE)}
     WHERE table_name = $1 ORDER BY ordinal`,
    [table],
  );
  return res.rows.map((r) => ({
    name: r.column_name,
    source: r.source_name,
    type: r.logical_type as ColumnSpec['type'],
    origin: r.origin as ColumnSpec['origin'],
  }));
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
    `INSERT INTO ${qualified(schema, RUNS_TABLE)} (run_id, command, started_at, finished_at, status, streams, rows, error, stats)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb)
     ON CONFLICT (run_id) DO UPDATE SET command = EXCLUDED.command, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, status = EXCLUDED.status, streams = EXCLUDED.streams,
       rows = EXCLUDED.rows, error = EXCLUDED.error, stats = EXCLUDED.stats`,
    [
      run.runId,
      run.command,
      run.startedAt,
      run.finishedAt ?? null,
      run.status,
      JSON.stringify(run.streams),
      String(run.rows),
      run.error === undefined ? null : redactSecrets(run.error),
      run.stats === undefined ? null : redactSecrets(JSON.stringify(run.stats)),
    ],
  );
}

export async function readRuns(db: Queryable, schema: string, limit: number): Promise<RunRecord[]> {
  const res = await db.query<{
    run_id: string;
    command: string;
    started_at: Date;
    finished_at: Date | null;
    status: RunRecord['status'];
    streams: string[];
    rows: string;
    error: string | null;
    stats: RunStreamStats[] | null;
  }>(
    `SELECT run_id, command, started_at, finished_at, status, streams, rows, error, stats
     FROM ${qualified(schema, RUNS_TABLE)} ORDER BY started_at DESC, run_id DESC LIMIT $1`,
    [limit],
  );
  return res.rows.map((r) => ({
    runId: r.run_id,
    command: r.command,
    startedAt: r.started_at.toISOString(),
    ...(r.finished_at ? { finishedAt: r.finished_at.toISOString() } : {}),
    status: r.status,
    streams: r.streams,
    rows: Number(r.rows),
    ...(r.error === null ? {} : { error: r.error }),
    ...(r.stats === null ? {} : { stats: r.stats }),
  }));
}
