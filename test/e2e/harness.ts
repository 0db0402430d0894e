/**
 * The end-to-end harness: the same scenario runs against real Postgres (one unique schema per
 * target) and real DuckDB (one temp file per target), with the Scarf simulator on 127.0.0.1.
 * Every expectation is computed from the simulator's ground truth (`sim.rows`), never copied from
 * a run: if the warehouse and the simulator disagree, the warehouse is wrong.
 *
 * A DuckDB file is opened through the destination's own shared instance (acquireDatabase), so a
 * query from the test never opens the same file twice in this process, and it is released after
 * each query so a CLI child can open the file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import type { StreamState } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { addDays, isoDate } from '../../src/core/time.js';
import { createDestination } from '../../src/destinations/index.js';
import {
  acquireDatabase,
  connect,
  disconnect,
  releaseDatabase,
} from '../../src/destinations/duckdb/duckdb-database.js';
import { runSync, type RunOptions, type RunSummary } from '../../src/engine/run.js';
import { TEST_DATABASE_URL, dropSchema, query as pgQuery, uniqueSchema } from '../support/postgres.js';

export const TOKEN = 'scarf-test-token';
export const STREAM = 'scarf.events';
export const TABLE = 'scarf_events';

/** One empty warehouse target: a Postgres schema or a DuckDB file. */
export interface Target {
  backend: 'postgres' | 'duckdb';
  /** The `destination:` YAML value. */
  destinationYaml: string;
  /** Quoted, qualified table reference. */
  table(name?: string): string;
  /** Rows as plain objects; `$1…` parameters work on both backends; bigints become numbers. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Backend {
  name: 'postgres' | 'duckdb';
  target(): Target;
  cleanup(): Promise<void>;
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

function postgresBackend(): Backend {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    target() {
      const schema = uniqueSchema('e2e');
      schemas.push(schema);
      return {
        backend: 'postgres',
        destinationYaml: `{ type: postgres, url: "${TEST_DATABASE_URL}", schema: ${schema} }`,
        table: (name = TABLE) => `${quote(schema)}.${quote(name)}`,
        query: <T>(sql: string, params: unknown[] = []) => pgQuery(sql, params) as Promise<T[]>,
      };
    },
    async cleanup() {
      for (const s of schemas) await dropSchema(s);
    },
  };
}

function duckdbBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-e2e-'));
  let n = 0;
  return {
    name: 'duckdb',
    target() {
      return duckdbTargetAt(join(dir, `t${++n}.duckdb`));
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const BACKENDS: Array<[string, () => Backend]> = [
  ['postgres', postgresBackend],
  ['duckdb', duckdbBackend],
];

/**
 * A whole config file for one Scarf source on the simulator; `sync` is YAML under `sync:`,
 * `source` more keys of the source entry (e.g. `window_days: 8`).
 */
export function configYaml(
  target: Target,
  simUrl: string,
  sync: Record<string, unknown> = {},
  source: string[] = [],
): string {
  return [
    `destination: ${target.destinationYaml}`,
    `sync: ${JSON.stringify(sync)}`,
    'sources:',
    '  - type: scarf',
    '    owner: acme',
    `    token: ${TOKEN}`,
    `    base_url: ${simUrl}`,
    ...source.map((line) => `    ${line}`),
    '',
  ].join('\n');
}

export function makeConfig(
  target: Target,
  simUrl: string,
  sync: Record<string, unknown> = {},
  source: string[] = [],
): Config {
  return parseConfig(configYaml(target, simUrl, sync, source), '<e2e>', {});
}

/** Opens the configured destination, runs once, closes it. */
export async function runOnce(
  config: Config,
  options: Omit<RunOptions, 'config' | 'destination' | 'log'> = {},
): Promise<RunSummary> {
  const destination = await createDestination(config.destination, silentLogger);
  await destination.open();
  try {
    return await runSync({ config, destination, log: silentLogger, ...options });
  } finally {
    await destination.close();
  }
}

// ───────────────────────────── reading the warehouse ─────────────────────────────

export async function tableIds(t: Target): Promise<string[]> {
  return (await t.query<{ id: string }>(`SELECT id FROM ${t.table()}`)).map((r) => r.id);
}

export async function counts(t: Target): Promise<{ rows: number; distinct: number }> {
  const [r] = await t.query<{ rows: number; ids: number }>(
    `SELECT CAST(count(*) AS INTEGER) AS "rows", CAST(count(DISTINCT id) AS INTEGER) AS ids FROM ${t.table()}`,
  );
  return { rows: Number(r?.rows), distinct: Number(r?.ids) };
}

export async function state(t: Target): Promise<StreamState | null> {
  const rows = await t.query<{ state: unknown }>(
    `SELECT CAST(state AS VARCHAR) AS state FROM ${t.table('_exportsync_state')} WHERE stream_key = $1`,
    [STREAM],
  );
  return rows[0] ? (JSON.parse(String(rows[0].state)) as StreamState) : null;
}

export async function runs(
  t: Target,
): Promise<Array<{ run_id: string; status: string; error: string | null }>> {
  return t.query(
    `SELECT run_id, status, error FROM ${t.table('_exportsync_runs')} ORDER BY started_at, run_id`,
  );
}

/** Data columns of the table (audit `_exportsync_*` columns excluded), in table order. */
export async function dataColumns(t: Target): Promise<string[]> {
  const schemaOf = t.table().split('.')[0]?.replace(/"/g, '') ?? '';
  const rows = await t.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
     ORDER BY ordinal_position`,
    [schemaOf, TABLE],
  );
  return rows.map((r) => r.column_name).filter((c) => !c.startsWith('_exportsync_'));
}

/** sha256 over every data column of every row (as text, ordered by id), and the row count. */
export async function digest(t: Target): Promise<{ rows: number; sha: string; columns: string[] }> {
  const columns = await dataColumns(t);
  const select = columns.map((c) => `CAST(${quote(c)} AS VARCHAR) AS ${quote(c)}`).join(', ');
  const rows = await t.query<Record<string, string | null>>(`SELECT ${select} FROM ${t.table()} ORDER BY id`);
  const hash = createHash('sha256');
  for (const r of rows) hash.update(`${JSON.stringify(columns.map((c) => r[c]))}\n`);
  return { rows: rows.length, sha: hash.digest('hex'), columns };
}

// ───────────────────────────── ground truth ─────────────────────────────

/** Every day `YYYY-MM-DD` from `start` to `end`, both included. */
export function days(start: string, end: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${start}T00:00:00Z`); isoDate(d) <= end; d = addDays(d, 1)) out.push(isoDate(d));
  return out;
}

