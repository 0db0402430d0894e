/**
 * DuckDB's CSV pass-through (`Load.writeCsv`, src/destinations/duckdb/duckdb-spool.ts): encoded
 * rows go to a spool file and are read into the staging table by `read_csv` at commit. Pinned
 * here: the same values as `write` (every type, the strings a CSV reader could turn into NULL or
 * trim), the call order as staging order across write/writeCsv and across DuckDB's parallel read,
 * schema growth, refusals that stage nothing, failures that leave target and state untouched, and
 * the spool's files removed after commit, abort, and a killed run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { CsvRows, Destination, Load, Row, TableSchema } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { acquireDatabase, releaseDatabase } from '../../src/destinations/duckdb/duckdb-database.js';
import { spoolRoot } from '../../src/destinations/duckdb/duckdb-spool.js';
import { select } from '../../src/destinations/duckdb/duckdb-state.js';
import { AUDIT, col, eventsSchema, stateAt, win } from './contract.js';

const SCHEMA = 'csvspool';
const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

/** Rows as a CsvRecordWriter writes them: NULL unquoted empty, quotes only where needed (or all). */
function csv(rows: Row[], width: TableSchema | number, quoteAll = false): CsvRows {
  const w = typeof width === 'number' ? width : width.columns.length;
  const field = (v: string | null) =>
    v === null ? '' : quoteAll || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const text = rows.map((r) => Array.from({ length: w }, (_, i) => field(r[i] ?? null)).join(',') + '\n');
  return { text: Buffer.from(text.join(''), 'utf8'), rows: rows.length, width: w };
}

type Step =
  | { write: Row[]; schema?: TableSchema }
  | { csv: Row[]; schema?: TableSchema; quoteAll?: boolean; stats?: CsvRows['stats'] };

