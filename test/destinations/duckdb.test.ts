import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, Row, TableSchema } from '../../src/core/contracts.js';
import { DestinationError, LockedError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import {
  acquireDatabase,
  connect,
  disconnect,
  releaseDatabase,
  workerThreads,
} from '../../src/destinations/duckdb/duckdb-database.js';
import { select } from '../../src/destinations/duckdb/duckdb-state.js';
import {
  AUDIT,
  canon,
  col,
  destinationContract,
  settleContract,
  eventsSchema,
  loadWindow,
  stateAt,
  win,
  type DestinationHarness,
} from './contract.js';

const SCHEMA = 'exportsync';
const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

/** SQL on the file through the process's shared instance (a second instance would read stale data). */
async function sql<R extends Record<string, unknown>>(path: string, text: string): Promise<R[]> {
  const db = await acquireDatabase(path, silentLogger);
  const c = await connect(db);
  try {
    return await select<R>(c, text);
  } finally {
    disconnect(db, c);
    await releaseDatabase(db, silentLogger);
  }
}

/** Each column as canonical text (see DestinationHarness.rows), ordered by `orderBy`. */
async function tableRows(
  path: string,
  table: string,
  orderBy: string[],
): Promise<Array<Record<string, string | null>>> {
  const cols = await sql<{ column_name: string; data_type: string }>(
    path,
    `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = '${SCHEMA}' AND table_name = '${table.replace(/'/g, "''")}' ORDER BY column_index`,
  );
  if (cols.length === 0) throw new Error(`no table ${table}`);
  const exprs = cols.map(({ column_name: n, data_type: t }) => {
    if (t === 'TIMESTAMP WITH TIME ZONE')
      return `strftime(timezone('UTC', ${q(n)}), '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q(n)}`;
    if (t === 'BOOLEAN') return `CASE WHEN ${q(n)} THEN 'true' WHEN NOT ${q(n)} THEN 'false' END AS ${q(n)}`;
    return `CAST(${q(n)} AS VARCHAR) AS ${q(n)}`;
  });
  // the catalog is named after the file; a two-part name would be ambiguous (catalog and schema both 'exportsync')
  const catalog = basename(path).replace(/\.duckdb$/, '');
  // ORDER BY src.col: a bare name would sort by the VARCHAR output column ('100' < '2')
  return sql(
    path,
    `SELECT ${exprs.join(', ')} FROM ${q(catalog)}.${q(SCHEMA)}.${q(table)} AS src ORDER BY ${orderBy.map((n) => `src.${q(n)}`).join(', ')}`,
  );
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'exportsync-duck-'));
}

