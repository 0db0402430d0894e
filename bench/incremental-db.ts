/**
 * Database side of bench/incremental.ts (and helpers the other benches reuse): row counts, the
 * "before the daily run" restore, and EXPLAIN ANALYZE of the daily run's merge statement, built
 * with the destinations' own SQL builders (src/destinations/{postgres,duckdb}/*-sql.ts) over one
 * staged window of rows, inside a transaction that is rolled back.
 */
import { basename } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import type { ColumnSpec, TableSchema } from '../src/core/contracts.js';
import * as duckSql from '../src/destinations/duckdb/duckdb-sql.js';
import * as pgSql from '../src/destinations/postgres/postgres-sql.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const dropSchema = (schema: string): Promise<unknown> =>
  withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${pgSql.quoteIdent(schema)} CASCADE`));

/** Opens a DuckDB file for the bench between CLI runs (the CLI must not be running: one process per file). */
export async function withDuck<T>(path: string, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Where a bench's tables are: a Postgres schema, or a DuckDB file (schema main). */
export type Target = { type: 'postgres'; schema: string } | { type: 'duckdb'; path: string };

export function destinationYaml(t: Target): string {
  return t.type === 'postgres'
    ? `destination: { type: postgres, url: "${PG_URL}", schema: ${t.schema} }`
    : `destination: { type: duckdb, path: "${t.path}", schema: main }`;
}

function duckNs(path: string): duckSql.Namespace {
  return { catalog: basename(path).replace(/\.[^.]*$/, ''), schema: 'main' };
}

/** `SELECT count(*)` of a table (and of a filter, when given; `$1` binds `param`). */
export async function countRows(t: Target, table: string, where = '', param?: string): Promise<number> {
  const params = param === undefined ? [] : [param];
  if (t.type === 'postgres') {
    const sql = `SELECT count(*)::text AS n FROM ${pgSql.qualified(t.schema, table)} ${where}`;
    return withPg(async (c) => Number((await c.query<{ n: string }>(sql, params)).rows[0]?.n));
  }
  const sql = `SELECT CAST(count(*) AS VARCHAR) FROM ${duckSql.qualified(duckNs(t.path), table)} ${where.replace('$1', 'CAST($1 AS TIMESTAMPTZ)')}`;
  return withDuck(t.path, async (c) => Number((await c.runAndReadAll(sql, params)).getRows()[0]?.[0]));
}

export async function readState(t: Target, streamKey: string): Promise<string> {
  if (t.type === 'postgres') {
    return withPg(async (c) => {
      const sql = `SELECT state::text AS s FROM ${pgSql.qualified(t.schema, '_exportsync_state')} WHERE stream_key = $1`;
      return String((await c.query<{ s: string }>(sql, [streamKey])).rows[0]?.s);
    });
  }
  const sql = `SELECT CAST(state AS VARCHAR) FROM ${duckSql.qualified(duckNs(t.path), '_exportsync_state')} WHERE stream_key = $1`;
  return withDuck(t.path, async (c) => String((await c.runAndReadAll(sql, [streamKey])).getRows()[0]?.[0]));
}

/**
 * Puts the destination back as it was before a daily run: the rows whose cursor is at or after
 * `from` deleted and the stream's state row restored, in one transaction.
 */
export async function restore(
  t: Target,
  table: string,
  cursor: string,
  from: Date,
  streamKey: string,
  state: string,
): Promise<void> {
  if (t.type === 'postgres') {
    await withPg(async (c) => {
      await c.query('BEGIN');
      await c.query(
        `DELETE FROM ${pgSql.qualified(t.schema, table)} WHERE ${pgSql.quoteIdent(cursor)} >= $1::timestamptz`,
        [from.toISOString()],
      );
      await c.query(
        `UPDATE ${pgSql.qualified(t.schema, '_exportsync_state')} SET state = $2::jsonb WHERE stream_key = $1`,
        [streamKey, state],
      );
      await c.query('COMMIT');
      await c.query(`VACUUM ${pgSql.qualified(t.schema, table)}`);
    });
    return;
  }
  const ns = duckNs(t.path);
  await withDuck(t.path, async (c) => {
    await c.run('BEGIN TRANSACTION');
    await c.run(
      `DELETE FROM ${duckSql.qualified(ns, table)} WHERE ${duckSql.quoteIdent(cursor)} >= CAST($1 AS TIMESTAMPTZ)`,
      [from.toISOString()],
    );
    await c.run(
      `UPDATE ${duckSql.qualified(ns, '_exportsync_state')} SET state = CAST($2 AS JSON) WHERE stream_key = $1`,
      [streamKey, state],
    );
    await c.run('COMMIT');
    await c.run('CHECKPOINT');
  });
}

async function pgColumnMap(c: pg.Client, schema: string, table: string): Promise<ColumnSpec[]> {
  const { rows } = await c.query<{ n: string; s: string; t: ColumnSpec['type']; o: ColumnSpec['origin'] }>(
    `SELECT column_name AS n, source_name AS s, logical_type AS t, origin AS o
       FROM ${pgSql.qualified(schema, '_exportsync_columns')} WHERE table_name = $1 ORDER BY ordinal`,
    [table],
  );
  return rows.map((r) => ({ name: r.n, source: r.s, type: r.t, origin: r.o }));
}

/**
 * EXPLAIN ANALYZE of the merge a daily run sends for one window: the rows of the target whose
 * cursor lies in [from, to) are staged again (as the daily run re-reads its lookback window) and
 * merged with the destination's own statement. Rolled back.
 */
export async function explainMerge(
  t: Target,
  table: string,
  key: string[],
  cursor: string,
  from: Date,
  to: Date,
): Promise<string> {
  const bounds = [from.toISOString(), to.toISOString()];
  const q = (n: string): string => (t.type === 'postgres' ? pgSql.quoteIdent(n) : duckSql.quoteIdent(n));
  const seq = '_exportsync_seq';
  if (t.type === 'postgres') {
    return withPg(async (c) => {
      const columns = await pgColumnMap(c, t.schema, table);
      const schema: TableSchema = { table, columns, primaryKey: key, cursorColumn: cursor };
      const target = pgSql.qualified(t.schema, table);
      await c.query('BEGIN');
      try {
        await c.query(
          `CREATE TEMP TABLE _bench_stage ON COMMIT DROP AS SELECT ${pgSql.columnList(columns)} FROM ${target}
            WHERE ${q(cursor)} >= $1::timestamptz AND ${q(cursor)} < $2::timestamptz`,
          bounds,
        );
        await c.query(`ALTER TABLE _bench_stage ADD COLUMN ${q(seq)} bigint GENERATED ALWAYS AS IDENTITY`);
        await c.query('ANALYZE _bench_stage');
        const sql = pgSql.mergeSql({
          target,
          staging: 'pg_temp._bench_stage',
          seqColumn: seq,
          schema,
          onConflict: true,
        });
        const plan = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, ['bench']);
        return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await c.query('ROLLBACK');
      }
    });
  }
  const ns = duckNs(t.path);
  return withDuck(t.path, async (c) => {
    const target = duckSql.qualified(ns, table);
    const info = await c.runAndReadAll(
      `SELECT column_name FROM duckdb_columns() WHERE database_name = $1 AND schema_name = 'main' AND table_name = $2 ORDER BY column_index`,
      [ns.catalog, table],
    );
    const columns = info.getRows().map((r) => String(r[0]));
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(
        `CREATE TEMP TABLE _bench_stage AS SELECT row_number() OVER () AS ${q(seq)}, ${duckSql.columnList(columns)}
           FROM ${target} WHERE ${q(cursor)} >= CAST($1 AS TIMESTAMPTZ) AND ${q(cursor)} < CAST($2 AS TIMESTAMPTZ)`,
        bounds,
      );
      const sql = duckSql.mergeSql({
        target,
        source: 'SELECT * FROM temp.main._bench_stage',
        seq,
        columns: columns.filter((n) => n !== '_deleted_at'),
        primaryKey: key,
        cursorColumn: cursor,
      });
      const plan = await c.runAndReadAll(`EXPLAIN (ANALYZE, FORMAT json) ${sql}`);
      return compactDuckPlan(JSON.parse(String(plan.getRows()[0]?.[1])) as DuckPlanNode);
    } finally {
      await c.run('ROLLBACK');
    }
  });
}

interface DuckPlanNode {
  operator_name?: string;
  operator_type?: string;
  operator_cardinality?: number;
  operator_rows_scanned?: number;
  operator_timing?: number;
  latency?: number;
  cumulative_rows_scanned?: number;
  extra_info?: Record<string, unknown>;
  children?: DuckPlanNode[];
}

/** DuckDB's JSON profile as an indented tree: operator, rows out, rows scanned, seconds, key details. */
export function compactDuckPlan(root: DuckPlanNode): string {
  const lines = [
    `total ${root.latency?.toFixed(4)} s, rows scanned in all ${root.cumulative_rows_scanned ?? '?'}`,
  ];
  const walk = (n: DuckPlanNode, depth: number): void => {
    const info = n.extra_info ?? {};
    const details = ['Table', 'Type', 'Join Type', 'Conditions', 'Filters']
      .filter((k) => info[k] !== undefined)
      .map((k) => `${k}: ${JSON.stringify(info[k])}`)
      .join('; ');
    lines.push(
      `${'  '.repeat(depth)}${n.operator_name ?? n.operator_type} — rows ${n.operator_cardinality ?? 0}` +
        `${n.operator_rows_scanned ? `, scanned ${n.operator_rows_scanned}` : ''}` +
        `, ${(n.operator_timing ?? 0).toFixed(4)} s${details ? ` — ${details}` : ''}`,
    );
    for (const c of n.children ?? []) walk(c, depth + 1);
  };
  for (const c of root.children ?? []) walk(c, 0);
  return lines.join('\n');
}