/** Header and rows the simulator serves right now for [start, end] (inclusive days). */
export function truthRows(
  sim: ScarfSimulator,
  start: string,
  end: string,
): { header: string[]; rows: string[][] } {
  const it = sim.rows(start, end);
  const header = it.next().value as string[];
  return { header, rows: [...it] };
}

/** Distinct ids the simulator serves right now for [start, end]. */
export function truthIds(sim: ScarfSimulator, start: string, end: string): Set<string> {
  return new Set(truthRows(sim, start, end).rows.map((r) => r[0] as string));
}

export const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

/**
 * The crash invariant: every day that starts before the mark is complete in the table (all ids
 * the simulator serves for it are present). Returns the days that are not.
 */
export function incompleteDaysBefore(
  sim: ScarfSimulator,
  mark: string,
  firstDay: string,
  present: Set<string>,
): string[] {
  const markDay = isoDate(new Date(mark));
  const endDay = mark.endsWith('T00:00:00.000Z') ? isoDate(addDays(new Date(mark), -1)) : markDay;
  return days(firstDay, endDay).filter((d) => [...truthIds(sim, d, d)].some((id) => !present.has(id)));
}

// ───────────────────────────── chaos suite helpers (test/chaos) ─────────────────────────────

/** Whether `name` exists in the target's schema (a run killed early may not have created it). */
export async function tableExists(t: Target, name: string): Promise<boolean> {
  const schemaOf = t.table().split('.')[0]?.replace(/"/g, '') ?? '';
  const rows = await t.query<{ n: number }>(
    `SELECT CAST(count(*) AS INTEGER) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
    [schemaOf, name],
  );
  return Number(rows[0]?.n) > 0;
}

/** A DuckDB target on a file of the caller's choosing (e.g. on a small tmpfs). */
export function duckdbTargetAt(path: string): Target {
  return {
    backend: 'duckdb',
    table: (name = TABLE) => `"main".${quote(name)}`,
    destinationYaml: `{ type: duckdb, path: "${path}" }`,
    async query<T>(sql: string, params: unknown[] = []) {
      const db = await acquireDatabase(path, silentLogger);
      try {
        const c = await connect(db);
        try {
          const reader = await c.runAndReadAll(sql, params as never);
          return reader
            .getRowObjects()
            .map((row) =>
              Object.fromEntries(
                Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]),
              ),
            ) as T[];
        } finally {
          disconnect(db, c);
        }
      } finally {
        await releaseDatabase(db, silentLogger);
      }
    },
  };
}
