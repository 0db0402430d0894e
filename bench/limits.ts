/**
 * The physical limits the sync is compared with, on the same CSV bytes:
 *  - Postgres: `psql \copy` of the concatenated CSV into an unindexed table with the synced
 *    table's data columns and types (same type parsing server-side, no merge, no staging);
 *  - DuckDB: `CREATE TABLE t AS SELECT * FROM read_csv(...)` into a fresh file.
 * Each returns wall seconds of the load alone (table creation excluded).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';

const quote = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** Seconds for `\copy` of `csv` (header `columns`) into a copy of `schema.likeTable`'s data columns. */
export async function postgresCopyLimit(
  url: string,
  schema: string,
  likeTable: string,
  csv: string,
  columns: string[],
): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ column_name: string; type: string }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
      [schema, likeTable],
    );
    const types = new Map(rows.map((r) => [r.column_name, r.type]));
    const missing = columns.filter((c) => !types.has(c));
    if (missing.length > 0) throw new Error(`synced table lacks CSV columns: ${missing.join(', ')}`);
    const defs = columns.map((c) => `${quote(c)} ${types.get(c)}`).join(', ');
    await client.query(`DROP TABLE IF EXISTS ${quote(schema)}."copy_limit"`);
    await client.query(`CREATE TABLE ${quote(schema)}."copy_limit" (${defs})`);
  } finally {
    await client.end();
  }
  const target = `${quote(schema)}.copy_limit (${columns.map(quote).join(', ')})`;
  const started = process.hrtime.bigint();
  const res = spawnSync(
    'psql',
    [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy ${target} FROM '${csv}' CSV HEADER`],
    {
      encoding: 'utf8',
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (res.status !== 0) throw new Error(`psql \\copy failed: ${res.stderr}`);
  return seconds;
}

/** Seconds for `CREATE TABLE t AS SELECT * FROM read_csv(csv)` into the fresh DuckDB file `path`. */
export async function duckdbReadCsvLimit(path: string, csv: string): Promise<number> {
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    const started = process.hrtime.bigint();
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_csv('${csv.replace(/'/g, "''")}', header = true)`);
    await conn.run('CHECKPOINT');
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
