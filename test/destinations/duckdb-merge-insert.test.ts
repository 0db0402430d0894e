/**
 * DuckDB merge windows whose keys are all new are inserted instead of MERGEd (duckdb-commit.ts):
 * the result must be exactly the merge's — deduplicated (latest cursor, then latest staged), and
 * a window with any existing key still updates it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Destination, Row, TableSchema, Window } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { acquireDatabase, releaseDatabase } from '../../src/destinations/duckdb/duckdb-database.js';

let dir: string;
let d: Destination;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exportsync-merge-insert-'));
  d = createDuckDbDestination({ path: join(dir, 'db.duckdb'), schema: 'main', log: silentLogger });
  await d.open();
});
afterAll(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const schema: TableSchema = {
  table: 'events',
  columns: [
    { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
    { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
    { name: 'name', source: 'name', type: 'string', origin: 'dictionary' },
    { name: '_exportsync_loaded_at', source: '_exportsync_loaded_at', type: 'timestamp', origin: 'audit' },
    { name: '_exportsync_run_id', source: '_exportsync_run_id', type: 'string', origin: 'audit' },
    { name: '_extra', source: '_extra', type: 'json', origin: 'audit' },
  ],
  primaryKey: ['id'],
  cursorColumn: 'time',
};
const day = (n: number): Window => ({
  from: new Date(Date.UTC(2024, 0, n)),
  to: new Date(Date.UTC(2024, 0, n + 1)),
});

async function commit(n: number, rows: Row[]) {
  const load = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r' });
  await load.write(rows, schema);
  return load.commit({ schema, mode: 'merge', window: day(n) });
}

async function names(): Promise<unknown[][]> {
  const db = await acquireDatabase(join(dir, 'db.duckdb'), silentLogger);
  const c = await db.instance.connect();
  try {
    return (await c.runAndReadAll('SELECT id, name FROM main.events ORDER BY id')).getRows();
  } finally {
    c.closeSync();
    await releaseDatabase(db, silentLogger);
  }
}

it('inserts a window of only new keys deduplicated, and still merges a window with an existing key', async () => {
  expect((await commit(1, [['a', '2024-01-01T01:00:00Z', 'a1']])).upserted).toBe(1);
  // only new keys (b, c), with duplicates: latest cursor wins, then the last staged
  const second = await commit(2, [
    ['b', '2024-01-02T05:00:00Z', 'b-latest'],
    ['b', '2024-01-02T01:00:00Z', 'b-older'],
    ['c', '2024-01-02T01:00:00Z', 'c-first'],
    ['c', '2024-01-02T01:00:00Z', 'c-last'],
  ]);
  expect(second).toEqual({ staged: 4, upserted: 2, deleted: 0 });
  expect(await names()).toEqual([
    ['a', 'a1'],
    ['b', 'b-latest'],
    ['c', 'c-last'],
  ]);
  // one existing key (a) and one new (d): the merge updates a and inserts d, nothing doubles
  const third = await commit(3, [
    ['a', '2024-01-03T01:00:00Z', 'a2'],
    ['d', '2024-01-03T01:00:00Z', 'd1'],
  ]);
  expect(third.upserted).toBe(2);
  expect(await names()).toEqual([
    ['a', 'a2'],
    ['b', 'b-latest'],
    ['c', 'c-last'],
    ['d', 'd1'],
  ]);
});
