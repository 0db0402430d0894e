/**
 * The `_exportsync_*` bookkeeping tables in Snowflake: state (high-water marks), the column map
 * and the run log (the ledger and the locks have their own files). State and the column map are
 * only ever written inside the commit transaction of their rows (`upsertState`, `upsertColumnMap`,
 * called by the load); written separately, a crash between the two would advance the mark past
 * data that never landed. JSON (state, streams, stats) is stored as VARCHAR text so it reads back
 * byte for byte. Upserts are MERGEs: Snowflake serialises MERGEs on one table, and declares but
 * does not enforce primary keys, so an INSERT race would leave duplicate rows. Table names and the
 * row ↔ record conversions are shared (bookkeeping-state.ts, bookkeeping-runs.ts).
 */
import type { ColumnSpec, RunRecord, StreamState } from '../../core/contracts.js';
import { byName } from '../bookkeeping-cells.js';
import { RUN_COLUMNS, runBinds, runFromRow, RUNS_TABLE, type RunColumn } from '../bookkeeping-runs.js';
import {
  COLUMN_MAP_READ,
  columnFromRow,
  COLUMNS_TABLE,
  stateEntryFromRow,
  stateFromCell,
  STATE_TABLE,
} from '../bookkeeping-state.js';
import type { Bind, QueryResult } from './snowflake-session.js';
import { isoMillis, qualified, quoteIdent } from './snowflake-sql.js';

export type Run = (sql: string, binds?: Bind[] | Bind[][]) => Promise<QueryResult>;

/** One MERGE upserting the single row `values` (name → SQL expression over `?`) on `key`. */
export function mergeRowSql(target: string, key: string[], values: Array<[string, string]>): string {
  const select = values.map(([name, expr]) => `${expr} AS ${quoteIdent(name)}`).join(', ');
  const on = key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const rest = values.filter(([name]) => !key.includes(name));
  const set = rest.map(([name]) => `${quoteIdent(name)} = s.${quoteIdent(name)}`).join(', ');
  const cols = values.map(([name]) => quoteIdent(name)).join(', ');
  const vals = values.map(([name]) => `s.${quoteIdent(name)}`).join(', ');
  return (
    `MERGE INTO ${target} t USING (SELECT ${select}) s ON ${on} ` +
    `WHEN MATCHED THEN UPDATE SET ${set} WHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${vals})`
  );
}