describe('duckdb writeCsv (CSV spool)', () => {
  let dir: string;
  let path: string;
  let d: Destination;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exportsync-duckcsv-'));
    path = join(dir, 'spool.duckdb');
    d = createDuckDbDestination({ path, schema: SCHEMA, log: silentLogger });
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

  /** Every column as text (timestamps in UTC, six fraction digits), audit stamps left out. */
  async function rowsOf(table: string): Promise<Array<Record<string, string | null>>> {
    const cols = await sql<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = '${SCHEMA}' AND table_name = '${table}' ORDER BY column_index`,
    );
    const exprs = cols
      .filter((c) => c.column_name !== '_exportsync_loaded_at')
      .map(({ column_name: n, data_type: t }) =>
        t === 'TIMESTAMP WITH TIME ZONE'
          ? `strftime(timezone('UTC', ${q(n)}), '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q(n)}`
          : `CAST(${q(n)} AS VARCHAR) AS ${q(n)}`,
      );
    const catalog = basename(path).replace(/\.duckdb$/, '');
    // ORDER BY the stored first column: the VARCHAR output column would sort '10' before '2'
    return sql(
      `SELECT ${exprs.join(', ')} FROM ${q(catalog)}.${q(SCHEMA)}.${q(table)} AS src ORDER BY src.${q(cols[0]!.column_name)}`,
    );
  }

  async function stage(schema: TableSchema, steps: Step[], streamKey = `t.${schema.table}`): Promise<Load> {
    const load = await d.beginLoad({ streamKey, schema: steps[0]?.schema ?? schema, runId: 'run-1' });
    for (const s of steps) {
      if ('write' in s) await load.write(s.write, s.schema ?? schema);
      else {
        const rows = csv(s.csv, s.schema ?? schema, s.quoteAll);
        await load.writeCsv!(s.stats ? { ...rows, stats: s.stats } : rows, s.schema ?? schema);
      }
    }
    return load;
  }

  async function load(schema: TableSchema, steps: Step[], mode: 'merge' | 'replace_window' = 'merge') {
    const l = await stage(schema, steps);
    return l.commit({ schema, mode, window: DAY1, state: stateAt(DAY1.to.toISOString()) });
  }

  /**
   * Creates `schema`'s table by an empty commit and settles it, so later commits take the keyed
   * paths (key check, deduplicated insert, merge) instead of the bulk first load's append.
   */
  async function keyed(schema: TableSchema): Promise<void> {
    await load(schema, []);
    await d.settle!(schema.table);
  }

  const spools = (): string[] => {
    const root = spoolRoot(join(dir, 'spool.duckdb'));
    return existsSync(root) ? readdirSync(root) : [];
  };

  const typed = (table: string): TableSchema => ({
    table,
    columns: [
      col('id', 'integer'),
      col('s', 'string'),
      col('d', 'decimal'),
      col('f', 'float'),
      col('b', 'boolean'),
      col('t', 'timestamp'),
      col('dt', 'date'),
      col('j', 'json'),
      ...AUDIT,
    ],
    primaryKey: ['id'],
    cursorColumn: 't',
  });
  const strings = [
    ' ',
    '  padded  ',
    'NULL',
    'null',
    '\\N',
    'a,b',
    '"',
    '""',
    'say "hi"',
    'line1\nline2',
    'cr\rlf\r\n',
    '\n',
    'ünïcødé ✓ 日本語 🎉',
    '\ttab',
    '#not a comment',
  ];
  const typedRows: Row[] = [
    [
      '1',
      null,
      '-12345678901234567890.123456789',
      '0.1',
      'true',
      '2024-01-01T00:00:00Z',
      '2024-02-29',
      '{"a":"x,y"}',
    ],
    ['2', 'x', '0', '-1.5e-7', 'false', '2024-01-01T23:59:59.999999Z', '1970-01-01', '[1,"\\"",null]'],
    ['3', null, null, null, null, '2024-01-01T12:00:00.5Z', null, null],
    ...strings.map((v, k): Row => [String(10 + k), v, `${k}.25`, null, null, '2024-01-01T06:00:00Z']),
  ];

  it('stages the same values as write, whatever the TimeZone of the database', async () => {
    const db = await acquireDatabase(path, silentLogger);
    const c = await db.instance.connect();
    await c.run(`SET GLOBAL TimeZone = 'Asia/Kathmandu'`); // +05:45: a naive cast would shift every instant
    try {
      await load(typed('via_write'), [{ write: typedRows }]);
      await load(typed('via_csv'), [
        { csv: typedRows.slice(0, 8) },
        { csv: typedRows.slice(8), quoteAll: true },
      ]);
    } finally {
      await c.run(`SET GLOBAL TimeZone = 'UTC'`);
      c.closeSync();
      await releaseDatabase(db, silentLogger);
    }
    const viaCsv = await rowsOf('via_csv');
    expect(viaCsv).toEqual(await rowsOf('via_write'));
    expect(viaCsv.filter((r) => Number(r.id) >= 10).map((r) => r.s)).toEqual(strings);
    expect(viaCsv.slice(0, 3).map((r) => r.t)).toEqual([
      '2024-01-01T00:00:00.000000Z',
      '2024-01-01T23:59:59.999999Z',
      '2024-01-01T12:00:00.500000Z',
    ]);
    expect(viaCsv[2]).toMatchObject({ s: null, d: null, f: null, b: null, dt: null, j: null });
  });

  it("rows written after the spool started keep '' apart from NULL", async () => {
    const s = eventsSchema('empties');
    await load(s, [
      { csv: [['a', '2024-01-01T01:00:00Z', 'a', '1']] },
      {
        write: [
          ['b', '2024-01-01T01:00:00Z', '', '2'],
          ['c', '2024-01-01T01:00:00Z', null, '3'],
        ],
      },
    ]);
    expect((await rowsOf('empties')).map((r) => [r.id, r.name])).toEqual([
      ['a', 'a'],
      ['b', ''],
      ['c', null],
    ]);
  });

  it('staging order is call order: duplicates far apart in one large file, and across write/writeCsv', async () => {
    // ~20 MB: DuckDB reads it in parallel chunks, the later copy of every key must still win
    const s = eventsSchema('order', [col('pad', 'string', 'dynamic')]);
    const pad = 'p'.repeat(120);
    const n = 60_000;
    const rows: Row[] = [];
    for (let i = 0; i < n; i++)
      rows.push([`k${i}`, '2024-01-01T01:00:00Z', 'old', '1', null, null, null, pad]);
    for (let i = n - 1; i >= 0; i--)
      rows.push([`k${i}`, '2024-01-01T01:00:00Z', 'new', '2', null, null, null, pad]);
    await keyed(s);
    const result = await load(s, [
      { write: [['w', '2024-01-01T01:00:00Z', 'appender', '0']] },
      { csv: rows },
      {
        write: [
          ['w', '2024-01-01T01:00:00Z', 'after csv', '3'],
          ['k5', '2024-01-01T01:00:00Z', 'after csv', '3'],
        ],
      },
    ]);
    expect(result).toEqual({ staged: 2 * n + 3, upserted: n + 1, deleted: 0 });
    const names = await sql<{ name: string; k: bigint }>(
      `SELECT name, count(*) AS k FROM ${q(SCHEMA)}.${q('order')} GROUP BY name ORDER BY name`,
    );
    expect(names.map((r) => [r.name, Number(r.k)])).toEqual([
      ['after csv', 2],
      ['new', n - 1],
    ]);
  });

  it('every row in the spool: duplicates across files and DuckDB’s parallel read, the latest staged wins', async () => {
    // the commit reads the spool files themselves (no staging table): the order must still hold
    const v1 = eventsSchema('spool_order', [col('pad', 'string', 'dynamic')]);
    const v2 = eventsSchema('spool_order', [
      col('pad', 'string', 'dynamic'),
      col('more', 'string', 'dynamic'),
    ]);
    const pad = 'p'.repeat(120);
    const n = 60_000;
    const older: Row[] = [];
    for (let i = 0; i < n; i++)
      older.push([`k${i}`, '2024-01-01T01:00:00Z', 'old', '1', null, null, null, pad]);
    const newer: Row[] = [];
    for (let i = n - 1; i >= 0; i--)
      newer.push([`k${i}`, '2024-01-01T01:00:00Z', 'new', '2', null, null, null, pad, 'm']);
    await keyed(v1);
    const result = await load(v2, [
      { csv: older, schema: v1 },
      { csv: newer.slice(0, n / 2), schema: v2 },
      { csv: older.slice(n - 10), schema: v2 }, // k59990…k59999 back to old values: these win
      { csv: newer.slice(n / 2), schema: v2 },
    ]);
    expect(result).toEqual({ staged: 2 * n + 10, upserted: n, deleted: 0 });
    const names = await sql<{ name: string; more: string | null; k: bigint }>(
      `SELECT name, more, count(*) AS k FROM ${q(SCHEMA)}.${q('spool_order')} GROUP BY ALL ORDER BY name`,
    );
    expect(names.map((r) => [r.name, r.more, Number(r.k)])).toEqual([
      ['new', 'm', n - 10],
      ['old', null, 10],
    ]);
  });

  it('every row in the spool: keys equal once typed are one key, and a window of distinct keys lands whole', async () => {
    // '7' and '07' differ as text but are one BIGINT key: the later staged row wins
    const s: TableSchema = { ...eventsSchema('typed_keys'), primaryKey: ['n'] };
    const r = await load(s, [
      {
        csv: [
          ['a', '2024-01-01T01:00:00Z', 'first', '7'],
          ['b', '2024-01-01T01:00:00Z', 'other', '8'],
          ['c', '2024-01-01T01:00:00Z', 'second', '07'],
        ],
      },
    ]);
    expect(r).toEqual({ staged: 3, upserted: 2, deleted: 0 });
    expect((await rowsOf('typed_keys')).map((x) => [x.id, x.n, x.name])).toEqual([
      ['b', '8', 'other'],
      ['c', '7', 'second'],
    ]);
  });

  it('rows staged before the spool started size decimal columns too (no digit is rounded away)', async () => {
    const s = eventsSchema('sized', [col('d', 'decimal', 'dynamic'), col('e', 'decimal', 'dynamic')]);
    await load(s, [
      { write: [['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '1.125', '1']] },
      { csv: [['b', '2024-01-01T01:00:00Z', 'b', '2', null, null, null, '2.5', '123456789.5']] },
    ]);
    expect((await rowsOf('sized')).map((r) => [r.id, r.d, r.e])).toEqual([
      ['a', '1.125', '1.0'],
      ['b', '2.500', '123456789.5'],
    ]);
  });

  describe('CsvRows.stats', () => {
    const typeOf = async (table: string, column: string) =>
      (
        await sql<{ t: string }>(
          `SELECT data_type AS t FROM duckdb_columns() WHERE schema_name = '${SCHEMA}' AND table_name = '${table}' AND column_name = '${column}'`,
        )
      )[0]?.t;
    const big = '-' + '9'.repeat(30) + '.12345678'; // 30 integer, 8 fraction digits
    const wide = (table: string) => eventsSchema(table, [col('d', 'decimal', 'dynamic')]);
    const D = 7; // index of `d` in the line: id, ts, name, n, three audit columns, d
    const line = (id: string, d: string | null): Row => [
      id,
      '2024-01-01T01:00:00Z',
      id,
      '1',
      null,
      null,
      null,
      d,
    ];

    it('sizes the decimal column from the stats when every spooled write carried them', async () => {
      await load(wide('st_exact'), [
        {
          csv: [line('a', big)],
          stats: { longestLine: 80, decimals: [{ column: D, integerDigits: 30, fractionDigits: 8 }] },
        },
        {
          csv: [line('b', '0.5')],
          stats: { longestLine: 50, decimals: [{ column: D, integerDigits: 0, fractionDigits: 1 }] },
        },
      ]);
      expect(await typeOf('st_exact', 'd')).toBe('DECIMAL(38,8)');
      expect((await rowsOf('st_exact')).map((r) => [r.id, r.d])).toEqual([
        ['a', big],
        ['b', '0.50000000'],
      ]);
      // the stats, not the values, sized it: a column claimed wider than its values gets that scale
      await load(wide('st_claimed'), [
        {
          csv: [line('a', '1.5')],
          stats: { longestLine: 60, decimals: [{ column: D, integerDigits: 1, fractionDigits: 4 }] },
        },
      ]);
      expect(await typeOf('st_claimed', 'd')).toBe('DECIMAL(38,4)');
    });

    it('measures the lines when one write came without stats, or without the column', async () => {
      const understated = { longestLine: 60, decimals: [{ column: D, integerDigits: 1, fractionDigits: 0 }] };
      await load(wide('st_fallback'), [
        { csv: [line('a', big)], stats: understated },
        { csv: [line('b', '2.5')] },
      ]);
      expect(await typeOf('st_fallback', 'd')).toBe('DECIMAL(38,8)');
      expect((await rowsOf('st_fallback')).map((r) => r.d)).toEqual([big, '2.50000000']);
      await load(wide('st_unlisted'), [
        { csv: [line('a', big)], stats: understated },
        { csv: [line('b', '2.5')], stats: { longestLine: 60, decimals: [] } },
      ]);
      expect(await typeOf('st_unlisted', 'd')).toBe('DECIMAL(38,8)');
    });

    it('keeps the record count check when the stats cover the decimals', async () => {
      const l = await stage(wide('st_count'), []);
      const text = Buffer.from(`a,2024-01-01T01:00:00Z,a,1,,,,1.5\n`);
      const stats = {
        longestLine: text.length,
        decimals: [{ column: D, integerDigits: 1, fractionDigits: 1 }],
      };
      await l.writeCsv!({ text, rows: 2, width: 8, stats }, wide('st_count'));
      await expect(
        l.commit({
          schema: wide('st_count'),
          mode: 'merge',
          window: DAY1,
          state: stateAt(DAY1.to.toISOString()),
        }),
      ).rejects.toThrow(/holds 1 CSV records where 2 rows were written/);
      await l.abort();
    });
  });

  it('every row in the spool: snapshot with history and a decimal sized by the table, as via write', async () => {
    const s: TableSchema = {
      ...eventsSchema('snap_csv', [col('d', 'decimal', 'dynamic')]),
      table: 'snap_csv',
    };
    const asInt: TableSchema = {
      ...s,
      columns: s.columns.map((c) => (c.name === 'd' ? col('d', 'integer', 'dynamic') : c)),
    };
    const viaWrite = { ...s, table: 'snap_write' };
    const viaWriteInt = { ...asInt, table: 'snap_write' };
    const day1: Row[] = [
      ['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '1.25'],
      ['b', '2024-01-01T02:00:00Z', 'b', '2', null, null, null, null],
    ];
    // the column is DECIMAL(38,2) by then; these rows' schema calls it integer (sized from the table)
    const day2: Row[] = [
      ['a', '2024-01-01T03:00:00Z', 'a2', '3', null, null, null, '123456789012'],
      ['c', '2024-01-01T04:00:00Z', 'c', '4', null, null, null, '-5'],
    ];
    const snap = async (schema: TableSchema, step: Step) => {
      const l = await stage(schema, [step], `t.${schema.table}`);
      return l.commit({ schema, mode: 'snapshot', window: DAY1, state: stateAt(null), history: true });
    };
    const results = [
      await snap(s, { csv: day1 }),
      await snap(asInt, { csv: day2 }),
      await snap(viaWrite, { write: day1 }),
      await snap(viaWriteInt, { write: day2 }),
    ];
    expect(results.slice(0, 2)).toEqual(results.slice(2));
    expect(results[1]).toEqual({ staged: 2, upserted: 2, deleted: 1 });
    const strip = (rows: Array<Record<string, string | null>>) =>
      rows.map((r) => ({ ...r, _deleted_at: r._deleted_at === null ? null : 'set' }));
    expect(strip(await rowsOf('snap_csv'))).toEqual(strip(await rowsOf('snap_write')));
    expect(await rowsOf('snap_csv_history')).toEqual(await rowsOf('snap_write_history'));
    expect((await rowsOf('snap_csv')).map((r) => [r.id, r.d])).toEqual([
      ['a', '123456789012.00'],
      ['b', null],
      ['c', '-5.00'],
    ]);
  });

  it('follows the schema between calls: appended columns NULL for older lines, widened types cast as staged', async () => {
    const v1 = eventsSchema('grown');
    const v2 = eventsSchema('grown', [col('score', 'integer', 'dynamic')]);
    const v3: TableSchema = {
      ...v2,
      columns: v2.columns.map((c) => (c.name === 'score' ? col('score', 'decimal', 'dynamic') : c)),
    };
    const v4 = { ...v3, columns: [...v3.columns, col('flag', 'boolean', 'dynamic')] };
    await load(v4, [
      { csv: [['a', '2024-01-01T01:00:00Z', 'a', '1']], schema: v1 },
      { write: [['b', '2024-01-01T01:00:00Z', 'b', '2', null, null, null, '7']], schema: v2 },
      { csv: [['c', '2024-01-01T01:00:00Z', 'c', '3', null, null, null, '7.25']], schema: v3 },
      { csv: [['d', '2024-01-01T01:00:00Z', 'd', '4', null, null, null, null, 'true']], schema: v4 },
    ]);
    expect((await rowsOf('grown')).map((r) => [r.id, r.score, r.flag])).toEqual([
      ['a', null, null],
      ['b', '7.00', null],
      ['c', '7.25', null],
      ['d', null, 'true'],
    ]);
  });

  it('the insert-only, keyed-merge and replace_window paths take spooled rows as they are', async () => {
    const s = eventsSchema('paths');
    const ts = (h: number) => `2024-01-01T0${h}:00:00Z`;
    await load(s, [
      {
        csv: [
          ['a', ts(1), 'a1', '1'],
          ['b', ts(1), 'b1', '1'],
        ],
      },
    ]);
    const merged = await load(s, [
      {
        csv: [
          ['a', ts(2), 'a2', '2'],
          ['c', ts(1), 'c1', '1'],
        ],
      },
    ]);
    expect(merged).toEqual({ staged: 2, upserted: 2, deleted: 0 });
    const replaced = await load(s, [{ csv: [['z', ts(3), 'z', '9']] }], 'replace_window');
    expect(replaced).toEqual({ staged: 1, upserted: 1, deleted: 3 });
    expect((await rowsOf('paths')).map((r) => r.id)).toEqual(['z']);
    const outside = await stage(s, [{ csv: [['y', '2024-01-05T00:00:00Z', 'y', '1']] }]);
    const err = await outside
      .commit({ schema: s, mode: 'replace_window', window: DAY1, state: stateAt(null) })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/outside/);
    await outside.abort();
  });

  it('refuses lines of another width or not ending in a line break, staging nothing', async () => {
    const s = eventsSchema('refused');
    const l = await stage(s, [{ csv: [['a', '2024-01-01T01:00:00Z', 'a', '1']] }]);
    const wide = l.writeCsv!(csv([['b', '2024-01-01T01:00:00Z', 'b', '2']], s.columns.length + 1), s);
    await expect(wide).rejects.toThrow(
      /t\.refused: encoded rows have 8 fields per line but the schema has 7 columns/,
    );
    const cut = csv([['c', '2024-01-01T01:00:00Z', 'c', '3']], s);
    const noBreak = { ...cut, text: cut.text.subarray(0, cut.text.length - 1) };
    await expect(l.writeCsv!(noBreak, s)).rejects.toThrow(
      /not 1 whole line\(s\) \(\d+ bytes, last byte \d+\)/,
    );
    await expect(l.writeCsv!({ text: cut.text, rows: 0, width: 7 }, s)).rejects.toThrow(
      /not 0 whole line\(s\)/,
    );
    await expect(l.writeCsv!({ text: new Uint8Array(0), rows: 1, width: 7 }, s)).rejects.toThrow(
      /not 1 whole line\(s\) \(0 bytes/,
    );
    // the load is still usable and holds exactly the accepted line
    const r = await l.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(null) });
    expect(r).toEqual({ staged: 1, upserted: 1, deleted: 0 });
    expect((await rowsOf('refused')).map((x) => x.id)).toEqual(['a']);
  });

  it('the bytes are on disk when writeCsv resolves: the caller may reuse its buffer', async () => {
    const s = eventsSchema('reused');
    const l = await d.beginLoad({ streamKey: 't.reused', schema: s, runId: 'r' });
    const rows = csv([['a', '2024-01-01T01:00:00Z', 'kept', '1']], s);
    await l.writeCsv!(rows, s);
    rows.text.fill(0x78); // 'x'
    await l.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(null) });
    expect((await rowsOf('reused')).map((r) => r.name)).toEqual(['kept']);
  });

  it('a line longer than DuckDB’s default line limit (2 MB) lands whole', async () => {
    const s = eventsSchema('long');
    const big = `${'x'.repeat(1_500_000)}\n"${'y'.repeat(1_500_000)}`;
    await load(s, [
      { csv: [['a', '2024-01-01T01:00:00Z', big, '1']] },
      { write: [['b', '2024-01-01T01:00:00Z', big, '2']] },
    ]);
    const got = await sql<{ id: string; n: bigint; md5: string }>(
      `SELECT id, length(name) AS n, md5(name) AS md5 FROM ${q(SCHEMA)}.${q('long')} ORDER BY id`,
    );
    const md5 = createHash('md5').update(big).digest('hex');
    expect(got.map((r) => [r.id, Number(r.n), r.md5])).toEqual([
      ['a', big.length, md5],
      ['b', big.length, md5],
    ]);
  });

  it('removes the spool after commit and after abort, and a failed spool write breaks the load', async () => {
    const s = eventsSchema('spooled');
    const l = await stage(s, [{ csv: [['a', '2024-01-01T01:00:00Z', 'a', '1']] }]);
    expect(spools()).toHaveLength(1);
    await l.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(null) });
    expect(spools()).toEqual([]);
    const aborted = await stage(s, [{ csv: [['b', '2024-01-01T01:00:00Z', 'b', '1']] }]);
    expect(spools()).toHaveLength(1);
    await aborted.abort();
    expect(spools()).toEqual([]);
    // the file a schema change opens cannot be created: nothing is known about the spool any more
    const broken = await stage(s, [{ csv: [['c', '2024-01-01T01:00:00Z', 'c', '1']] }]);
    rmSync(join(spoolRoot(path), spools()[0]!), { recursive: true });
    const v2 = eventsSchema('spooled', [col('extra', 'string', 'dynamic')]);
    await expect(broken.writeCsv!(csv([['d', '2024-01-01T01:00:00Z', 'd', '1']], v2), v2)).rejects.toThrow(
      /spooling rows of t\.spooled: ENOENT/,
    );
    await expect(broken.write([], v2)).rejects.toThrow(/failed earlier/);
    await broken.abort();
    expect((await rowsOf('spooled')).map((r) => r.id)).toEqual(['a']);
  });

  it('a commit that fails on spooled rows leaves target and state untouched (malformed line, row count, cast)', async () => {
    const s = eventsSchema('failing');
    await load(s, [{ csv: [['a', '2024-01-01T01:00:00Z', 'committed', '1']] }]);
    const before = { rows: await rowsOf('failing'), state: await d.getState('t.failing') };
    const good = csv([['a', '2024-01-01T01:00:00Z', 'overwritten?', '2']], s);
    const b: Row = ['b', '2024-01-01T01:00:00Z', 'b', '2'];
    // counts are per spool file: the good line shares it
    const cases: Array<[string, CsvRows, RegExp]> = [
      ['a line with a field too many', csv([[...b, null, null, null, 'x']], 8), /CSV Error/],
      [
        'more lines than rows',
        { ...csv([b, b], s), rows: 1 },
        /holds 3 CSV records where 2 rows were written/,
      ],
      ['fewer lines than rows', { ...csv([b], s), rows: 2 }, /holds 2 CSV records where 3 rows were written/],
      ['a value that is not canonical', csv([['b', '2024-01-01T01:00:00Z', 'b', 'one']], s), /Conversion/],
    ];
    for (const [what, bad, message] of cases) {
      const l = await d.beginLoad({ streamKey: 't.failing', schema: s, runId: 'r2' });
      await l.writeCsv!(good, s);
      await l.writeCsv!({ ...bad, width: s.columns.length }, s);
      const err = await l
        .commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt('2024-01-05T00:00:00.000Z') })
        .catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(DestinationError);
      expect((err as Error).message, what).toMatch(message);
      expect((err as Error).message, what).toContain('t.failing');
      if (!/Conversion/.test(String(message))) {
        // the staging table may be half-filled: the load refuses another commit
        await expect(l.commit({ schema: s, mode: 'merge', window: DAY1 }), what).rejects.toThrow(
          /failed earlier/,
        );
      }
      await l.abort();
      expect(spools(), what).toEqual([]);
      expect(await rowsOf('failing'), what).toEqual(before.rows);
      expect(await d.getState('t.failing'), what).toEqual(before.state);
    }
  });
});

