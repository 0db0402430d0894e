/**
 * The DuckDB merge finds matched rows by a key-only scan and updates them through rowid ranges
 * (duckdb-merge.ts). These tests use a table large enough that the matches are far apart (more
 * clusters than MAX_RANGES, so ranges are merged), where a wrong range would leave a row stale or
 * insert a key twice — the contract suite's tables fit in one vector and could not tell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { Destination, Row, TableSchema, Window } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { acquireDatabase, releaseDatabase } from '../../src/destinations/duckdb/duckdb-database.js';
import { MAX_RANGES, MIN_GAP, mergeWindow } from '../../src/destinations/duckdb/duckdb-merge.js';

/** Rows put in the table directly; matches every SPREAD rows give > MAX_RANGES far-apart clusters. */
const BIG = 300_000;
const SPREAD = 2_900;
const pad = (i: number) => `k${String(i).padStart(7, '0')}`;

let dir: string;
let path: string;
let d: Destination;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exportsync-merge-'));
  path = join(dir, 'db.duckdb');
  d = createDuckDbDestination({ path, schema: 'main', log: silentLogger });
  await d.open();
});
afterAll(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const schema = (table: string): TableSchema => ({
  table,
  columns: [
    { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
    { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
    { name: 'name', source: 'name', type: 'string', origin: 'dictionary' },
    { name: 'amount', source: 'amount', type: 'decimal', origin: 'dictionary' },
    { name: '_exportsync_loaded_at', source: '_exportsync_loaded_at', type: 'timestamp', origin: 'audit' },
    { name: '_exportsync_run_id', source: '_exportsync_run_id', type: 'string', origin: 'audit' },
    { name: '_extra', source: '_extra', type: 'json', origin: 'audit' },
  ],
  primaryKey: ['id'],
  cursorColumn: 'time',
});
const day: Window = { from: new Date(Date.UTC(2024, 0, 2)), to: new Date(Date.UTC(2024, 0, 3)) };

async function withConn<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await acquireDatabase(path, silentLogger);
  const c = await db.instance.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    await releaseDatabase(db, silentLogger);
  }
}

/** Creates `table` through a commit, then appends BIG rows k0000001… (run id 'old') by SQL. */
async function bigTable(table: string): Promise<void> {
  const s = schema(table);
  const load = await d.beginLoad({ streamKey: `s.${table}`, schema: s, runId: 'old' });
  await load.write([[pad(0), '2024-01-01T00:00:00Z', 'v', '1.5', null, null, null]], s);
  await load.commit({ schema: s, mode: 'merge', window: day });
  await withConn((c) =>
    c.run(
      `INSERT INTO main.${table} SELECT 'k' || lpad(CAST(i AS VARCHAR), 7, '0'), TIMESTAMPTZ '2024-01-01 00:00:00+00', 'v', 1.5, now(), 'old', NULL FROM range(1, ${BIG}) r(i)`,
    ),
  );
}

it('updates changed matches spread over the whole table, leaves unchanged ones, inserts new keys once', async () => {
  await bigTable('events');
  const rows: Row[] = [];
  const hits = Array.from({ length: 100 }, (_, j) => 17 + j * SPREAD);
  for (const [j, i] of hits.entries()) {
    // even: changed (newer cursor, new name); odd: re-read unchanged (must keep run id 'old')
    if (j % 2 === 0) rows.push([pad(i), '2024-01-02T10:00:00Z', `new${i}`, '2.25', null, null, null]);
    else rows.push([pad(i), '2024-01-01T00:00:00Z', 'v', '1.5', null, null, null]);
  }
  // an in-batch duplicate with an older cursor loses; one staged later with the same cursor wins
  rows.push([pad(hits[0] as number), '2024-01-01T05:00:00Z', 'older', '9', null, null, null]);
  rows.push([pad(hits[2] as number), '2024-01-02T10:00:00Z', 'later', '3', null, null, null]);
  for (let n = 0; n < 5; n++)
    rows.push([`new-${n}`, '2024-01-02T11:00:00Z', 'fresh', '0.5', null, null, null]);
  const s = schema('events');
  const load = await d.beginLoad({ streamKey: 's.events', schema: s, runId: 'r2' });
  await load.write(rows, s);
  const result = await load.commit({ schema: s, mode: 'merge', window: day });
  expect(result).toEqual({ staged: rows.length, upserted: 50 + 5, deleted: 0 });

  const [counts] = await withConn(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT count(*)::INT, count(DISTINCT id)::INT, count(*) FILTER (_exportsync_run_id = 'r2')::INT FROM main.events`,
      )
    ).getRows(),
  );
  expect(counts).toEqual([BIG + 5, BIG + 5, 55]);
  const got = await withConn(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT id, name, CAST(amount AS VARCHAR), _exportsync_run_id FROM main.events WHERE id IN (${hits
          .slice(0, 4)
          .map((i) => `'${pad(i)}'`)
          .join(', ')}) ORDER BY id`,
      )
    ).getRows(),
  );
  expect(got).toEqual([
    [pad(hits[0] as number), `new${hits[0]}`, '2.25', 'r2'],
    [pad(hits[1] as number), 'v', '1.50', 'old'],
    [pad(hits[2] as number), 'later', '3.00', 'r2'],
    [pad(hits[3] as number), 'v', '1.50', 'old'],
  ]);
});

it('reads the target through at most MAX_RANGES rowid ranges and still reaches every match', async () => {
  await bigTable('spread');
  const s = schema('spread');
  const statements: Array<{ sql: string; params: DuckDBValue[] }> = [];
  const hits = Array.from({ length: 2 * MAX_RANGES }, (_, j) => 1 + j * (MIN_GAP + 100));
  const changed = await withConn(async (c) => {
    await c.run('BEGIN TRANSACTION');
    const source = `SELECT i AS seq, 'k' || lpad(CAST(i AS VARCHAR), 7, '0') AS id, TIMESTAMPTZ '2024-01-03 00:00:00+00' AS time, 'moved' AS name, CAST(7 AS DECIMAL(38,2)) AS amount, now() AS _exportsync_loaded_at, 'r3' AS _exportsync_run_id, CAST(NULL AS JSON) AS _extra FROM unnest([${hits.join(', ')}]) u(i)`;
    const n = await mergeWindow(
      c,
      async (sql, params = []) => {
        statements.push({ sql, params });
        return Number((await c.run(sql, params)).rowsChanged);
      },
      {
        target: 'main.spread',
        source,
        params: [],
        seq: 'seq',
        columns: s.columns.map((x) => x.name),
        primaryKey: ['id'],
        cursorColumn: 'time',
      },
    );
    await c.run('COMMIT');
    return n;
  });
  expect(changed).toBe(hits.length);
  const update = statements.find((x) => x.sql.startsWith('UPDATE'));
  expect(update?.params.length).toBe(2 * MAX_RANGES);
  const [row] = await withConn(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT count(*) FILTER (name = 'moved')::INT, count(*)::INT, count(DISTINCT id)::INT FROM main.spread`,
      )
    ).getRows(),
  );
  expect(row).toEqual([hits.length, BIG, BIG]);
});
