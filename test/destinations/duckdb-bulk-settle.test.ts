/**
 * DuckDB's bulk first load (src/destinations/duckdb/duckdb-bulk.ts): the commit creating a merge
 * table records it, later commits append as they are, `settle` keeps one row per key (latest
 * cursor, then latest `_exportsync_loaded_at`, then latest staged) in one transaction. Pinned on
 * real database files: repeats across windows and within one window (Appender rows, then spool
 * files of two widths), rowid order surviving checkpoints, a reopen and column changes, settle
 * twice, a run killed after window k settled by the next run, and failed or aborted windows
 * leaving no rows and no record.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { CsvRows, Destination, Row, TableSchema } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { acquireDatabase, releaseDatabase } from '../../src/destinations/duckdb/duckdb-database.js';
import { select } from '../../src/destinations/duckdb/duckdb-state.js';
import { col, eventsSchema, stateAt, win } from './contract.js';

const SCHEMA = 'bulk';
const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const DAY2 = win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z');
const DAY3 = win('2024-01-03T00:00:00Z', '2024-01-04T00:00:00Z');

function csv(rows: Row[], width: number): CsvRows {
  const field = (v: string | null) =>
    v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const text = rows.map((r) => Array.from({ length: width }, (_, i) => field(r[i] ?? null)).join(',') + '\n');
  const buf = Buffer.from(text.join(''), 'utf8');
  return { text: buf, rows: rows.length, width, stats: { longestLine: buf.length, decimals: [] } };
}

type Step = { write: Row[] } | { csv: Row[]; schema?: TableSchema };

async function load(d: Destination, s: TableSchema, window: typeof DAY1, steps: Step[], runId = 'r1') {
  const l = await d.beginLoad({ streamKey: `t.${s.table}`, schema: s, runId });
  let schema = s;
  for (const step of steps) {
    if ('write' in step) await l.write(step.write, schema);
    else {
      schema = step.schema ?? schema;
      await l.writeCsv!(csv(step.csv, schema.columns.length), schema);
    }
  }
  return l.commit({ schema, mode: 'merge', window, state: stateAt(window.to.toISOString()) });
}

describe('duckdb bulk first load and settle', () => {
  let dir: string;
  let path: string;
  let d: Destination;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exportsync-duckbulk-'));
    path = join(dir, 'settle.duckdb');
    d = createDuckDbDestination({ path, schema: SCHEMA, log: silentLogger, bulkFirstLoadMinRows: 1 });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sql<R extends Record<string, unknown>>(text: string): Promise<R[]> {
    const db = await acquireDatabase(path, silentLogger);
    const c = await db.instance.connect();
    try {
      return await select<R>(c, text);
    } finally {
      c.closeSync();
      await releaseDatabase(db, silentLogger);
    }
  }
  const rows = (table: string) =>
    sql<{ id: string; name: string }>(`SELECT id, name FROM bulk."${table}" ORDER BY id, name`);
  const marked = async (table: string) =>
    (await sql(`SELECT 1 FROM bulk._exportsync_bulk_loads WHERE table_name = '${table}'`)).length === 1;

  it('a key repeated across windows of the creating run ends once: the latest cursor wins, on equal cursors the later staged', async () => {
    const s = eventsSchema('across');
    await load(d, s, DAY1, [
      {
        csv: [
          ['a', '2024-01-01T05:00:00Z', 'a-day1-late', '1'],
          ['b', '2024-01-01T01:00:00Z', 'b-day1', '1'],
        ],
      },
    ]);
    expect(await marked('across')).toBe(true);
    // day 2 re-sends a with an older cursor (must lose) and b with the same cursor (later run wins)
    const r2 = await load(
      d,
      s,
      DAY2,
      [
        {
          csv: [
            ['a', '2024-01-01T04:00:00Z', 'a-day2-older', '2'],
            ['b', '2024-01-01T01:00:00Z', 'b-day2', '2'],
          ],
        },
      ],
      'r1',
    );
    expect(r2.upserted).toBe(2); // appended as they are until settled
    expect(await rows('across')).toHaveLength(4);
    expect(await d.settle!('across')).toEqual({ settled: true, duplicatesRemoved: 2 });
    expect(await rows('across')).toEqual([
      { id: 'a', name: 'a-day1-late' },
      { id: 'b', name: 'b-day2' },
    ]);
    expect(await marked('across')).toBe(false);
    // settled: the next window merges (updates b, no duplicate) and settle is a no-op
    await load(d, s, DAY3, [{ csv: [['b', '2024-01-03T01:00:00Z', 'b-day3', '3']] }], 'r3');
    expect(await rows('across')).toEqual([
      { id: 'a', name: 'a-day1-late' },
      { id: 'b', name: 'b-day3' },
    ]);
    expect(await d.settle!('across')).toEqual({ settled: false, duplicatesRemoved: 0 });
  });

  it('within one window the latest staged wins at the commit, before any settle: Appender rows, then spool files of two widths', async () => {
    const s = eventsSchema('within');
    const wider = eventsSchema('within', [col('extra', 'string', 'dynamic')]);
    const ts = '2024-01-01T01:00:00Z';
    await load(d, s, DAY1, [
      {
        write: [
          ['k', ts, 'appender', '1'],
          ['m', ts, 'm-appender', '1'],
        ],
      },
      { csv: Array.from({ length: 5000 }, (_, i) => [`f${i}`, ts, 'filler', '1']) },
      { csv: [['k', ts, 'spool-narrow', '2']] },
      { csv: [['k', ts, 'spool-wide', '3', null, null, null, 'x']], schema: wider },
      { csv: [['m', ts, 'm-spool-wide', '3', null, null, null, 'y']], schema: wider },
    ]);
    // a source repeating an id within one response (Scarf does) is never in the table twice, even
    // while unsettled: a crash now would leave every key once
    expect(await marked('within')).toBe(true);
    const got = await sql<{ id: string; name: string }>(
      `SELECT id, name FROM bulk.within WHERE id IN ('k', 'm') ORDER BY id`,
    );
    expect(got).toEqual([
      { id: 'k', name: 'spool-wide' },
      { id: 'm', name: 'm-spool-wide' },
    ]);
    expect((await sql<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM bulk.within`))[0]?.n).toBe('5002');
    expect(await d.settle!('within')).toEqual({ settled: true, duplicatesRemoved: 0 });
  });

  it('a commit of another run settles the table first, then merges: what it re-reads is never doubled', async () => {
    const s = eventsSchema('rerun');
    await load(d, s, DAY1, [
      {
        csv: [
          ['a', '2024-01-01T01:00:00Z', 'a-run1', '1'],
          ['a', '2024-01-01T02:00:00Z', 'a-run1-later', '1'],
          ['b', '2024-01-01T03:00:00Z', 'b-run1', '1'],
        ],
      },
    ]);
    expect(await marked('rerun')).toBe(true);
    // the run after a crash re-reads day 1 (lookback): settled and merged in its own commit
    await load(d, s, DAY1, [{ csv: [['b', '2024-01-01T03:00:00Z', 'b-run2', '2']] }], 'r2');
    expect(await marked('rerun')).toBe(false);
    expect(await rows('rerun')).toEqual([
      { id: 'a', name: 'a-run1-later' },
      { id: 'b', name: 'b-run2' },
    ]);
    expect(await d.settle!('rerun')).toEqual({ settled: false, duplicatesRemoved: 0 });
  });

  it('rowid order stays insertion order across checkpoints, a reopen and a widened column', async () => {
    const s = eventsSchema('rowids', [col('amount', 'decimal', 'dynamic')]);
    const ts = '2024-01-01T01:00:00Z';
    await load(d, s, DAY1, [
      { csv: Array.from({ length: 3000 }, (_, i) => [`r${i}`, ts, 'one', '1', null, null, null, '1.5']) },
    ]);
    await sql('CHECKPOINT');
    await d.close();
    d = createDuckDbDestination({ path, schema: SCHEMA, log: silentLogger, bulkFirstLoadMinRows: 1 });
    await d.open();
    // a wider decimal widens the column (a rewrite) before these rows go in
    await load(
      d,
      s,
      DAY2,
      [
        {
          csv: Array.from({ length: 3000 }, (_, i) => [
            `s${i}`,
            ts,
            'two',
            '2',
            null,
            null,
            null,
            '123456.125',
          ]),
        },
      ],
      'r1', // the same run goes on after the reopen: it still appends
    );
    await sql('CHECKPOINT');
    const order = await sql<{ ok: boolean }>(
      `SELECT bool_and(prev IS NULL OR prev < rid) AS ok FROM (SELECT rowid AS rid, lag(rowid) OVER (ORDER BY n, id_order) AS prev FROM (SELECT rowid, n, CAST(substr(id, 2) AS INTEGER) AS id_order FROM bulk.rowids))`,
    );
    expect(order[0]?.ok).toBe(true);
    expect(await d.settle!('rowids')).toEqual({ settled: true, duplicatesRemoved: 0 });
  });

  it('a creating window below bulkFirstLoadMinRows is merged from the start (no record)', async () => {
    const small = createDuckDbDestination({
      path,
      schema: SCHEMA,
      log: silentLogger,
      bulkFirstLoadMinRows: 3,
    });
    const s = eventsSchema('small_first');
    await load(small, s, DAY1, [
      {
        csv: [
          ['a', '2024-01-01T01:00:00Z', 'x', '1'],
          ['a', '2024-01-01T01:00:00Z', 'y', '1'],
        ],
      },
    ]);
    expect(await marked('small_first')).toBe(false);
    expect(await rows('small_first')).toEqual([{ id: 'a', name: 'y' }]);
    await load(small, s, DAY2, [
      { csv: Array.from({ length: 3 }, (_, i) => ['a', '2024-01-02T01:00:00Z', `z${i}`, '1']) },
    ]);
    expect(await rows('small_first')).toEqual([{ id: 'a', name: 'z2' }]);
    await small.close();
  });

  it('a table dropped outside exportsync while recorded is recreated with a fresh record (or none)', async () => {
    const s = eventsSchema('dropped');
    await load(d, s, DAY1, [{ csv: [['a', '2024-01-01T01:00:00Z', 'x', '1']] }]);
    expect(await marked('dropped')).toBe(true);
    await sql('DROP TABLE settle.bulk.dropped');
    await load(d, s, DAY1, [{ csv: [['b', '2024-01-01T01:00:00Z', 'y', '1']] }]);
    expect(await marked('dropped')).toBe(true);
    await sql('DROP TABLE settle.bulk.dropped');
    const small = createDuckDbDestination({
      path,
      schema: SCHEMA,
      log: silentLogger,
      bulkFirstLoadMinRows: 5,
    });
    await load(small, s, DAY1, [{ csv: [['c', '2024-01-01T01:00:00Z', 'z', '1']] }]);
    await small.close();
    expect(await marked('dropped')).toBe(false);
    expect(await rows('dropped')).toEqual([{ id: 'c', name: 'z' }]);
  });

  it('settle of a table that is not in a bulk first load is a no-op; so is a second settle', async () => {
    expect(await d.settle!('never_created')).toEqual({ settled: false, duplicatesRemoved: 0 });
    const s = eventsSchema('twice');
    await load(d, s, DAY1, [{ write: [['a', '2024-01-01T01:00:00Z', 'x', '1']] }]);
    expect(await d.settle!('twice')).toEqual({ settled: true, duplicatesRemoved: 0 });
    expect(await d.settle!('twice')).toEqual({ settled: false, duplicatesRemoved: 0 });
    // replace_window tables are never bulk
    const l = await d.beginLoad({ streamKey: 't.rw', schema: eventsSchema('rw'), runId: 'r1' });
    await l.write([['a', '2024-01-01T01:00:00Z', 'x', '1']], eventsSchema('rw'));
    await l.commit({ schema: eventsSchema('rw'), mode: 'replace_window', window: DAY1 });
    expect(await marked('rw')).toBe(false);
  });

  it('a failed or aborted window leaves no rows and no record', async () => {
    const s = eventsSchema('failing');
    const aborted = await d.beginLoad({ streamKey: 't.failing', schema: s, runId: 'r1' });
    await aborted.writeCsv!(csv([['a', '2024-01-01T01:00:00Z', 'x', '1']], 7), s);
    await aborted.abort();
    // the creating commit fails (not an integer): no table, no record
    await expect(load(d, s, DAY1, [{ csv: [['a', '2024-01-01T01:00:00Z', 'x', 'one']] }])).rejects.toThrow(
      /Conversion/,
    );
    expect(await d.describeTable('failing')).toBeNull();
    expect(await marked('failing')).toBe(false);
    await load(d, s, DAY1, [{ csv: [['a', '2024-01-01T01:00:00Z', 'kept', '1']] }]);
    // a later window fails on its second spool file: none of its rows, the record stays
    const l = await d.beginLoad({ streamKey: 't.failing', schema: s, runId: 'r2' });
    await l.writeCsv!(csv([['a', '2024-01-02T01:00:00Z', 'lost', '2']], 7), s);
    await l.writeCsv!({ ...csv([['b', '2024-01-02T01:00:00Z', 'lost', '2']], 7), rows: 2 }, s);
    await expect(
      l.commit({ schema: s, mode: 'merge', window: DAY2, state: stateAt(DAY2.to.toISOString()) }),
    ).rejects.toThrow(/spool file 1 holds 2 CSV records where 3 rows were written/);
    await expect(l.commit({ schema: s, mode: 'merge', window: DAY2 })).rejects.toThrow(/failed earlier/);
    await l.abort();
    expect(await rows('failing')).toEqual([{ id: 'a', name: 'kept' }]);
    expect(await marked('failing')).toBe(true);
    expect((await d.getState('t.failing'))?.highWaterMark).toBe(DAY1.to.toISOString());
  });
});

describe('duckdb bulk first load: a run killed after window k', () => {
  it('leaves it unsettled; the next run settles it in its first commit and merges, doubling nothing', async () => {
    const own = mkdtempSync(join(tmpdir(), 'exportsync-duckbulk-kill-'));
    onTestFinished(() => rmSync(own, { recursive: true, force: true }));
    const file = join(own, 'exportsync.duckdb');
    const child = join(own, 'child.mts');
    const src = (p: string) => JSON.stringify(resolve(import.meta.dirname, '../../src', p));
    writeFileSync(
      child,
      `import { createDuckDbDestination } from ${src('destinations/duckdb/index.ts')};
import { silentLogger } from ${src('core/log.ts')};
const schema = { table: 'events', primaryKey: ['id'], cursorColumn: 'ts', columns: [
  { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
  { name: 'ts', source: 'ts', type: 'timestamp', origin: 'dictionary' },
  { name: 'name', source: 'name', type: 'string', origin: 'dictionary' }] };
const d = createDuckDbDestination({ path: process.argv[2], schema: 'main', log: silentLogger, bulkFirstLoadMinRows: 1 });
await d.open();
for (const day of [1, 2]) {
  const l = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r1' });
  const text = Buffer.from('a,2024-01-0' + day + 'T01:00:00Z,run1-day' + day + '\\n');
  await l.writeCsv({ text, rows: 1, width: 3 }, schema);
  const to = new Date(Date.UTC(2024, 0, day + 1)).toISOString();
  await l.commit({ schema, mode: 'merge', window: { from: new Date(Date.UTC(2024, 0, day)), to: new Date(to) },
    state: { version: 1, highWaterMark: to, schemaVersion: 1, updatedAt: to } });
}
process.kill(process.pid, 'SIGKILL');
`,
    );
    const res = await new Promise<{ code: number | null; signal: string | null; stderr: string }>((done) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, file], {
        stdio: ['ignore', 'ignore', 'pipe'],
        cwd: resolve(import.meta.dirname, '../..'),
      });
      let stderr = '';
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      p.on('exit', (code, signal) => done({ code, signal, stderr }));
    });
    expect(res.signal ?? res.code, res.stderr).toBe('SIGKILL');
    const after = createDuckDbDestination({
      path: file,
      schema: 'main',
      log: silentLogger,
      bulkFirstLoadMinRows: 1,
    });
    await after.open();
    try {
      expect((await after.getState('s.events'))?.highWaterMark).toBe('2024-01-03T00:00:00.000Z');
      expect((await after.describeTable('events'))?.rowCount).toBe(2); // both windows, unsettled
      const schema: TableSchema = {
        table: 'events',
        primaryKey: ['id'],
        cursorColumn: 'ts',
        columns: [col('id', 'string'), col('ts', 'timestamp'), col('name', 'string')],
      };
      const l = await after.beginLoad({ streamKey: 's.events', schema, runId: 'r2' });
      await l.writeCsv!(
        csv(
          [
            ['a', '2024-01-03T01:00:00Z', 'run2-day3'],
            ['b', '2024-01-03T02:00:00Z', 'b'],
          ],
          3,
        ),
        schema,
      );
      await l.commit({ schema, mode: 'merge', window: DAY3, state: stateAt(DAY3.to.toISOString()) });
      // run 1's two copies of a became one, then run 2 merged a and added b: keyed before any settle
      expect((await after.describeTable('events'))?.rowCount).toBe(2);
      expect(await after.settle!('events')).toEqual({ settled: false, duplicatesRemoved: 0 });
    } finally {
      await after.close();
    }
  });
});