export function bootstrapSql(schema: string): string[] {
  const t = (name: string) => qualified(schema, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${t(STATE_TABLE)} ("stream_key" VARCHAR NOT NULL, "state" VARCHAR NOT NULL, "updated_at" TIMESTAMP_TZ NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t(COLUMNS_TABLE)} ("table_name" VARCHAR NOT NULL, "column_name" VARCHAR NOT NULL, "source_name" VARCHAR NOT NULL, "logical_type" VARCHAR NOT NULL, "origin" VARCHAR NOT NULL, "ordinal" NUMBER(38,0) NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t(RUNS_TABLE)} ("run_id" VARCHAR NOT NULL, "command" VARCHAR NOT NULL, "started_at" TIMESTAMP_TZ NOT NULL, "finished_at" TIMESTAMP_TZ, "status" VARCHAR NOT NULL, "streams" VARCHAR NOT NULL, "rows" NUMBER(38,0) NOT NULL, "error" VARCHAR, "stats" VARCHAR)`,
  ];
}

export async function readState(run: Run, schema: string, streamKey: string): Promise<StreamState | null> {
  const { rows } = await run(`SELECT "state" FROM ${qualified(schema, STATE_TABLE)} WHERE "stream_key" = ?`, [
    streamKey,
  ]);
  return stateFromCell(rows[0]?.[0]);
}

export async function readStates(
  run: Run,
  schema: string,
): Promise<Array<{ streamKey: string; state: StreamState }>> {
  const { rows } = await run(
    `SELECT "stream_key", "state" FROM ${qualified(schema, STATE_TABLE)} ORDER BY "stream_key"`,
  );
  return rows.map((r) => stateEntryFromRow(byName(['stream_key', 'state'], r)));
}

export async function deleteState(run: Run, schema: string, streamKey: string): Promise<boolean> {
  const { updated } = await run(`DELETE FROM ${qualified(schema, STATE_TABLE)} WHERE "stream_key" = ?`, [
    streamKey,
  ]);
  return updated > 0;
}

/** Only inside the commit transaction of the window's rows. */
export async function upsertState(
  run: Run,
  schema: string,
  streamKey: string,
  state: StreamState,
): Promise<void> {
  await run(
    mergeRowSql(
      qualified(schema, STATE_TABLE),
      ['stream_key'],
      [
        ['stream_key', 'CAST(? AS VARCHAR)'],
        ['state', 'CAST(? AS VARCHAR)'],
        ['updated_at', 'CURRENT_TIMESTAMP'],
      ],
    ),
    [streamKey, JSON.stringify(state)],
  );
}

export async function readColumnMap(run: Run, schema: string, table: string): Promise<ColumnSpec[]> {
  const { rows } = await run(
    `SELECT "column_name", "source_name", "logical_type", "origin" FROM ${qualified(schema, COLUMNS_TABLE)} WHERE "table_name" = ? ORDER BY "ordinal"`,
    [table],
  );
  return rows.map((r) => columnFromRow(byName(COLUMN_MAP_READ, r))); // selected in that order
}

/** Only inside the commit transaction that brought the table to `columns`. */
export async function upsertColumnMap(
  run: Run,
  schema: string,
  table: string,
  columns: ColumnSpec[],
): Promise<void> {
  if (columns.length === 0) return;
  const names = ['table_name', 'column_name', 'source_name', 'logical_type', 'origin', 'ordinal'];
  const tuples = columns.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
  const binds: Bind[] = columns.flatMap((c, i) => [table, c.name, c.source, c.type, c.origin, i]);
  const q = names.map(quoteIdent);
  await run(
    `MERGE INTO ${qualified(schema, COLUMNS_TABLE)} t USING (SELECT * FROM (VALUES ${tuples}) AS v (${q.join(', ')})) s ` +
      `ON t."table_name" = s."table_name" AND t."column_name" = s."column_name" ` +
      `WHEN MATCHED THEN UPDATE SET ${q
        .slice(2)
        .map((n) => `${n} = s.${n}`)
        .join(', ')} ` +
      `WHEN NOT MATCHED THEN INSERT (${q.join(', ')}) VALUES (${q.map((n) => `s.${n}`).join(', ')})`,
    binds,
  );
}

/** Each run column with the cast of its bind (`runBinds` order). */
const RUN_CASTS: Record<RunColumn, string> = {
  run_id: 'VARCHAR',
  command: 'VARCHAR',
  started_at: 'TIMESTAMP_TZ',
  finished_at: 'TIMESTAMP_TZ',
  status: 'VARCHAR',
  streams: 'VARCHAR',
  rows: 'NUMBER(38,0)',
  error: 'VARCHAR',
  stats: 'VARCHAR',
};

export async function upsertRun(run: Run, schema: string, r: RunRecord): Promise<void> {
  await run(
    mergeRowSql(
      qualified(schema, RUNS_TABLE),
      ['run_id'],
      RUN_COLUMNS.map((c) => [c, `CAST(? AS ${RUN_CASTS[c]})`]),
    ),
    runBinds(r),
  );
}

export async function readRuns(run: Run, schema: string, limit: number): Promise<RunRecord[]> {
  const { rows } = await run(
    `SELECT "run_id", "command", ${isoMillis('"started_at"')}, ${isoMillis('"finished_at"')}, "status", "streams", CAST("rows" AS VARCHAR), "error", "stats" ` +
      `FROM ${qualified(schema, RUNS_TABLE)} ORDER BY "started_at" DESC, "run_id" DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
  );
  return rows.map((r) => runFromRow(byName(RUN_COLUMNS, r))); // the SELECT lists RUN_COLUMNS in order
}
