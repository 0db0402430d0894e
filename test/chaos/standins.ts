/**
 * Warehouse stand-ins as chaos destinations. The stand-in server runs in this process; the CLI
 * children talk to it over 127.0.0.1. Its tables are read back through its DuckDB (the Target's
 * query dialect is DuckDB). A SIGKILLed run leaves its stream lease behind (Snowflake and
 * BigQuery have no session locks): `afterKill` expires it, as its lease time would.
 */
import { randomBytes } from 'node:crypto';
import {
  startBigQueryStandin,
  STANDIN_TOKEN,
  type BigQueryStandin,
} from '../support/bigquery-standin/index.js';
import { startSnowflakeStandin, type SnowflakeStandin } from '../support/snowflake-standin/index.js';
import type { Backend, Target } from '../e2e/harness.js';

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (v: unknown) =>
  v === null || v === undefined
    ? 'NULL'
    : typeof v === 'number'
      ? String(v)
      : `'${String(v).replace(/'/g, "''")}'`;

/** `$1…` parameters inlined as literals (the stand-in's query takes SQL text only). */
const inline = (sql: string, params: unknown[]) =>
  sql.replace(/\$(\d+)/g, (_m, i: string) => literal(params[Number(i) - 1]));

let snowflake: SnowflakeStandin | undefined;

export async function startSnowflake(): Promise<void> {
  snowflake ??= await startSnowflakeStandin();
}

export async function stopSnowflake(): Promise<void> {
  await snowflake?.stop();
  snowflake = undefined;
}

export function snowflakeBackend(): Backend {
  const sf = snowflake;
  if (!sf) throw new Error('startSnowflake() first');
  return {
    name: 'duckdb',
    target(): Target {
      const schema = `chaos_${randomBytes(5).toString('hex')}`;
      return {
        backend: 'duckdb',
        destinationYaml: sf.destinationYaml({ schema }),
        table: (name = 'scarf_events') => `${quote(schema)}.${quote(name)}`,
        async query<T>(sql: string, params: unknown[] = []) {
          const rows = await sf.query(inline(sql, params));
          return rows.map((r) =>
            Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
          ) as T[];
        },
      };
    },
    async cleanup() {},
  } as unknown as Backend;
}

/** A killed run's lease, expired now instead of after lock_lease_seconds. */
export async function expireLeases(t: Target): Promise<void> {
  const table = t.table('_exportsync_locks');
  await t.query(`DELETE FROM ${table}`).catch(() => undefined);
}

let bigquery: BigQueryStandin | undefined;

export async function startBigQuery(): Promise<void> {
  bigquery ??= await startBigQueryStandin();
}

export async function stopBigQuery(): Promise<void> {
  await bigquery?.stop();
  bigquery = undefined;
}

/** Datasets are DuckDB schemas of the stand-in's engine; rows are read straight from it. */
export function bigqueryBackend(): Backend {
  const bq = bigquery;
  if (!bq) throw new Error('startBigQuery() first');
  return {
    name: 'duckdb',
    target(): Target {
      const dataset = `chaos_${randomBytes(5).toString('hex')}`;
      return {
        backend: 'duckdb',
        destinationYaml: JSON.stringify({
          type: 'bigquery',
          project: bq.project,
          dataset,
          api_endpoint: bq.url,
          access_token: STANDIN_TOKEN,
          lock_ttl_seconds: 10,
        }),
        table: (name = 'scarf_events') => `${quote(dataset)}.${quote(name)}`,
        async query<T>(sql: string, params: unknown[] = []) {
          const rows = await bq.engine.run(async (c) =>
            (await c.runAndReadAll(inline(sql, params))).getRowObjectsJson(),
          );
          return rows as T[];
        },
      };
    },
    async cleanup() {},
  } as unknown as Backend;
}