describe('duckdb writeCsv: a killed run', () => {
  it('leaves target and state untouched, and its spool is swept by the next run on the file', async () => {
    const own = mkdtempSync(join(tmpdir(), 'exportsync-duckcsv-kill-'));
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
  { name: 'ts', source: 'ts', type: 'timestamp', origin: 'dictionary' }] };
const csv = (ids) => ({ text: Buffer.from(ids.map((i) => i + ',2024-01-01T01:00:00Z\\n').join('')), rows: ids.length, width: 2 });
const d = createDuckDbDestination({ path: process.argv[2], schema: 'main', log: silentLogger });
await d.open();
const l = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r1' });
await l.writeCsv(csv(['a']), schema);
await l.commit({ schema, mode: 'merge', window: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-02T00:00:00Z') },
  state: { version: 1, highWaterMark: '2024-01-02T00:00:00.000Z', schemaVersion: 1, updatedAt: '2024-01-02T00:00:00.000Z' } });
const l2 = await d.beginLoad({ streamKey: 's.events', schema, runId: 'r2' });
await l2.writeCsv(csv(Array.from({ length: 20000 }, (_, i) => 'staged-' + i)), schema);
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
    const left = readdirSync(spoolRoot(file));
    expect(left).toHaveLength(1);
    mkdirSync(join(spoolRoot(file), 'not-a-spool')); // whatever is there was not made by this process
    const after = createDuckDbDestination({ path: file, schema: 'main', log: silentLogger });
    await after.open();
    try {
      expect((await after.getState('s.events'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');
      expect((await after.describeTable('events'))?.rowCount).toBe(1);
      const schema: TableSchema = {
        table: 'events',
        primaryKey: ['id'],
        cursorColumn: 'ts',
        columns: [col('id', 'string'), col('ts', 'timestamp')],
      };
      const l = await after.beginLoad({ streamKey: 's.events', schema, runId: 'r3' });
      await l.writeCsv!(csv([['b', '2024-01-01T01:00:00Z']], schema), schema);
      const now = readdirSync(spoolRoot(file));
      expect(now).toHaveLength(1);
      expect(left).not.toContain(now[0]);
      await l.abort();
    } finally {
      await after.close();
    }
  });
});