/** `bulkFirstLoadMinRows`: the destination option (default: the destination's own). */
async function makeHarness(bulkFirstLoadMinRows?: number): Promise<DestinationHarness> {
  const dir = tempDir();
  const path = join(dir, 'exportsync.duckdb');
  const made: Destination[] = [];
  const open = async () => {
    const d = createDuckDbDestination({
      path,
      schema: SCHEMA,
      log: silentLogger,
      ...(bulkFirstLoadMinRows === undefined ? {} : { bulkFirstLoadMinRows }),
    });
    made.push(d);
    await d.open();
    return d;
  };
  const destination = await open();
  return {
    destination,
    rows: (table, orderBy) => tableRows(path, table, orderBy),
    reopen: open,
    async cleanup() {
      for (const d of made) await d.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

destinationContract('duckdb', () => makeHarness());
// the default starts a bulk first load only from 10,000 rows a window: here from the first row, so
// that the settle cases run the append-then-settle path and not only the keyed merge
settleContract('duckdb, bulk first load from the first row', () => makeHarness(1));

// ───────────────────────────── child processes ─────────────────────────────

const DUCK_INDEX = resolve(import.meta.dirname, '../../src/destinations/duckdb/index.ts');

/**
 * Runs a TypeScript snippet in a child process (`node --import tsx`, one process, so its exit
 * signal is the snippet's own); resolves with its exit code and signal.
 */
async function runChild(
  dir: string,
  body: string,
  onStdout?: (line: string) => void,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const file = join(dir, `child-${Math.random().toString(16).slice(2)}.mts`);
  writeFileSync(
    file,
    `import { createDuckDbDestination } from ${JSON.stringify(DUCK_INDEX)};\n` +
      `import { silentLogger } from ${JSON.stringify(resolve(import.meta.dirname, '../../src/core/log.ts'))};\n` +
      `const path = process.argv[2]!;\n${body}\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', file, join(dir, 'exportsync.duckdb')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: resolve(import.meta.dirname, '../..'),
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.on('data', (b: Buffer) => onStdout?.(b.toString()));
  return new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
}

const CHILD_SCHEMA = `const schema = { table: 'events', primaryKey: ['id'], cursorColumn: 'ts', columns: [
  { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
  { name: 'ts', source: 'ts', type: 'timestamp', origin: 'dictionary' },
  { name: 'name', source: 'name', type: 'string', origin: 'dictionary' }] } as const;
const d = createDuckDbDestination({ path, schema: 'exportsync', log: silentLogger });
await d.open();`;

describe('duckdb destination', () => {
  let dir: string;
  let path: string;
  let d: Destination;
  beforeAll(async () => {
    dir = tempDir();
    path = join(dir, 'exportsync.duckdb');
    d = createDuckDbDestination({ path, schema: SCHEMA, log: silentLogger });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lossless values: int64 bounds, 2^53+1, 38-digit and 18-fraction-digit decimals, microseconds', async () => {
    const schema: TableSchema = {
      table: 'lossless',
      columns: [
        col('id', 'integer'),
        col('i', 'integer'),
        col('d', 'decimal'),
        col('t', 'timestamp'),
        ...AUDIT,
      ],
      primaryKey: ['id'],
      cursorColumn: 't',
    };
    const rows: Row[] = [
      ['1', '9223372036854775807', '12345678901234567890.123456789012345678', '2024-01-01T00:00:00.000001Z'],
      ['2', '-9223372036854775808', '-0.000000000000000001', '1970-01-01T00:00:00Z'],
      ['3', '9007199254740993', '99999999999999999999.999999999999999999', '2038-01-19T03:14:07.999999Z'],
    ];
    await loadWindow(d, { streamKey: 'lossless', schema, batches: [rows] });
    const got = await tableRows(path, 'lossless', ['id']);
    expect(got.map((r) => [r.i, canon('decimal', r.d ?? null), r.t])).toEqual([
      ['9223372036854775807', '12345678901234567890.123456789012345678', '2024-01-01T00:00:00.000001Z'],
      ['-9223372036854775808', '-0.000000000000000001', '1970-01-01T00:00:00.000000Z'],
      ['9007199254740993', '99999999999999999999.999999999999999999', '2038-01-19T03:14:07.999999Z'],
    ]);
    expect((await d.describeTable('lossless'))?.columns.find((c) => c.name === 'd')?.nativeType).toBe(
      'DECIMAL(38,18)',
    );
  });

  it('a decimal column grows its scale when finer values arrive, keeping old values exact', async () => {
    const schema = eventsSchema('scaled', [col('amount', 'decimal', 'dynamic')]);
    const ext = (id: string, amount: string): Row => [
      id,
      '2024-01-01T01:00:00Z',
      id,
      '1',
      null,
      null,
      null,
      amount,
    ];
    await loadWindow(d, {
      streamKey: 'scaled',
      schema,
      batches: [[ext('a', '123456789012345678901234567890.5')]],
    });
    expect((await d.describeTable('scaled'))?.columns.find((c) => c.name === 'amount')?.nativeType).toBe(
      'DECIMAL(38,1)',
    );
    await loadWindow(d, { streamKey: 'scaled', schema, batches: [[ext('b', '0.12345678')]] });
    expect((await d.describeTable('scaled'))?.columns.find((c) => c.name === 'amount')?.nativeType).toBe(
      'DECIMAL(38,8)',
    );
    const got = await tableRows(path, 'scaled', ['id']);
    expect(got.map((r) => canon('decimal', r.amount ?? null))).toEqual([
      '123456789012345678901234567890.5',
      '0.12345678',
    ]);
  });

  it('decimals that cannot share DECIMAL(38) turn the column into exact text instead of rounding', async () => {
    const schema = eventsSchema('wide', [col('amount', 'decimal', 'dynamic')]);
    const ext = (id: string, amount: string): Row => [
      id,
      '2024-01-01T01:00:00Z',
      id,
      '1',
      null,
      null,
      null,
      amount,
    ];
    await loadWindow(d, {
      streamKey: 'wide',
      schema,
      batches: [[ext('a', '12345678901234567890123456789012345.5')]],
    });
    // 35 integer digits already stored + 8 fraction digits needed = 43 > 38
    await loadWindow(d, { streamKey: 'wide', schema, batches: [[ext('b', '0.12345678')]] });
    const described = await d.describeTable('wide');
    expect(described?.columns.find((c) => c.name === 'amount')?.nativeType).toBe('VARCHAR');
    expect((await tableRows(path, 'wide', ['id'])).map((r) => r.amount)).toEqual([
      '12345678901234567890123456789012345.5',
      '0.12345678',
    ]);
    // more than 38 digits in one value on a new column
    const big = '1'.repeat(30) + '.' + '2'.repeat(20);
    await loadWindow(d, {
      streamKey: 'wide2',
      schema: eventsSchema('wide2', [col('amount', 'decimal', 'dynamic')]),
      batches: [[ext('a', big)]],
    });
    expect((await tableRows(path, 'wide2', ['id'])).map((r) => r.amount)).toEqual([big]);
  });

  it('a key column widened integer → string is rebuilt inside the commit, keeping rows and the key', async () => {
    const schema = (t: 'integer' | 'string'): TableSchema => ({
      table: 'rekey',
      columns: [col('id', t), col('ts', 'timestamp'), col('v', 'string'), ...AUDIT],
      primaryKey: ['id'],
      cursorColumn: 'ts',
    });
    await loadWindow(d, {
      streamKey: 'rekey',
      schema: schema('integer'),
      batches: [
        [
          ['1', '2024-01-01T01:00:00Z', 'one'],
          ['2', '2024-01-01T01:00:00Z', 'two'],
        ],
      ],
    });
    await loadWindow(d, {
      streamKey: 'rekey',
      schema: schema('string'),
      batches: [
        [
          ['2', '2024-01-01T02:00:00Z', 'two-new'],
          ['x', '2024-01-01T02:00:00Z', 'ex'],
        ],
      ],
    });
    expect((await d.describeTable('rekey'))?.columns.find((c) => c.name === 'id')?.type).toBe('string');
    expect((await tableRows(path, 'rekey', ['id'])).map((r) => [r.id, r.v])).toEqual([
      ['1', 'one'],
      ['2', 'two-new'],
      ['x', 'ex'],
    ]);
    // the key is still enforced after the rebuild
    await loadWindow(d, {
      streamKey: 'rekey',
      schema: schema('string'),
      batches: [[['x', '2024-01-01T03:00:00Z', 'ex2']]],
    });
    expect((await tableRows(path, 'rekey', ['id'])).length).toBe(3);
  });

  it('snapshot history: key (key, cursor) NOT NULL without an index, widened integer → string in place', async () => {
    const funnel = (t: 'integer' | 'string'): TableSchema => ({
      table: 'hkey',
      columns: [col('id', t), col('day', 'date'), col('stage', 'string'), ...AUDIT],
      primaryKey: ['id'],
      cursorColumn: 'day',
    });
    const snap = (t: 'integer' | 'string', day: string, rows: Row[]) =>
      loadWindow(d, {
        streamKey: 'hkey',
        schema: funnel(t),
        mode: 'snapshot',
        window: win(`${day}T00:00:00Z`, `${day}T23:59:59.999Z`),
        batches: [rows],
        history: true,
      });
    await snap('integer', '2024-01-01', [
      ['1', '2024-01-01', 'lead'],
      ['2', '2024-01-01', 'lead'],
    ]);
    // Keys are NOT NULL but carry no PRIMARY KEY index (its ART index would pin memory per key);
    // uniqueness comes from the deduplicated MERGE, pinned below and by the contract suite.
    const constraints = await sql<{ kind: string; cols: string }>(
      path,
      `SELECT constraint_type AS kind, array_to_string(constraint_column_names, ',') AS cols
       FROM duckdb_constraints() WHERE table_name = 'hkey_history' ORDER BY 1, 2`,
    );
    expect(constraints).toEqual([
      { kind: 'NOT NULL', cols: 'day' },
      { kind: 'NOT NULL', cols: 'id' },
    ]);
    await snap('string', '2024-01-02', [
      ['1', '2024-01-02', 'trial'],
      ['x', '2024-01-02', 'lead'],
    ]);
    expect((await d.describeTable('hkey_history'))?.columns.find((c) => c.name === 'id')?.type).toBe(
      'string',
    );
    // a re-run of the day replaces, never doubles
    await snap('string', '2024-01-02', [['1', '2024-01-02', 'customer']]);
    expect((await tableRows(path, 'hkey_history', ['day', 'id'])).map((r) => [r.day, r.id, r.stage])).toEqual(
      [
        ['2024-01-01', '1', 'lead'],
        ['2024-01-01', '2', 'lead'],
        ['2024-01-02', '1', 'customer'],
      ],
    );
    expect((await d.describeTable('hkey_history'))?.columns.map((c) => c.name)).not.toContain('_deleted_at');
  });

  it('a boolean column widened to integer mid-load converts the rows staged as booleans', async () => {
    const withV = (t: 'boolean' | 'integer') => eventsSchema('flags', [col('v', t, 'dynamic')]);
    await loadWindow(d, {
      streamKey: 'flags',
      schema: withV('integer'),
      batches: [
        {
          rows: [['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, 'true']],
          schema: withV('boolean'),
        },
        { rows: [['b', '2024-01-01T01:00:00Z', 'b', '1', null, null, null, '42']], schema: withV('integer') },
      ],
    });
    expect((await tableRows(path, 'flags', ['id'])).map((r) => r.v)).toEqual(['1', '42']);
  });

  it('a non-canonical staged value fails the commit loudly (no TRY_CAST) and changes nothing', async () => {
    await loadWindow(d, {
      streamKey: 'strict',
      schema: eventsSchema('strict'),
      batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
      state: stateAt('2024-01-02T00:00:00.000Z'),
    });
    const load = await d.beginLoad({ streamKey: 'strict', schema: eventsSchema('strict'), runId: 'r' });
    await load.write([['b', '2024-01-01T02:00:00Z', 'b', 'twelve']], eventsSchema('strict'));
    const err = await load
      .commit({
        schema: eventsSchema('strict'),
        mode: 'merge',
        window: win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z'),
        state: stateAt('2024-01-03T00:00:00.000Z'),
      })
      .catch((e: unknown) => e);
    await load.abort();
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as DestinationError).details.code).toBe('Conversion');
    expect((err as Error).message).toMatch(/bug in exportsync/);
    expect((await tableRows(path, 'strict', ['id'])).map((r) => r.id)).toEqual(['a']);
    expect((await d.getState('strict'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');
  });

  it('loads of several streams commit concurrently on one destination without conflicts', async () => {
    const streams = ['c1', 'c2', 'c3', 'c4'];
    const rows = (s: string): Row[] =>
      Array.from({ length: 2000 }, (_, i) => [`${s}-${i}`, '2024-01-01T01:00:00Z', s, String(i)]);
    const loads = await Promise.all(
      streams.map((s) => d.beginLoad({ streamKey: `conc.${s}`, schema: eventsSchema(s), runId: 'r' })),
    );
    await Promise.all(loads.map((l, i) => l.write(rows(streams[i]!), eventsSchema(streams[i]!))));
    const results = await Promise.all(
      loads.map((l, i) =>
        l.commit({
          schema: eventsSchema(streams[i]!),
          mode: 'merge',
          window: win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'),
          state: stateAt('2024-01-02T00:00:00.000Z'),
        }),
      ),
    );
    expect(results.map((r) => r.upserted)).toEqual([2000, 2000, 2000, 2000]);
    const states = (await d.listStates()).filter((s) => s.streamKey.startsWith('conc.'));
    expect(states.length).toBe(4);
    // the same table from two loads at once: both land, the later commit wins per key
    const a = await d.beginLoad({ streamKey: 'conc.same', schema: eventsSchema('same'), runId: 'ra' });
    const b = await d.beginLoad({ streamKey: 'conc.same', schema: eventsSchema('same'), runId: 'rb' });
    await a.write([['k', '2024-01-01T01:00:00Z', 'from-a', '1']], eventsSchema('same'));
    await b.write(
      [
        ['k', '2024-01-01T01:00:00Z', 'from-b', '2'],
        ['m', '2024-01-01T01:00:00Z', 'm', '3'],
      ],
      eventsSchema('same'),
    );
    const req = {
      schema: eventsSchema('same'),
      mode: 'merge' as const,
      window: win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'),
      state: stateAt('2024-01-02T00:00:00.000Z'),
    };
    await Promise.all([a.commit(req), b.commit(req)]);
    expect((await tableRows(path, 'same', ['id'])).map((r) => r.id)).toEqual(['k', 'm']);
  });

  it('opening a file another process holds throws LockedError naming the file and the pid', async () => {
    const own = tempDir();
    let ready!: () => void;
    let holderPid = 0;
    const holding = new Promise<void>((r) => (ready = r));
    const child = runChild(
      own,
      `${CHILD_SCHEMA}\nconsole.log('ready ' + process.pid);\nsetTimeout(() => process.exit(0), 30000);`,
      (s) => {
        const m = /ready (\d+)/.exec(s);
        if (m) {
          holderPid = Number(m[1]);
          ready();
        }
      },
    );
    await holding;
    const other = createDuckDbDestination({
      path: join(own, 'exportsync.duckdb'),
      schema: SCHEMA,
      log: silentLogger,
    });
    const err = await other.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toMatch(/^exportsync\.duckdb is open in another process \(pid \d+\)/);
    const verdict = await other.check();
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toMatch(/open in another process/);
    await other.close();
    const pid = Number(/pid (\d+)/.exec((err as Error).message)?.[1]);
    expect(pid).toBe(holderPid);
    process.kill(pid, 'SIGKILL');
    await child;
    rmSync(own, { recursive: true, force: true });
  });

  it('a process killed before commit leaves the committed rows and state untouched', async () => {
    const own = tempDir();
    const file = join(own, 'exportsync.duckdb');
    const first = await runChild(
      own,
      `${CHILD_SCHEMA}
const l = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r1' });
await l.write([['a', '2024-01-01T01:00:00Z', 'committed']], schema);
await l.commit({ schema, mode: 'merge', window: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-02T00:00:00Z') },
  state: { version: 1, highWaterMark: '2024-01-02T00:00:00.000Z', schemaVersion: 1, updatedAt: '2024-01-02T00:00:00.000Z' } });
const l2 = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r2' });
await l2.write(Array.from({ length: 50000 }, (_, i) => [String(i), '2024-01-02T01:00:00Z', 'staged-only']), schema);
process.kill(process.pid, 'SIGKILL');`,
    );
    expect(first.signal ?? first.code, first.stderr).toBe('SIGKILL');
    const after = createDuckDbDestination({ path: file, schema: SCHEMA, log: silentLogger });
    await after.open();
    expect(await after.getState('s.events')).toMatchObject({ highWaterMark: '2024-01-02T00:00:00.000Z' });
    expect((await tableRows(file, 'events', ['id'])).map((r) => [r.id, r.name])).toEqual([
      ['a', 'committed'],
    ]);
    await after.close();
    rmSync(own, { recursive: true, force: true });
  });

  it('a process killed right after commit keeps the rows and the state (WAL), and close() releases the file', async () => {
    const own = tempDir();
    const file = join(own, 'exportsync.duckdb');
    const res = await runChild(
      own,
      `${CHILD_SCHEMA}
const l = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r1' });
await l.write(Array.from({ length: 20000 }, (_, i) => [String(i), '2024-01-01T01:00:00Z', 'n' + i]), schema);
await l.commit({ schema, mode: 'merge', window: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-02T00:00:00Z') },
  state: { version: 1, highWaterMark: '2024-01-02T00:00:00.000Z', schemaVersion: 1, updatedAt: '2024-01-02T00:00:00.000Z' } });
process.kill(process.pid, 'SIGKILL');`,
    );
    expect(res.signal ?? res.code, res.stderr).toBe('SIGKILL');
    const after = createDuckDbDestination({ path: file, schema: SCHEMA, log: silentLogger });
    await after.open();
    expect((await after.getState('s.events'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');
    expect((await after.describeTable('events'))?.rowCount).toBe(20000);
    await after.close();
    // after close() another process can open the file
    const reader = await runChild(
      own,
      `${CHILD_SCHEMA}\nconsole.log(JSON.stringify(await d.getState('s.events')));\nawait d.close();`,
    );
    expect(reader.code, reader.stderr).toBe(0);
    rmSync(own, { recursive: true, force: true });
  });

  it('two destination objects on one file share one engine: writes of one are read by the other at once', async () => {
    const other = createDuckDbDestination({ path, schema: SCHEMA, log: silentLogger });
    await other.open();
    await loadWindow(d, {
      streamKey: 'shared',
      schema: eventsSchema('shared'),
      batches: [[['z', '2024-01-01T01:00:00Z', 'z', '1']]],
    });
    expect((await other.describeTable('shared'))?.rowCount).toBe(1);
    await other.close();
    // d still works after the other object closed
    expect((await d.describeTable('shared'))?.rowCount).toBe(1);
  });

  it('the engine leaves a core to the sync and gives freed memory back after large statements', async () => {
    const rows = await sql<{ name: string; value: string }>(
      path,
      `SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'allocator_bulk_deallocation_flush_threshold', 'preserve_insertion_order') ORDER BY name`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.value]))).toEqual({
      allocator_bulk_deallocation_flush_threshold: '32.0 MiB',
      preserve_insertion_order: 'true', // the spool's staging order relies on it
      threads: String(workerThreads()),
    });
    expect([1, 2, 8].map((cores) => workerThreads(cores))).toEqual([1, 1, 7]);
  });
});
