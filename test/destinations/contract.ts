/**
 * The ONE behavioural contract every Destination must pass (Postgres, DuckDB, later BigQuery and
 * Snowflake). It speaks only through `Destination`/`Load` and the harness below — no SQL dialect
 * lives here — so each backend's test file is just `destinationContract('<name>', makeHarness)`
 * plus its own backend-specific tests.
 *
 * What it pins is the user promise: nothing lost, nothing doubled, after any failure. If a test
 * here fails, a real run on that backend can lose or double rows, or advance state past data.
 *
 * Conventions the suite relies on:
 * - Test schemas are built by hand (not by the mapper). Audit columns are part of the schema with
 *   origin 'audit', after the data columns; later columns are appended after them.
 * - A staged NULL in `_exportsync_loaded_at` / `_exportsync_run_id` is filled by the destination
 *   with the commit time / the load's runId (rows staged before the mapper knew them stay useful).
 * - Decimal test values fit DECIMAL(38,8): at most 30 integer digits and 8 fraction digits.
 * - The runs table is `_exportsync_runs` with columns run_id, command, status, rows, error (read
 *   back through `harness.rows`).
 * - The CSV pass-through cases (`Load.writeCsv`) run only when the destination's loads have
 *   `writeCsv`; for the others they are reported as skipped. Their bytes come from `csvRows`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type {
  ColumnSpec,
  CommitRequest,
  CsvRows,
  Destination,
  LogicalType,
  Row,
  RunRecord,
  RunStreamStats,
  StreamState,
  TableSchema,
  Window,
  WindowRecord,
  WriteMode,
} from '../../src/core/contracts.js';
import { DataError, DestinationError, LockedError } from '../../src/core/errors.js';
import { nameHash } from '../../src/schema/identifiers.js';

export interface DestinationHarness {
  /** A fresh, opened destination in an isolated schema/file. */
  destination: Destination;
  /**
   * All rows of a table as text values, ordered by the given columns. Canonical text:
   * timestamps 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, always six fraction digits), dates
   * 'YYYY-MM-DD', booleans 'true'/'false', integers and decimals as exact digits (trailing
   * fraction zeros allowed), floats any text Number() reads back exactly, JSON as JSON text.
   */
  rows(table: string, orderBy: string[]): Promise<Array<Record<string, string | null>>>;
  /** A second, opened instance on the same schema/file (for lock and persistence tests). */
  reopen(): Promise<Destination>;
  /** Closes every instance the harness made and removes the schema/file. */
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /**
   * Whether the destination implements `snapshot` (upsert + `_deleted_at` on vanished keys).
   * When false, the suite pins that a snapshot commit throws a DestinationError naming snapshot
   * and leaves the table and state untouched.
   */
  snapshot?: boolean;
}

// ───────────────────────────── fixtures ─────────────────────────────

export function col(
  name: string,
  type: LogicalType,
  origin: ColumnSpec['origin'] = 'dictionary',
): ColumnSpec {
  return { name, source: name, type, origin };
}

export const AUDIT: ColumnSpec[] = [
  col('_exportsync_loaded_at', 'timestamp', 'audit'),
  col('_exportsync_run_id', 'string', 'audit'),
  col('_extra', 'json', 'audit'),
];

/** id (key) · ts (cursor) · name · n, then the audit columns, then `extra` appended at the end. */
export function eventsSchema(table = 'events', extra: ColumnSpec[] = []): TableSchema {
  return {
    table,
    columns: [
      col('id', 'string'),
      col('ts', 'timestamp'),
      col('name', 'string'),
      col('n', 'integer'),
      ...AUDIT,
      ...extra,
    ],
    primaryKey: ['id'],
    cursorColumn: 'ts',
  };
}

export function win(from: string, to: string): Window {
  return { from: new Date(from), to: new Date(to) };
}

export function stateAt(highWaterMark: string | null, schemaVersion = 1): StreamState {
  return { version: 1, highWaterMark, schemaVersion, updatedAt: '2024-03-01T00:00:00.000Z' };
}

const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const DAY2 = win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z');

/** A backfill ledger row; by default the 'done' row a commit writes. */
export function ledgerRow(
  streamKey: string,
  window: Window,
  over: Partial<Omit<WindowRecord, 'streamKey' | 'window'>> = {},
): WindowRecord {
  return {
    streamKey,
    window,
    backfillId: 'bf-1',
    shard: '0/1',
    status: 'done',
    rows: 1,
    attempts: 1,
    durationMs: 10,
    updatedAt: '2024-03-01T00:00:00.000Z',
    ...over,
  };
}

/** The UTC day `YYYY-MM-DD` as a window (a snapshot run's window). */
export function dayWindow(day: string): Window {
  const from = new Date(`${day}T00:00:00Z`);
  return { from, to: new Date(from.getTime() + 86_400_000) };
}

/**
 * Rows as `CsvRows` (src/core/contracts.ts), written the way a `CsvRecordWriter` writes them: each row
 * padded with NULLs to `width` (a schema: its column count), NULL as an unquoted empty field, a value
 * quoted (with '""' inside) when it holds ',', '"', CR or LF — or every value with `quoteAll`, as a
 * writer that keeps the source's quotes does. '' cannot be written (a quoted field is never empty).
 */
export function csvRows(
  rows: Row[],
  width: TableSchema | number,
  opts: { quoteAll?: boolean } = {},
): CsvRows {
  const w = typeof width === 'number' ? width : width.columns.length;
  const field = (v: string | null) => {
    if (v === null) return '';
    if (v === '')
      throw new Error('csvRows: the pass-through has no empty string (a quoted field is never empty)');
    return opts.quoteAll || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  };
  const lines = rows.map((r) => {
    if (r.length > w) throw new Error(`csvRows: a row has ${r.length} values for width ${w}`);
    return Array.from({ length: w }, (_, i) => field(r[i] ?? null)).join(',') + '\n';
  });
  return { text: Buffer.from(lines.join(''), 'utf8'), rows: rows.length, width: w };
}

/** A batch of `loadWindow`: rows for `write` (with the load's or their own schema), or for `writeCsv`. */
export type LoadBatch =
  Row[] | { rows: Row[]; schema: TableSchema } | { csv: Row[]; schema: TableSchema; quoteAll?: boolean };

/** One whole load: beginLoad, one write (or writeCsv) per batch (each with its own schema), commit. */
export async function loadWindow(
  destination: Destination,
  opts: {
    streamKey?: string;
    schema: TableSchema;
    batches: LoadBatch[];
    mode?: WriteMode;
    window?: Window;
    state?: StreamState;
    runId?: string;
    history?: boolean;
  },
) {
  // mode and history as the engine passes them at begin (the commit gets the same)
  const load = await destination.beginLoad({
    streamKey: opts.streamKey ?? 'test.events',
    schema: firstSchema(opts.batches) ?? opts.schema,
    runId: opts.runId ?? 'run-1',
    mode: opts.mode ?? 'merge',
    history: opts.history ?? false,
  });
  for (const batch of opts.batches) {
    if (Array.isArray(batch)) await load.write(batch, opts.schema);
    else if ('rows' in batch) await load.write(batch.rows, batch.schema);
    else {
      if (!load.writeCsv) throw new Error('loadWindow: this destination has no writeCsv');
      await load.writeCsv(csvRows(batch.csv, batch.schema, { quoteAll: batch.quoteAll }), batch.schema);
    }
  }
  const request: CommitRequest = {
    schema: opts.schema,
    mode: opts.mode ?? 'merge',
    window: opts.window ?? DAY1,
    state: opts.state ?? stateAt(opts.window?.to.toISOString() ?? DAY1.to.toISOString()),
    ...(opts.history === undefined ? {} : { history: opts.history }),
  };
  return load.commit(request);
}

function firstSchema(batches: LoadBatch[]): TableSchema | undefined {
  const first = batches[0];
  return first && !Array.isArray(first) ? first.schema : undefined;
}

/** Keeps only the named columns of each row (audit columns vary per run). */
export function pick<K extends string>(
  rows: Array<Record<string, string | null>>,
  keys: K[],
): Array<Record<K, string | null>> {
  return rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null])) as Record<K, string | null>);
}

/** Canonical comparison form of a value of a logical type (see DestinationHarness.rows). */
export function canon(type: LogicalType, value: string | null): string | null {
  if (value === null) return null;
  switch (type) {
    case 'timestamp': {
      const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|\+00(?::?00)?)$/.exec(value);
      if (!m) return `unparsed timestamp ${value}`;
      return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
    }
    case 'decimal': {
      if (!value.includes('.')) return value === '-0' ? '0' : value;
      const trimmed = value.replace(/0+$/, '').replace(/\.$/, '');
      return trimmed === '-0' ? '0' : trimmed;
    }
    case 'float':
      return String(Number(value));
    case 'json':
      return stableJson(JSON.parse(value));
    default:
      return value;
  }
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, it resolved');
}

// ───────────────────────────── the suite ─────────────────────────────

export function destinationContract(
  name: string,
  makeHarness: () => Promise<DestinationHarness>,
  options: ContractOptions = {},
): void {
  describe(`destination contract: ${name}`, () => {
    let h: DestinationHarness;
    let d: Destination;

    // A fresh harness per test: tests never see each other's tables, state or locks.
    const setup = async () => {
      h = await makeHarness();
      d = h.destination;
    };
    afterEach(async () => {
      await h?.cleanup();
    });

    const ids = async (table = 'events') => (await h.rows(table, ['id'])).map((r) => r.id);

    it('open is idempotent and a fresh destination has no tables, columns or state', async () => {
      await setup();
      await d.open();
      expect(await d.describeTable('events')).toBeNull();
      expect(await d.getColumnMap('events')).toEqual([]);
      expect(await d.getState('test.events')).toBeNull();
      expect(await d.listStates()).toEqual([]);
      expect(d.capabilities.maxIdentifierLength).toBeGreaterThan(0);
      expect(d.capabilities.maxColumns).toBeGreaterThan(0);
    });

    it('check() reports ok for a reachable, writable destination', async () => {
      await setup();
      const verdict = await d.check();
      expect(verdict.ok, verdict.message).toBe(true);
      expect(verdict.target.length).toBeGreaterThan(0);
    });

    it('creates the table on the first commit with data and audit columns and describes their types', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'typed',
        columns: [
          col('id', 'integer'),
          col('b', 'boolean'),
          col('d', 'decimal'),
          col('f', 'float'),
          col('s', 'string'),
          col('t', 'timestamp'),
          col('dt', 'date'),
          col('j', 'json'),
          ...AUDIT,
        ],
        primaryKey: ['id'],
        cursorColumn: 't',
      };
      const result = await loadWindow(d, {
        schema,
        batches: [[['1', 'true', '1.5', '2.5', 'x', '2024-01-01T10:00:00Z', '2024-01-01', '{"a":1}']]],
      });
      expect(result).toEqual({ staged: 1, upserted: 1, deleted: 0 });
      const table = await d.describeTable('typed');
      expect(table?.table).toBe('typed');
      const types = Object.fromEntries((table?.columns ?? []).map((c) => [c.name, c.type]));
      expect(types).toEqual({
        id: 'integer',
        b: 'boolean',
        d: 'decimal',
        f: 'float',
        s: 'string',
        t: 'timestamp',
        dt: 'date',
        j: 'json',
        _exportsync_loaded_at: 'timestamp',
        _exportsync_run_id: 'string',
        _extra: 'json',
      });
      for (const c of table?.columns ?? []) expect(c.nativeType.length).toBeGreaterThan(0);
    });

    it('fills NULL audit columns with the commit time and the run id', async () => {
      await setup();
      await loadWindow(d, {
        schema: eventsSchema(),
        batches: [[['a', '2024-01-01T01:00:00Z', 'x', '1']]],
        runId: 'run-42',
      });
      const [row] = await h.rows('events', ['id']);
      expect(row?._exportsync_run_id).toBe('run-42');
      expect(row?._exportsync_loaded_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(row?._extra).toBeNull();
    });

    it('the key is enforced: a second commit of the same key updates instead of duplicating', async () => {
      await setup();
      const schema = eventsSchema();
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'first', '1'],
            ['b', '2024-01-01T02:00:00Z', 'b', '2'],
          ],
        ],
      });
      const second = await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'second', '10'],
            ['c', '2024-01-01T03:00:00Z', 'c', '3'],
          ],
        ],
        runId: 'run-2',
      });
      expect(second).toEqual({ staged: 2, upserted: 2, deleted: 0 });
      expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n', '_exportsync_run_id'])).toEqual([
        { id: 'a', name: 'second', n: '10', _exportsync_run_id: 'run-2' },
        { id: 'b', name: 'b', n: '2', _exportsync_run_id: 'run-1' },
        { id: 'c', name: 'c', n: '3', _exportsync_run_id: 'run-2' },
      ]);
    });

    it('a re-read of unchanged rows rewrites nothing: upserted counts only new or changed rows', async () => {
      await setup();
      const schema = eventsSchema();
      const rows: Row[] = [
        ['a', '2024-01-01T01:00:00Z', 'same', '1'],
        ['b', '2024-01-01T02:00:00Z', null, '2'],
      ];
      await loadWindow(d, { schema, batches: [rows] });
      const again = await loadWindow(d, {
        schema,
        batches: [[...rows, ['c', '2024-01-01T03:00:00Z', 'c', '3']]],
        runId: 'run-2',
      });
      expect(again).toEqual({ staged: 3, upserted: 1, deleted: 0 });
      expect(pick(await h.rows('events', ['id']), ['id', '_exportsync_run_id'])).toEqual([
        { id: 'a', _exportsync_run_id: 'run-1' },
        { id: 'b', _exportsync_run_id: 'run-1' },
        { id: 'c', _exportsync_run_id: 'run-2' },
      ]);
      // A NULL that becomes a value is a change (IS DISTINCT FROM, not <>).
      const changed = await loadWindow(d, {
        schema,
        batches: [[['b', '2024-01-01T02:00:00Z', 'now set', '2']]],
        runId: 'run-3',
      });
      expect(changed.upserted).toBe(1);
    });

    it('merge dedupes within a batch: the latest cursor wins, on equal cursors the last staged wins', async () => {
      await setup();
      const schema = eventsSchema();
      const result = await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T05:00:00Z', 'a-latest-cursor', '1'],
            ['a', '2024-01-01T01:00:00Z', 'a-older', '2'],
            ['b', '2024-01-01T01:00:00Z', 'b-first-staged', '3'],
            ['c', null, 'c-null-cursor', '9'],
            ['c', '2024-01-01T00:00:00Z', 'c-with-cursor', '8'],
          ],
          [
            ['b', '2024-01-01T01:00:00Z', 'b-last-staged', '4'],
            ['a', '2024-01-01T04:59:59.999999Z', 'a-older-by-1us', '5'],
          ],
        ],
      });
      expect(result.staged).toBe(7);
      expect(result.upserted).toBe(3);
      expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([
        { id: 'a', name: 'a-latest-cursor' },
        { id: 'b', name: 'b-last-staged' },
        { id: 'c', name: 'c-with-cursor' },
      ]);
    });

    it('merge on a composite key upserts per key combination', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'pairs',
        columns: [
          col('k1', 'string'),
          col('k2', 'integer'),
          col('ts', 'timestamp'),
          col('v', 'string'),
          ...AUDIT,
        ],
        primaryKey: ['k1', 'k2'],
        cursorColumn: 'ts',
      };
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '1', '2024-01-01T01:00:00Z', 'a1'],
            ['a', '2', '2024-01-01T01:00:00Z', 'a2'],
          ],
        ],
      });
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2', '2024-01-01T02:00:00Z', 'a2-new'],
            ['b', '1', '2024-01-01T02:00:00Z', 'b1'],
          ],
        ],
      });
      expect(pick(await h.rows('pairs', ['k1', 'k2']), ['k1', 'k2', 'v'])).toEqual([
        { k1: 'a', k2: '1', v: 'a1' },
        { k1: 'a', k2: '2', v: 'a2-new' },
        { k1: 'b', k2: '1', v: 'b1' },
      ]);
    });

    it('nothing is visible in the target or the state before commit returns', async () => {
      await setup();
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'r' });
      await load.write([['a', '2024-01-01T01:00:00Z', 'x', '1']], eventsSchema());
      expect(await d.describeTable('events')).toBeNull();
      expect(await d.getState('test.events')).toBeNull();
      await load.commit({
        schema: eventsSchema(),
        mode: 'merge',
        window: DAY1,
        state: stateAt(DAY1.to.toISOString()),
      });
      expect(await ids()).toEqual(['a']);
    });

    it('replace_window deletes exactly the rows with cursor in [from, to) and inserts the staged rows', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'installs',
        columns: [col('ts', 'timestamp'), col('what', 'string'), ...AUDIT],
        primaryKey: [],
        cursorColumn: 'ts',
      };
      const seed: Row[] = [
        ['2023-12-31T23:59:59.999999Z', 'before'],
        ['2024-01-01T00:00:00Z', 'at-from'],
        ['2024-01-01T12:00:00Z', 'inside'],
        ['2024-01-01T23:59:59.999999Z', 'last-us'],
        ['2024-01-02T00:00:00Z', 'at-to'],
        ['2024-01-01T12:00:00Z', 'inside-duplicate'],
      ];
      await loadWindow(d, {
        schema,
        mode: 'replace_window',
        window: win('2023-12-01T00:00:00Z', '2024-02-01T00:00:00Z'),
        batches: [seed],
      });
      const result = await loadWindow(d, {
        schema,
        mode: 'replace_window',
        window: DAY1,
        batches: [
          [
            ['2024-01-01T06:00:00Z', 'new-1'],
            ['2024-01-01T06:00:00Z', 'new-1'],
          ],
        ],
      });
      expect(result).toEqual({ staged: 2, upserted: 2, deleted: 4 });
      expect((await h.rows('installs', ['ts', 'what'])).map((r) => r.what)).toEqual([
        'before',
        'new-1',
        'new-1',
        'at-to',
      ]);
    });

    it('replace_window with a date cursor deletes whole days of [from, to)', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'daily',
        columns: [col('day', 'date'), col('downloads', 'integer'), ...AUDIT],
        primaryKey: [],
        cursorColumn: 'day',
      };
      const all = win('2023-12-01T00:00:00Z', '2024-02-01T00:00:00Z');
      await loadWindow(d, {
        schema,
        mode: 'replace_window',
        window: all,
        batches: [
          [
            ['2023-12-31', '1'],
            ['2024-01-01', '2'],
            ['2024-01-02', '3'],
          ],
        ],
      });
      const result = await loadWindow(d, {
        schema,
        mode: 'replace_window',
        window: DAY1,
        batches: [[['2024-01-01', '20']]],
      });
      expect(result.deleted).toBe(1);
      expect(pick(await h.rows('daily', ['day']), ['day', 'downloads'])).toEqual([
        { day: '2023-12-31', downloads: '1' },
        { day: '2024-01-01', downloads: '20' },
        { day: '2024-01-02', downloads: '3' },
      ]);
    });

    it('replace_window refuses staged rows whose cursor is outside the window or NULL (a re-run could not replace them)', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'daily',
        columns: [col('day', 'date'), col('downloads', 'integer'), ...AUDIT],
        primaryKey: [],
        cursorColumn: 'day',
      };
      const s1 = stateAt('2024-01-02T00:00:00.000Z');
      await loadWindow(d, {
        streamKey: 'test.daily',
        schema,
        mode: 'replace_window',
        window: DAY1,
        batches: [[['2024-01-01', '1']]],
        state: s1,
      });
      const err = await rejection(
        loadWindow(d, {
          streamKey: 'test.daily',
          schema,
          mode: 'replace_window',
          window: DAY1,
          batches: [
            [
              ['2024-01-01', '10'],
              ['2024-01-03', '30'],
              ['2023-12-31', '31'],
            ],
          ],
        }),
      );
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toContain('2 staged row(s)');
      expect((err as Error).message).toContain('first: 2024-01-03');
      expect(pick(await h.rows('daily', ['day']), ['day', 'downloads'])).toEqual([
        { day: '2024-01-01', downloads: '1' },
      ]);
      expect(await d.getState('test.daily')).toEqual(s1);

      const events: TableSchema = {
        table: 'installs',
        columns: [col('ts', 'timestamp'), col('what', 'string'), ...AUDIT],
        primaryKey: [],
        cursorColumn: 'ts',
      };
      const onNew = await rejection(
        loadWindow(d, {
          schema: events,
          mode: 'replace_window',
          window: DAY1,
          batches: [
            [
              ['2024-01-01T23:59:59.999999Z', 'inside'],
              [null, 'no cursor'],
              ['2024-01-02T00:00:00Z', 'at-to'],
            ],
          ],
        }),
      );
      expect(onNew).toBeInstanceOf(DataError);
      expect((onNew as Error).message).toContain('2 staged row(s)');
      expect((onNew as Error).message).toContain('first: NULL');
      expect(await d.getState('test.events')).toBeNull();
      expect(await d.describeTable('installs')).toBeNull();
    });

    it('an empty window creates the table, writes the state, and for replace_window empties the window', async () => {
      await setup();
      const result = await loadWindow(d, {
        schema: eventsSchema(),
        batches: [],
        state: stateAt('2024-01-02T00:00:00.000Z'),
      });
      expect(result).toEqual({ staged: 0, upserted: 0, deleted: 0 });
      expect(await d.describeTable('events')).not.toBeNull();
      expect(await h.rows('events', ['id'])).toEqual([]);
      expect((await d.getState('test.events'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');

      const schema: TableSchema = {
        table: 'daily',
        columns: [col('day', 'date'), col('v', 'integer'), ...AUDIT],
        primaryKey: [],
        cursorColumn: 'day',
      };
      await loadWindow(d, {
        streamKey: 'test.daily',
        schema,
        mode: 'replace_window',
        window: DAY1,
        batches: [[['2024-01-01', '1']]],
      });
      const empty = await loadWindow(d, {
        streamKey: 'test.daily',
        schema,
        mode: 'replace_window',
        window: DAY1,
        batches: [[]],
      });
      expect(empty).toEqual({ staged: 0, upserted: 0, deleted: 1 });
      expect(await h.rows('daily', ['day'])).toEqual([]);
    });

    it('a column appended mid-load is NULL for rows staged before it', async () => {
      await setup();
      const v1 = eventsSchema();
      const v2 = eventsSchema('events', [col('country', 'string', 'dynamic')]);
      await loadWindow(d, {
        schema: v2,
        batches: [
          { rows: [['a', '2024-01-01T01:00:00Z', 'a', '1']], schema: v1 },
          { rows: [['b', '2024-01-01T02:00:00Z', 'b', '2', null, null, null, 'NL']], schema: v2 },
        ],
      });
      expect(pick(await h.rows('events', ['id']), ['id', 'country'])).toEqual([
        { id: 'a', country: null },
        { id: 'b', country: 'NL' },
      ]);
      expect((await d.getColumnMap('events')).map((c) => c.name)).toEqual(v2.columns.map((c) => c.name));
    });

    it('a column added in a later load leaves the old rows NULL and persists the column map in order', async () => {
      await setup();
      await loadWindow(d, { schema: eventsSchema(), batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]] });
      const v2 = eventsSchema('events', [
        col('country', 'string', 'dynamic'),
        col('score', 'decimal', 'dynamic'),
      ]);
      await loadWindow(d, {
        schema: v2,
        window: DAY2,
        batches: [[['b', '2024-01-02T02:00:00Z', 'b', '2', null, null, null, 'NL', '0.5']]],
      });
      expect(
        pick(await h.rows('events', ['id']), ['id', 'country', 'score']).map((r) => ({
          ...r,
          score: canon('decimal', r.score),
        })),
      ).toEqual([
        { id: 'a', country: null, score: null },
        { id: 'b', country: 'NL', score: '0.5' },
      ]);
      expect(await d.getColumnMap('events')).toEqual(v2.columns);
      const described = await d.describeTable('events');
      expect(described?.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['country', 'score']));
    });

    it('a column widened integer → decimal → string keeps every old value', async () => {
      await setup();
      const withV = (t: LogicalType) => eventsSchema('events', [col('v', t, 'dynamic')]);
      await loadWindow(d, {
        schema: withV('integer'),
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '9223372036854775807']]],
      });
      // widened within a load: staged integer rows, then decimal rows
      await loadWindow(d, {
        schema: withV('decimal'),
        window: DAY2,
        batches: [
          {
            rows: [['b', '2024-01-02T01:00:00Z', 'b', '2', null, null, null, '-42']],
            schema: withV('integer'),
          },
          {
            rows: [['c', '2024-01-02T02:00:00Z', 'c', '3', null, null, null, '1.25']],
            schema: withV('decimal'),
          },
        ],
      });
      let described = await d.describeTable('events');
      expect(described?.columns.find((c) => c.name === 'v')?.type).toBe('decimal');
      await loadWindow(d, {
        schema: withV('string'),
        window: DAY2,
        batches: [[['d', '2024-01-02T03:00:00Z', 'd', '4', null, null, null, 'n/a']]],
      });
      described = await d.describeTable('events');
      expect(described?.columns.find((c) => c.name === 'v')?.type).toBe('string');
      const values = (await h.rows('events', ['id'])).map((r) => [r.id, canon('decimal', r.v ?? null)]);
      expect(values).toEqual([
        ['a', '9223372036854775807'],
        ['b', '-42'],
        ['c', '1.25'],
        ['d', 'n/a'],
      ]);
      expect((await d.getColumnMap('events')).find((c) => c.name === 'v')?.type).toBe('string');
    });

    it('values round-trip losslessly through the bulk path', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'values',
        columns: [
          col('id', 'integer'),
          col('i', 'integer'),
          col('d', 'decimal'),
          col('f', 'float'),
          col('s', 'string'),
          col('t', 'timestamp'),
          col('dt', 'date'),
          col('b', 'boolean'),
          ...AUDIT,
        ],
        primaryKey: ['id'],
        cursorColumn: 't',
      };
      const extra =
        '{"big":9223372036854775807,"nested":{"q":"say \\"hi\\"","nl":"a\\nb"},"arr":[1,2.5,null,true]}';
      const awkward = [
        '',
        'NULL',
        '\\N',
        '\\.',
        '\\',
        'a\\b\\\\c',
        '"quoted"',
        "it's",
        'a,b,,c',
        'line1\nline2',
        'cr\r\nlf',
        '\ttab\t',
        'ünïcødé ✓ 日本語 🎉 e\u0301',
        '  leading and trailing  ',
        '"',
        '""',
        ',',
        '\n',
        '\\.\n\\.',
      ];
      const rows: Row[] = [
        [
          '1',
          '9223372036854775807',
          '123456789012345678901234567890',
          '0.1',
          awkward[0]!,
          '2024-01-01T00:00:00.000001Z',
          '2024-02-29',
          'true',
          null,
          null,
          extra,
        ],
        [
          '2',
          '-9223372036854775808',
          '-1234567890123456789012.12345678',
          '-1.5e-7',
          null,
          '1999-12-31T23:59:59.999999Z',
          '1970-01-01',
          'false',
        ],
        [
          '3',
          '9007199254740993',
          '0.00000001',
          '1.7976931348623157e+308',
          'plain',
          '2024-06-30T12:34:56Z',
          '9999-12-31',
          null,
        ],
        ['4', '0', '-0.5', '5e-324', null, null, null, null],
        ...awkward.map((s, i): Row => [String(100 + i), String(i), null, null, s, '2024-01-01T00:00:00Z']),
      ];
      await loadWindow(d, { schema, batches: [rows] });
      const got = await h.rows('values', ['id']);
      expect(got.length).toBe(rows.length);
      const typeOf = Object.fromEntries(schema.columns.map((c) => [c.name, c.type]));
      const names = ['id', 'i', 'd', 'f', 's', 't', 'dt', 'b', '_extra'];
      const expected = [...rows].sort((a, b) => Number(a[0]) - Number(b[0]));
      for (const [i, row] of expected.entries()) {
        const want = Object.fromEntries(
          names.map((n, j) => [n, canon(typeOf[n]!, row[j === 8 ? 10 : j] ?? null)]),
        );
        const have = Object.fromEntries(names.map((n) => [n, canon(typeOf[n]!, got[i]?.[n] ?? null)]));
        expect(have, `row id ${String(row[0])}`).toEqual(want);
      }
      expect(got[0]?._extra).toContain('9223372036854775807');
      // empty string and NULL stay distinct
      expect(got.find((r) => r.id === '100')?.s).toBe('');
      expect(got.find((r) => r.id === '2')?.s).toBeNull();
    });

    it('identifiers that are reserved words work as table, column and key names', async () => {
      await setup();
      const schema: TableSchema = {
        table: 'order',
        columns: [
          col('select', 'string'),
          col('from', 'timestamp'),
          col('user', 'string'),
          col('group', 'integer'),
          ...AUDIT,
        ],
        primaryKey: ['select'],
        cursorColumn: 'from',
      };
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['k', '2024-01-01T01:00:00Z', 'u1', '1'],
            ['k', '2024-01-01T02:00:00Z', 'u2', '2'],
          ],
        ],
      });
      await loadWindow(d, {
        schema: { ...schema, columns: [...schema.columns, col('table', 'string', 'dynamic')] },
        mode: 'replace_window',
        window: win('2024-01-01T01:30:00Z', '2024-01-01T03:00:00Z'),
        batches: [[['k2', '2024-01-01T02:30:00Z', 'u3', '3', null, null, null, 't']]],
      });
      expect(pick(await h.rows('order', ['select']), ['select', 'user', 'group', 'table'])).toEqual([
        { select: 'k2', user: 'u3', group: '3', table: 't' },
      ]);
      expect((await d.describeTable('order'))?.columns.map((c) => c.name)).toContain('select');
    });

    it('window N+1 stages while window N commits (the engine pipeline): both land, each with its own state', async () => {
      await setup();
      const schema = eventsSchema();
      const first = await d.beginLoad({ streamKey: 'test.events', schema, runId: 'run-1' });
      await first.write([['a', '2024-01-01T01:00:00Z', 'a', '1']], schema);
      const second = await d.beginLoad({ streamKey: 'test.events', schema, runId: 'run-1' });
      const s1 = stateAt('2024-01-02T00:00:00.000Z');
      const [committed] = await Promise.all([
        first.commit({ schema, mode: 'merge', window: DAY1, state: s1 }),
        second.write(
          [
            ['b', '2024-01-02T01:00:00Z', 'b', '2'],
            ['a', '2024-01-02T02:00:00Z', 'a again', '3'],
          ],
          schema,
        ),
      ]);
      expect(committed).toEqual({ staged: 1, upserted: 1, deleted: 0 });
      expect(await d.getState('test.events')).toEqual(s1);
      expect(await ids()).toEqual(['a']); // the second load's rows are not visible yet
      const s2 = stateAt('2024-01-03T00:00:00.000Z');
      expect(await second.commit({ schema, mode: 'merge', window: DAY2, state: s2 })).toEqual({
        staged: 2,
        upserted: 2,
        deleted: 0,
      });
      expect(await d.getState('test.events')).toEqual(s2);
      expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n'])).toEqual([
        { id: 'a', name: 'a again', n: '3' },
        { id: 'b', name: 'b', n: '2' },
      ]);
    });

    it('state is written with the rows and can be listed and reset', async () => {
      await setup();
      const s1 = stateAt('2024-01-02T00:00:00.000Z', 3);
      await loadWindow(d, {
        schema: eventsSchema(),
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
        state: s1,
      });
      expect(await d.getState('test.events')).toEqual(s1);
      await loadWindow(d, {
        streamKey: 'other.stream',
        schema: eventsSchema('other'),
        batches: [],
        state: stateAt(null),
      });
      const listed = await d.listStates();
      expect(listed.sort((a, b) => (a.streamKey < b.streamKey ? -1 : 1))).toEqual([
        { streamKey: 'other.stream', state: stateAt(null) },
        { streamKey: 'test.events', state: s1 },
      ]);
      expect(await d.resetState('test.events')).toBe(true);
      expect(await d.resetState('test.events')).toBe(false);
      expect(await d.getState('test.events')).toBeNull();
      expect(await ids()).toEqual(['a']); // reset touches state only
    });

    it('an aborted load leaves no table, no rows and no state', async () => {
      await setup();
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'r' });
      await load.write([['a', '2024-01-01T01:00:00Z', 'x', '1']], eventsSchema());
      await load.abort();
      expect(await d.describeTable('events')).toBeNull();
      expect(await d.getState('test.events')).toBeNull();

      await loadWindow(d, { schema: eventsSchema(), batches: [[['b', '2024-01-01T01:00:00Z', 'b', '1']]] });
      const again = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'r2' });
      await again.write([['c', '2024-01-01T01:00:00Z', 'c', '1']], eventsSchema());
      await again.abort();
      expect(await ids()).toEqual(['b']);
    });

    it('a failed commit (NULL key) rolls back table changes, rows, column map and state; abort after it is safe', async () => {
      await setup();
      const s1 = stateAt('2024-01-02T00:00:00.000Z');
      await loadWindow(d, {
        schema: eventsSchema(),
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
        state: s1,
      });
      const v2 = eventsSchema('events', [col('country', 'string', 'dynamic')]);
      const load = await d.beginLoad({ streamKey: 'test.events', schema: v2, runId: 'r2' });
      await load.write(
        [
          ['a', '2024-01-01T05:00:00Z', 'changed', '2', null, null, null, 'NL'],
          [null, '2024-01-02T01:00:00Z', 'no key', '3'],
        ],
        v2,
      );
      const err = await rejection(
        load.commit({ schema: v2, mode: 'merge', window: DAY2, state: stateAt('2024-01-03T00:00:00.000Z') }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      await load.abort();
      expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([{ id: 'a', name: 'a' }]);
      expect(await d.getState('test.events')).toEqual(s1);
      expect(await d.getColumnMap('events')).toEqual(eventsSchema().columns);
      if (d.capabilities.transactionalDdl) {
        expect((await d.describeTable('events'))?.columns.map((c) => c.name)).not.toContain('country');
      }
      // the destination is still usable
      await loadWindow(d, {
        schema: v2,
        window: DAY2,
        batches: [[['b', '2024-01-02T01:00:00Z', 'b', '1', null, null, null, 'DE']]],
      });
      expect(await ids()).toEqual(['a', 'b']);
    });

    it('a failed commit on a new table leaves no table and no state', async () => {
      await setup();
      const err = await rejection(
        loadWindow(d, { schema: eventsSchema(), batches: [[[null, '2024-01-01T01:00:00Z', 'no key', '1']]] }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect(await d.getState('test.events')).toBeNull();
      expect(await d.getColumnMap('events')).toEqual([]);
      if (d.capabilities.transactionalDdl) expect(await d.describeTable('events')).toBeNull();
    });

    it('a lock held by one instance makes another throw LockedError within waitMs, and succeed after release', async () => {
      await setup();
      const other = await h.reopen();
      const held = await d.lock('scarf.events', 0);
      const immediate = await rejection(other.lock('scarf.events', 0));
      expect(immediate).toBeInstanceOf(LockedError);
      expect((immediate as Error).message).toContain('scarf.events');

      const started = Date.now();
      const waited = await rejection(other.lock('scarf.events', 400));
      const elapsed = Date.now() - started;
      expect(waited).toBeInstanceOf(LockedError);
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(400 + 3000);

      // another stream is independent
      const unrelated = await other.lock('scarf.aggregates', 0);
      await unrelated.release();

      // a waiter gets the lock once the holder releases
      const waiter = other.lock('scarf.events', 10_000);
      setTimeout(() => void held.release(), 200);
      const mine = await waiter;
      expect(await rejection(d.lock('scarf.events', 0))).toBeInstanceOf(LockedError);
      await mine.release();
      const back = await d.lock('scarf.events', 0);
      await back.release();
    });

    it('runs are recorded and upserted by run id', async () => {
      await setup();
      await d.recordRun({
        runId: 'r-1',
        command: 'run',
        startedAt: '2024-01-01T00:00:00.000Z',
        status: 'running',
        streams: ['scarf.events'],
        rows: 0,
      });
      await d.recordRun({
        runId: 'r-1',
        command: 'run',
        startedAt: '2024-01-01T00:00:00.000Z',
        finishedAt: '2024-01-01T00:05:00.000Z',
        status: 'failed',
        streams: ['scarf.events', 'scarf.aggregates'],
        rows: 12345678901,
        error: 'boom',
      });
      await d.recordRun({
        runId: 'r-2',
        command: 'backfill',
        startedAt: '2024-01-02T00:00:00.000Z',
        status: 'ok',
        streams: [],
        rows: 0,
      });
      expect(
        pick(await h.rows('_exportsync_runs', ['run_id']), ['run_id', 'command', 'status', 'rows', 'error']),
      ).toEqual([
        { run_id: 'r-1', command: 'run', status: 'failed', rows: '12345678901', error: 'boom' },
        { run_id: 'r-2', command: 'backfill', status: 'ok', rows: '0', error: null },
      ]);
    });

    // ── the backfill ledger (`_exportsync_windows`) and the runs listing ──
    // A backfill resumes by skipping windows whose ledger row says 'done'. If 'done' could exist
    // without the window's rows (written outside the commit, or surviving a rollback), a resumed
    // backfill would skip data that never landed; if a backfill commit touched the state, it
    // would move the daily run's mark.

    it('a commit with a ledger row writes it as done in the same commit, visible in listWindows', async () => {
      await setup();
      // an earlier failed attempt of the same window, then another stream's window
      await d.recordWindow(ledgerRow('test.events', DAY1, { status: 'failed', error: 'boom', attempts: 3 }));
      await d.recordWindow(ledgerRow('a.first', DAY2, { status: 'running' }));
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'bf-1' });
      await load.write([['a', '2024-01-01T01:00:00Z', 'a', '1']], eventsSchema());
      const done = ledgerRow('test.events', DAY1, { rows: 12345678901, attempts: 2, durationMs: 1500 });
      await load.commit({ schema: eventsSchema(), mode: 'merge', window: DAY1, ledger: done });
      expect(await ids()).toEqual(['a']);
      // the error of the failed attempt is gone: the row is the commit's, whole
      expect(await d.listWindows(['test.events'])).toEqual([done]);
      expect(await d.listWindows()).toEqual([ledgerRow('a.first', DAY2, { status: 'running' }), done]);
      expect(await d.listWindows(['nobody.here'])).toEqual([]);
    });

    it('a failing commit with a ledger row leaves neither its rows nor a done row', async () => {
      await setup();
      await loadWindow(d, { schema: eventsSchema(), batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]] });
      const running = ledgerRow('test.events', DAY2, { status: 'running' });
      await d.recordWindow(running);
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'bf-1' });
      await load.write(
        [
          ['b', '2024-01-02T01:00:00Z', 'b', '1'],
          [null, '2024-01-02T02:00:00Z', 'no key', '2'],
        ],
        eventsSchema(),
      );
      const err = await rejection(
        load.commit({
          schema: eventsSchema(),
          mode: 'merge',
          window: DAY2,
          ledger: ledgerRow('test.events', DAY2),
        }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      await load.abort();
      expect(await ids()).toEqual(['a']);
      expect(await d.listWindows(['test.events'])).toEqual([running]);
    });

    it('a commit without state leaves the stored state untouched (a backfill never moves the mark)', async () => {
      await setup();
      const s1 = stateAt('2024-01-02T00:00:00.000Z', 4);
      await loadWindow(d, {
        schema: eventsSchema(),
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
        state: s1,
      });
      const later = win('2024-02-01T00:00:00Z', '2024-02-02T00:00:00Z');
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'bf-1' });
      await load.write([['z', '2024-02-01T01:00:00Z', 'z', '1']], eventsSchema());
      await load.commit({
        schema: eventsSchema(),
        mode: 'merge',
        window: later,
        ledger: ledgerRow('test.events', later),
      });
      expect(await ids()).toEqual(['a', 'z']);
      expect(await d.getState('test.events')).toEqual(s1);
      // a stream that never had state still has none
      const other = await d.beginLoad({
        streamKey: 'test.other',
        schema: eventsSchema('other'),
        runId: 'bf-1',
      });
      await other.write([['o', '2024-01-01T01:00:00Z', 'o', '1']], eventsSchema('other'));
      await other.commit({ schema: eventsSchema('other'), mode: 'merge', window: DAY1 });
      expect(await ids('other')).toEqual(['o']);
      expect(await d.getState('test.other')).toBeNull();
      expect((await d.listStates()).map((s) => s.streamKey)).toEqual(['test.events']);
    });

    it("recordWindow refuses 'done' and writes nothing (done is written only by the commit of the rows)", async () => {
      await setup();
      const err = await rejection(d.recordWindow(ledgerRow('test.events', DAY1, { status: 'done' })));
      expect(err).toBeInstanceOf(Error);
      expect(await d.listWindows()).toEqual([]);
      // nor may it turn an existing row into done
      await d.recordWindow(ledgerRow('test.events', DAY1, { status: 'failed', error: 'x' }));
      await rejection(d.recordWindow(ledgerRow('test.events', DAY1, { status: 'done' })));
      expect((await d.listWindows()).map((r) => r.status)).toEqual(['failed']);
    });

    it('recordWindow upserts by stream and window: running then failed leaves one row with the error and attempts', async () => {
      await setup();
      await d.recordWindow(ledgerRow('test.events', DAY1, { status: 'running', shard: '0/3' }));
      await d.recordWindow(ledgerRow('test.events', DAY2, { status: 'running', shard: '1/3' }));
      const failed = ledgerRow('test.events', DAY1, {
        status: 'failed',
        shard: '0/3',
        backfillId: 'bf-2',
        attempts: 3,
        durationMs: 2500,
        error: 'Scarf rejected GET /events (400)',
        updatedAt: '2024-03-01T00:10:00.000Z',
      });
      await d.recordWindow(failed);
      expect(await d.listWindows()).toEqual([
        failed,
        ledgerRow('test.events', DAY2, { status: 'running', shard: '1/3' }),
      ]);
      // a window of another length is another row (the key is the whole window)
      const twoDays = win('2024-01-01T00:00:00Z', '2024-01-03T00:00:00Z');
      await d.recordWindow(ledgerRow('test.events', twoDays, { status: 'running' }));
      expect((await d.listWindows()).length).toBe(3);
      // secrets never reach the ledger
      await d.recordWindow(
        ledgerRow('test.events', DAY2, { status: 'failed', error: 'GET https://u:hunter2@h/x?token=s3cr3t' }),
      );
      const stored = (await d.listWindows()).find((r) => r.error?.includes('GET'))?.error ?? '';
      expect(stored).not.toContain('hunter2');
      expect(stored).not.toContain('s3cr3t');
    });

    it('listRuns returns the newest runs first, at most limit, with per-stream stats round-tripped', async () => {
      await setup();
      const stats: RunStreamStats[] = [
        {
          streamKey: 'scarf.events',
          status: 'ok',
          windows: 31,
          staged: 12345678901,
          upserted: 15003,
          deleted: 0,
          lateRows: 7,
          requests: 31,
          bytes: 4_500_000_000,
          durationMs: 3500,
        },
        {
          streamKey: 'scarf.aggregates',
          status: 'failed',
          windows: 0,
          staged: 0,
          upserted: 0,
          deleted: 0,
          lateRows: 0,
          requests: 1,
          bytes: 0,
          durationMs: 20,
          error: 'boom',
        },
      ];
      const oldest: RunRecord = {
        runId: 'r-1',
        command: 'run',
        startedAt: '2024-01-01T00:00:00.000Z',
        finishedAt: '2024-01-01T00:05:00.000Z',
        status: 'partial',
        streams: ['scarf.events', 'scarf.aggregates'],
        rows: 12345678901,
        error: 'scarf.aggregates: boom',
        stats,
      };
      const middle: RunRecord = {
        runId: 'r-2',
        command: 'backfill',
        startedAt: '2024-01-02T00:00:00.000Z',
        status: 'running',
        streams: ['scarf.events'],
        rows: 0,
      };
      const newest: RunRecord = { ...middle, runId: 'r-3', startedAt: '2024-01-03T00:00:00.000Z' };
      for (const r of [middle, newest, oldest]) await d.recordRun(r);
      expect(await d.listRuns(10)).toEqual([newest, middle, oldest]);
      expect(await d.listRuns(2)).toEqual([newest, middle]);
      // the upsert of a finished run replaces its row, stats included
      const finished: RunRecord = { ...middle, finishedAt: '2024-01-02T01:00:00.000Z', status: 'ok', stats };
      await d.recordRun(finished);
      expect(await d.listRuns(10)).toEqual([newest, finished, oldest]);
    });

    it('column map and state survive a reopen', async () => {
      await setup();
      const schema = eventsSchema('events', [
        { name: 'weird_name', source: 'Weird Name!', type: 'decimal', origin: 'dynamic' },
      ]);
      const s = stateAt('2024-01-02T00:00:00.000Z', 2);
      await loadWindow(d, {
        schema,
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '1.5']]],
        state: s,
      });
      const other = await h.reopen();
      expect(await other.getColumnMap('events')).toEqual(schema.columns);
      expect(await other.getState('test.events')).toEqual(s);
      expect((await other.describeTable('events'))?.columns.length).toBe(schema.columns.length);
    });

    if (options.snapshot ?? true) {
      it('snapshot upserts staged keys and marks vanished keys with _deleted_at, un-marking keys that return', async () => {
        await setup();
        const schema: TableSchema = {
          table: 'companies',
          columns: [col('domain', 'string'), col('seen', 'timestamp'), col('hits', 'integer'), ...AUDIT],
          primaryKey: ['domain'],
          cursorColumn: 'seen',
        };
        const all = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
        await loadWindow(d, {
          schema,
          mode: 'snapshot',
          window: all,
          batches: [
            [
              ['a.com', '2024-01-01T00:00:00Z', '1'],
              ['b.com', '2024-01-01T00:00:00Z', '2'],
            ],
          ],
        });
        const second = await loadWindow(d, {
          schema,
          mode: 'snapshot',
          window: DAY2,
          batches: [
            [
              ['a.com', '2024-01-02T00:00:00Z', '5'],
              ['c.com', '2024-01-02T00:00:00Z', '1'],
            ],
          ],
        });
        expect(second).toEqual({ staged: 2, upserted: 2, deleted: 1 });
        let rows = await h.rows('companies', ['domain']);
        expect(rows.map((r) => [r.domain, r.hits, r._deleted_at === null])).toEqual([
          ['a.com', '5', true],
          ['b.com', '2', false],
          ['c.com', '1', true],
        ]);
        await loadWindow(d, {
          schema,
          mode: 'snapshot',
          window: DAY2,
          batches: [
            [
              ['a.com', '2024-01-03T00:00:00Z', '6'],
              ['b.com', '2024-01-03T00:00:00Z', '3'],
              ['c.com', '2024-01-03T00:00:00Z', '1'],
            ],
          ],
        });
        rows = await h.rows('companies', ['domain']);
        expect(rows.map((r) => r._deleted_at)).toEqual([null, null, null]);
      });

      it('snapshot keeps a vanished key with its last values; its mark does not move while absent and clears when it returns unchanged', async () => {
        await setup();
        const schema: TableSchema = {
          table: 'companies',
          columns: [col('domain', 'string'), col('day', 'date'), col('hits', 'integer'), ...AUDIT],
          primaryKey: ['domain'],
          cursorColumn: 'day',
        };
        const snap = (day: string, rows: Row[]) =>
          loadWindow(d, { schema, mode: 'snapshot', window: dayWindow(day), batches: [rows] });
        await snap('2024-01-01', [
          ['a.com', '2024-01-01', '1'],
          ['b.com', '2024-01-01', '2'],
        ]);
        await snap('2024-01-02', [['a.com', '2024-01-02', '1']]);
        const marked = (await h.rows('companies', ['domain'])).find((r) => r.domain === 'b.com');
        expect(marked?._deleted_at).not.toBeNull();
        expect(marked?.hits).toBe('2');
        const third = await snap('2024-01-03', [['a.com', '2024-01-03', '1']]);
        expect(third.deleted).toBe(0); // already marked: not marked again
        const still = (await h.rows('companies', ['domain'])).find((r) => r.domain === 'b.com');
        expect(still?._deleted_at).toBe(marked?._deleted_at);
        // b.com returns with exactly its old data (the cursor aside): still un-marked
        const back = await snap('2024-01-04', [
          ['a.com', '2024-01-04', '1'],
          ['b.com', '2024-01-01', '2'],
        ]);
        expect(back.deleted).toBe(0);
        expect((await h.rows('companies', ['domain'])).map((r) => [r.domain, r._deleted_at])).toEqual([
          ['a.com', null],
          ['b.com', null],
        ]);
      });

      describe('snapshot history', () => {
        const funnel = (extra: ColumnSpec[] = [], table = 'funnel'): TableSchema => ({
          table,
          columns: [col('domain', 'string'), col('day', 'date'), col('stage', 'string'), ...AUDIT, ...extra],
          primaryKey: ['domain'],
          cursorColumn: 'day',
        });
        const snapshot = (
          day: string,
          batches: Array<Row[] | { rows: Row[]; schema: TableSchema }>,
          opts: { schema?: TableSchema; history?: boolean; runId?: string } = {},
        ) =>
          loadWindow(d, {
            streamKey: 'test.funnel',
            schema: opts.schema ?? funnel(),
            mode: 'snapshot',
            window: dayWindow(day),
            batches,
            history: opts.history ?? true,
            runId: opts.runId,
          });
        const history = async (table = 'funnel_history') =>
          pick(await h.rows(table, ['day', 'domain']), ['day', 'domain', 'stage']);

        it('the first snapshot creates <table>_history with the target columns and the rows of that day', async () => {
          await setup();
          const result = await snapshot('2024-01-01', [
            [
              ['a.com', '2024-01-01', 'lead'],
              ['b.com', '2024-01-01', 'trial'],
            ],
          ]);
          expect(result).toEqual({ staged: 2, upserted: 2, deleted: 0 });
          const described = await d.describeTable('funnel_history');
          expect(described?.columns.map((c) => c.name)).toEqual(funnel().columns.map((c) => c.name));
          expect(described?.columns.find((c) => c.name === 'day')?.type).toBe('date');
          expect(await history()).toEqual([
            { day: '2024-01-01', domain: 'a.com', stage: 'lead' },
            { day: '2024-01-01', domain: 'b.com', stage: 'trial' },
          ]);
          const [row] = await h.rows('funnel_history', ['domain']);
          expect(row?._exportsync_run_id).toBe('run-1');
          expect(row?._exportsync_loaded_at).not.toBeNull();
          // the column map covers the target only; the history follows it
          expect(await d.getColumnMap('funnel_history')).toEqual([]);
          expect(await d.getColumnMap('funnel')).toEqual(funnel().columns);
        });

        it('a re-run of the same day replaces that day: no doubles, keys gone from the re-run are gone from the day', async () => {
          await setup();
          await snapshot('2024-01-01', [
            [
              ['a.com', '2024-01-01', 'lead'],
              ['b.com', '2024-01-01', 'lead'],
            ],
          ]);
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'trial']]], { runId: 'run-2' });
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'trial']]], { runId: 'run-3' });
          expect(await history()).toEqual([{ day: '2024-01-01', domain: 'a.com', stage: 'trial' }]);
          expect(pick(await h.rows('funnel', ['domain']), ['domain', 'stage'])).toEqual([
            { domain: 'a.com', stage: 'trial' },
            { domain: 'b.com', stage: 'lead' },
          ]);
        });

        it('each new day appends: a company moving through the funnel has one row per day with its stage', async () => {
          await setup();
          await snapshot('2024-01-01', [
            [
              ['a.com', '2024-01-01', 'lead'],
              ['b.com', '2024-01-01', 'lead'],
            ],
          ]);
          await snapshot('2024-01-02', [
            [
              ['a.com', '2024-01-02', 'trial'],
              ['b.com', '2024-01-02', 'lead'],
            ],
          ]);
          await snapshot('2024-01-03', [[['a.com', '2024-01-03', 'customer']]]);
          // a re-run of the middle day leaves the days around it alone
          await snapshot('2024-01-02', [
            [
              ['a.com', '2024-01-02', 'trial'],
              ['b.com', '2024-01-02', 'churned'],
            ],
          ]);
          expect(await history()).toEqual([
            { day: '2024-01-01', domain: 'a.com', stage: 'lead' },
            { day: '2024-01-01', domain: 'b.com', stage: 'lead' },
            { day: '2024-01-02', domain: 'a.com', stage: 'trial' },
            { day: '2024-01-02', domain: 'b.com', stage: 'churned' },
            { day: '2024-01-03', domain: 'a.com', stage: 'customer' },
          ]);
          expect((await history()).filter((r) => r.domain === 'a.com').map((r) => [r.day, r.stage])).toEqual([
            ['2024-01-01', 'lead'],
            ['2024-01-02', 'trial'],
            ['2024-01-03', 'customer'],
          ]);
        });

        it('a column added later appears in the history too, NULL on older days; a widened column widens there', async () => {
          await setup();
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'lead']]]);
          const v2 = funnel([col('seats', 'integer', 'dynamic')]);
          await snapshot('2024-01-02', [[['a.com', '2024-01-02', 'trial', null, null, null, '5']]], {
            schema: v2,
          });
          const v3 = funnel([col('seats', 'string', 'dynamic')]);
          await snapshot('2024-01-03', [[['a.com', '2024-01-03', 'customer', null, null, null, 'many']]], {
            schema: v3,
          });
          expect(pick(await h.rows('funnel_history', ['day']), ['day', 'stage', 'seats'])).toEqual([
            { day: '2024-01-01', stage: 'lead', seats: null },
            { day: '2024-01-02', stage: 'trial', seats: '5' },
            { day: '2024-01-03', stage: 'customer', seats: 'many' },
          ]);
          expect(
            (await d.describeTable('funnel_history'))?.columns.find((c) => c.name === 'seats')?.type,
          ).toBe('string');
        });

        it('history is enabled on a table that already exists: created with every current column', async () => {
          await setup();
          const v2 = funnel([col('seats', 'integer', 'dynamic')]);
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'lead', null, null, null, '1']]], {
            schema: v2,
            history: false,
          });
          expect(await d.describeTable('funnel_history')).toBeNull();
          await snapshot('2024-01-02', [[['a.com', '2024-01-02', 'trial', null, null, null, '2']]], {
            schema: v2,
          });
          expect(pick(await h.rows('funnel_history', ['day']), ['day', 'stage', 'seats'])).toEqual([
            { day: '2024-01-02', stage: 'trial', seats: '2' },
          ]);
        });

        it('history rows are deduplicated like the merge: latest cursor, then latest staged', async () => {
          await setup();
          const result = await snapshot('2024-01-01', [
            [
              ['a.com', '2024-01-01', 'a-first'],
              ['b.com', '2024-01-01', 'b-only'],
              ['a.com', '2024-01-01', 'a-second'],
            ],
            [['a.com', '2024-01-01', 'a-last-staged']],
          ]);
          expect(result.staged).toBe(4);
          expect(await history()).toEqual([
            { day: '2024-01-01', domain: 'a.com', stage: 'a-last-staged' },
            { day: '2024-01-01', domain: 'b.com', stage: 'b-only' },
          ]);
          expect(pick(await h.rows('funnel', ['domain']), ['domain', 'stage'])).toEqual([
            { domain: 'a.com', stage: 'a-last-staged' },
            { domain: 'b.com', stage: 'b-only' },
          ]);
        });

        it('without history no history table is made', async () => {
          await setup();
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'lead']]], { history: false });
          await snapshot('2024-01-02', [[['a.com', '2024-01-02', 'trial']]], { history: false });
          expect(await d.describeTable('funnel')).not.toBeNull();
          expect(await d.describeTable('funnel_history')).toBeNull();
        });

        it('an aborted load and a failed commit leave the history, target and state untouched', async () => {
          await setup();
          const s1 = stateAt('2024-01-02T00:00:00.000Z');
          await loadWindow(d, {
            streamKey: 'test.funnel',
            schema: funnel(),
            mode: 'snapshot',
            window: dayWindow('2024-01-01'),
            batches: [[['a.com', '2024-01-01', 'lead']]],
            history: true,
            state: s1,
          });
          const before = await h.rows('funnel_history', ['day', 'domain']);

          const aborted = await d.beginLoad({ streamKey: 'test.funnel', schema: funnel(), runId: 'r2' });
          await aborted.write([['a.com', '2024-01-02', 'trial']], funnel());
          await aborted.abort();

          // a NULL key fails the commit after the target and history were touched in the transaction
          const v2 = funnel([col('seats', 'integer', 'dynamic')]);
          const failing = await d.beginLoad({ streamKey: 'test.funnel', schema: v2, runId: 'r3' });
          await failing.write(
            [
              ['a.com', '2024-01-01', 'trial', null, null, null, '3'],
              [null, '2024-01-01', 'no key'],
            ],
            v2,
          );
          const err = await rejection(
            failing.commit({
              schema: v2,
              mode: 'snapshot',
              window: dayWindow('2024-01-01'),
              state: stateAt('2024-01-03T00:00:00.000Z'),
              history: true,
            }),
          );
          expect(err).toBeInstanceOf(DestinationError);
          await failing.abort();
          expect(await h.rows('funnel_history', ['day', 'domain'])).toEqual(before);
          expect(pick(await h.rows('funnel', ['domain']), ['domain', 'stage'])).toEqual([
            { domain: 'a.com', stage: 'lead' },
          ]);
          expect(await d.getState('test.funnel')).toEqual(s1);
          if (d.capabilities.transactionalDdl) {
            expect((await d.describeTable('funnel_history'))?.columns.map((c) => c.name)).not.toContain(
              'seats',
            );
          }
        });

        it('a staged snapshot date outside the window fails with a DataError naming the count and the first date, committing nothing', async () => {
          await setup();
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'lead']]]);
          const err = await rejection(
            snapshot('2024-01-02', [
              [
                ['a.com', '2024-01-02', 'trial'],
                ['b.com', '2024-01-05', 'lead'],
                ['c.com', null, 'lead'],
              ],
            ]),
          );
          expect(err).toBeInstanceOf(DataError);
          expect((err as Error).message).toContain('2 staged row(s)');
          expect((err as Error).message).toContain('2024-01-05');
          expect(await history()).toEqual([{ day: '2024-01-01', domain: 'a.com', stage: 'lead' }]);
          expect(pick(await h.rows('funnel', ['domain']), ['domain', 'stage'])).toEqual([
            { domain: 'a.com', stage: 'lead' },
          ]);
        });

        it('history on a merge commit is refused with a DestinationError', async () => {
          await setup();
          const err = await rejection(
            loadWindow(d, {
              schema: eventsSchema(),
              batches: [[['a', '2024-01-01T01:00:00Z', 'x', '1']]],
              history: true,
            }),
          );
          expect(err).toBeInstanceOf(DestinationError);
          expect((err as Error).message).toMatch(/history/);
          expect(await d.describeTable('events')).toBeNull();
        });

        it('a table name too long for <table>_history gets a deterministic hashed name within the limit', async () => {
          await setup();
          const max = d.capabilities.maxIdentifierLength;
          const long = `t${'x'.repeat(max - 3)}`; // fits as a table, not with the suffix
          const expected = `${long.slice(0, max - 17).replace(/_+$/, '')}_${nameHash(long)}_history`;
          expect(expected.length).toBeLessThanOrEqual(max);
          await snapshot('2024-01-01', [[['a.com', '2024-01-01', 'lead']]], { schema: funnel([], long) });
          await snapshot('2024-01-02', [[['a.com', '2024-01-02', 'trial']]], { schema: funnel([], long) });
          expect(await history(expected)).toEqual([
            { day: '2024-01-01', domain: 'a.com', stage: 'lead' },
            { day: '2024-01-02', domain: 'a.com', stage: 'trial' },
          ]);
        });
      });
    } else {
      it('snapshot is refused with a DestinationError and leaves table and state untouched', async () => {
        await setup();
        const err = await rejection(
          loadWindow(d, {
            schema: eventsSchema(),
            mode: 'snapshot',
            batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
          }),
        );
        expect(err).toBeInstanceOf(DestinationError);
        expect((err as Error).message).toMatch(/snapshot/i);
        expect(await d.getState('test.events')).toBeNull();
      });
    }

    it('close() returns even while a load was neither committed nor aborted, and the load leaves nothing', async () => {
      await setup();
      const other = await h.reopen();
      const load = await other.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'r' });
      await load.write([['a', '2024-01-01T01:00:00Z', 'x', '1']], eventsSchema());
      await other.close();
      expect(await d.describeTable('events')).toBeNull();
      expect(await d.getState('test.events')).toBeNull();
    });

    it('a write whose row is longer than its schema fails with a DestinationError', async () => {
      await setup();
      const load = await d.beginLoad({ streamKey: 'test.events', schema: eventsSchema(), runId: 'r' });
      const err = await rejection(
        load.write([['a', '2024-01-01T01:00:00Z', 'x', '1', null, null, null, 'too many']], eventsSchema()),
      );
      expect(err).toBeInstanceOf(DestinationError);
      await load.abort();
      expect(await d.describeTable('events')).toBeNull();
    });

    // ── the CSV pass-through (`Load.writeCsv`) ──
    // Rows the reader encoded itself skip the mapper and reach the load as CSV bytes. They must land
    // exactly as the same rows through `write`, and take their place in the staged order: if
    // `writeCsv` staged out of order with `write`, an older duplicate would win the merge.

    describe('CSV pass-through (Load.writeCsv)', () => {
      /** Opens the harness; skips the case when this destination's loads have no writeCsv. */
      const setupCsv = async (skip: (note?: string) => never) => {
        await setup();
        const probe = await d.beginLoad({
          streamKey: 'test.probe',
          schema: eventsSchema('probe'),
          runId: 'p',
        });
        const has = typeof probe.writeCsv === 'function';
        await probe.abort();
        if (!has) skip(`${name}: Load.writeCsv not implemented`);
      };

      it('rows staged with writeCsv commit exactly as the same rows staged with write (every type, NULLs)', async ({
        skip,
      }) => {
        await setupCsv(skip);
        const typed = (table: string): TableSchema => ({
          table,
          columns: [
            col('id', 'integer'),
            col('s', 'string'),
            col('i', 'integer'),
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
        const json = '{"a":"x,y","q":"say \\"hi\\"","nl":"a\\nb","n":[1,2.5,null,true]}';
        const strings = [
          'plain',
          'a,b,,c',
          '"quoted" and ""doubled""',
          'line1\nline2\r\nline3',
          'ünïcødé ✓ 日本語 🎉 e\u0301',
          '\\.',
          '\\.\n\\.',
          '\\N',
          'NULL',
          'a\\b\\\\c',
          '  leading and trailing  ',
          '\ttab\t',
          ',',
          '"',
          '\n',
        ];
        const rows: Row[] = [
          [
            '1',
            'first',
            '9223372036854775807',
            '123456789012345678901234567890.12345678',
            '0.1',
            'true',
            '2024-01-01T00:00:00.000001Z',
            '2024-02-29',
            json,
            null,
            null,
            '{"dropped":"x,\\"y\\""}',
          ],
          [
            '2',
            null,
            '-9223372036854775808',
            '-0.5',
            '-1.5e-7',
            'false',
            '1999-12-31T23:59:59.999999Z',
            '1970-01-01',
            '[]',
          ],
          ['3', 'third', '0', '0', '5e-324', null, '2024-06-30T12:34:56Z', '9999-12-31', '"a json string"'],
          ['4', null, null, null, null, null, '2024-01-01T12:00:00Z'],
          ...strings.map((v, k): Row => [
            String(100 + k),
            v,
            String(k),
            `${k}.5`,
            null,
            k % 2 ? 'true' : 'false',
            '2024-01-01T06:00:00Z',
            '2024-01-01',
            `{"k":${k}}`,
          ]),
        ];
        const viaWrite = await loadWindow(d, {
          streamKey: 'test.w',
          schema: typed('via_write'),
          batches: [rows],
        });
        const half = Math.ceil(rows.length / 2);
        const viaCsv = await loadWindow(d, {
          streamKey: 'test.c',
          schema: typed('via_csv'),
          batches: [
            { csv: rows.slice(0, half), schema: typed('via_csv') },
            // a writer that keeps the source's quotes quotes plain values too
            { csv: rows.slice(half), schema: typed('via_csv'), quoteAll: true },
          ],
        });
        expect(viaCsv).toEqual(viaWrite);
        expect(viaCsv).toEqual({ staged: rows.length, upserted: rows.length, deleted: 0 });
        const typeOf = Object.fromEntries(typed('x').columns.map((c) => [c.name, c.type]));
        const comparable = async (table: string) =>
          (await h.rows(table, ['id'])).map((r) =>
            Object.fromEntries(
              Object.entries(r)
                .filter(([k]) => k !== '_exportsync_loaded_at')
                .map(([k, v]) => [k, canon(typeOf[k] ?? 'string', v)]),
            ),
          );
        const written = await comparable('via_write');
        const fromCsv = await comparable('via_csv');
        expect(fromCsv.length).toBe(rows.length);
        expect(fromCsv).toEqual(written);
        // and both are the values staged, not merely the same mistake
        expect(fromCsv.filter((r) => Number(r.id) >= 100).map((r) => r.s)).toEqual(strings);
        expect(fromCsv.find((r) => r.id === '4')).toMatchObject({
          s: null,
          i: null,
          d: null,
          b: null,
          j: null,
        });
        expect(fromCsv.find((r) => r.id === '1')).toMatchObject({
          i: '9223372036854775807',
          d: '123456789012345678901234567890.12345678',
          _exportsync_run_id: 'run-1',
        });
      });

      it('write, writeCsv and write of one key with one cursor: the latest staged wins, whichever call staged it', async ({
        skip,
      }) => {
        await setupCsv(skip);
        const s = eventsSchema();
        const ts = '2024-01-01T01:00:00Z';
        const result = await loadWindow(d, {
          schema: s,
          batches: [
            [
              ['a', ts, 'a write-1', '1'],
              ['b', ts, 'b write-1', '1'],
              ['c', ts, 'c write-1', '1'],
            ],
            {
              csv: [
                ['a', ts, 'a csv-2', '2'],
                ['b', ts, 'b csv-2 first', '2'],
                ['b', ts, 'b csv-2 last', '2'],
              ],
              schema: s,
            },
            [['a', ts, 'a write-3', '3']],
            { csv: [['c', ts, 'c csv-4', '4']], schema: s },
          ],
        });
        expect(result).toEqual({ staged: 8, upserted: 3, deleted: 0 });
        expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n'])).toEqual([
          { id: 'a', name: 'a write-3', n: '3' },
          { id: 'b', name: 'b csv-2 last', n: '2' },
          { id: 'c', name: 'c csv-4', n: '4' },
        ]);
      });

      it('a column appended between two writeCsv calls is NULL for the lines staged before it', async ({
        skip,
      }) => {
        await setupCsv(skip);
        const v1 = eventsSchema();
        const v2 = eventsSchema('events', [col('country', 'string', 'dynamic')]);
        const v3 = eventsSchema('events', [
          col('country', 'string', 'dynamic'),
          col('score', 'decimal', 'dynamic'),
        ]);
        const result = await loadWindow(d, {
          schema: v3,
          batches: [
            { csv: [['a', '2024-01-01T01:00:00Z', 'a', '1']], schema: v1 },
            { csv: [['b', '2024-01-01T02:00:00Z', 'b', '2', null, null, null, 'NL']], schema: v2 },
            { csv: [['c', '2024-01-01T03:00:00Z', 'c', '3', null, null, null, 'DE', '0.5']], schema: v3 },
            { csv: [['d', '2024-01-01T04:00:00Z', 'd', '4']], schema: v3 },
          ],
        });
        expect(result).toEqual({ staged: 4, upserted: 4, deleted: 0 });
        expect(
          pick(await h.rows('events', ['id']), ['id', 'name', 'country', 'score']).map((r) => ({
            ...r,
            score: canon('decimal', r.score),
          })),
        ).toEqual([
          { id: 'a', name: 'a', country: null, score: null },
          { id: 'b', name: 'b', country: 'NL', score: null },
          { id: 'c', name: 'c', country: 'DE', score: '0.5' },
          { id: 'd', name: 'd', country: null, score: null },
        ]);
        expect(await d.getColumnMap('events')).toEqual(v3.columns);
      });

      it('writeCsv refuses lines whose width is not the schema width with a DestinationError naming the stream; nothing lands', async ({
        skip,
      }) => {
        await setupCsv(skip);
        const s = eventsSchema();
        const width = s.columns.length;
        for (const bad of [width - 1, width + 1]) {
          const load = await d.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
          await load.writeCsv!(csvRows([['a', '2024-01-01T01:00:00Z', 'a', '1']], s), s);
          const row: Row = ['b', '2024-01-01T02:00:00Z', 'b', '2'];
          const err = await rejection(load.writeCsv!(csvRows([row], bad), s));
          expect(err, `width ${bad}`).toBeInstanceOf(DestinationError);
          expect((err as Error).message).toContain('test.events');
          await load.abort();
        }
        expect(await d.describeTable('events')).toBeNull();
        expect(await d.getState('test.events')).toBeNull();
      });
    });

    settleCases(name, () => setup().then(() => ({ h, d })));
  });
}

/**
 * The settle cases alone, against another harness (e.g. one whose destination defers the key from
 * the first row, so that these cases run the bulk first load and not only the keyed merge).
 */
export function settleContract(name: string, makeHarness: () => Promise<DestinationHarness>): void {
  describe(`settle contract: ${name}`, () => {
    let h: DestinationHarness | undefined;
    afterEach(async () => {
      await h?.cleanup();
      h = undefined;
    });
    settleCases(name, async () => {
      h = await makeHarness();
      return { h, d: h.destination };
    });
  });
}

// ── the bulk first load (`Destination.settle`) ──
// A destination may fill a new merge table without its key and settle it after the stream's
// windows. Whether it deferred the key or merged each window, after settle the rows must be those
// of the merges: one per key, the latest cursor, on equal cursors the later run. These cases
// only run where `settle` exists; they never ask whether the key was deferred.
function settleCases(name: string, open: () => Promise<{ h: DestinationHarness; d: Destination }>): void {
  describe('settle (bulk first load)', () => {
    /** Opens the harness; skips the case when this destination has no settle. */
    const setupSettle = async (skip: (note?: string) => never) => {
      const opened = await open();
      if (!opened.d.settle) skip(`${name}: Destination.settle not implemented`);
      return { h: opened.h, d: opened.d, settle: (t: string) => opened.d.settle!(t) };
    };
    const DAY3 = win('2024-01-03T00:00:00Z', '2024-01-04T00:00:00Z');

    it('a key repeated across windows and runs is in the table once after settle: the latest cursor, on equal cursors the later run', async ({
      skip,
    }) => {
      const { h, d, settle } = await setupSettle(skip);
      const schema = eventsSchema();
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'a-day1', '1'],
            ['b', '2024-01-01T02:00:00Z', 'b-day1', '2'],
            ['c', '2024-01-01T03:00:00Z', 'c-run1', '3'],
          ],
        ],
      });
      await loadWindow(d, {
        schema,
        window: DAY2,
        batches: [
          [
            ['a', '2024-01-02T05:00:00Z', 'a-day2', '10'],
            ['d', '2024-01-02T01:00:00Z', 'd-day2', '4'],
          ],
        ],
      });
      // a later run re-reads day 1: c again with the same cursor and another value
      await loadWindow(d, {
        schema,
        runId: 'run-2',
        batches: [[['c', '2024-01-01T03:00:00Z', 'c-run2', '30']]],
      });
      const r = await settle('events');
      expect(r.duplicatesRemoved).toBeGreaterThanOrEqual(0);
      expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n', '_exportsync_run_id'])).toEqual([
        { id: 'a', name: 'a-day2', n: '10', _exportsync_run_id: 'run-1' },
        { id: 'b', name: 'b-day1', n: '2', _exportsync_run_id: 'run-1' },
        { id: 'c', name: 'c-run2', n: '30', _exportsync_run_id: 'run-2' },
        { id: 'd', name: 'd-day2', n: '4', _exportsync_run_id: 'run-1' },
      ]);
      if (r.settled) expect(r.duplicatesRemoved).toBe(2);
      expect(await d.getState('test.events')).not.toBeNull();
    });

    it('settle of a settled table, of a table never bulk-loaded and of a missing table is a no-op', async ({
      skip,
    }) => {
      const { h, d, settle } = await setupSettle(skip);
      await loadWindow(d, { schema: eventsSchema(), batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]] });
      await settle('events');
      const before = await h.rows('events', ['id']);
      expect(await settle('events')).toEqual({ settled: false, duplicatesRemoved: 0 });
      expect(await h.rows('events', ['id'])).toEqual(before);
      expect(await settle('no_such_table')).toEqual({ settled: false, duplicatesRemoved: 0 });
      expect(await d.describeTable('no_such_table')).toBeNull();
    });

    it('after settle the key is enforced: a later commit of a key updates it', async ({ skip }) => {
      const { h, d, settle } = await setupSettle(skip);
      const schema = eventsSchema();
      await loadWindow(d, { schema, batches: [[['a', '2024-01-01T01:00:00Z', 'first', '1']]] });
      await settle('events');
      const again = await loadWindow(d, {
        schema,
        window: DAY2,
        runId: 'run-2',
        batches: [
          [
            ['a', '2024-01-02T01:00:00Z', 'second', '2'],
            ['b', '2024-01-02T01:00:00Z', 'b', '3'],
          ],
        ],
      });
      expect(again).toEqual({ staged: 2, upserted: 2, deleted: 0 });
      expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([
        { id: 'a', name: 'second' },
        { id: 'b', name: 'b' },
      ]);
    });

    it('a load left unsettled (the run stopped after window 2) is continued and settled by the next instance', async ({
      skip,
    }) => {
      const { h, d, settle } = await setupSettle(skip);
      const schema = eventsSchema();
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'a1', '1'],
            ['b', '2024-01-01T02:00:00Z', 'b1', '2'],
          ],
        ],
        state: stateAt(DAY1.to.toISOString()),
      });
      await loadWindow(d, {
        schema,
        window: DAY2,
        batches: [[['c', '2024-01-02T01:00:00Z', 'c1', '3']]],
        state: stateAt(DAY2.to.toISOString()),
      });
      // no settle: the process ends here; the next run opens its own instance
      const next = await h.reopen();
      expect((await next.getState('test.events'))?.highWaterMark).toBe(DAY2.to.toISOString());
      await loadWindow(next, {
        schema,
        window: DAY2,
        runId: 'run-2',
        batches: [
          [
            ['c', '2024-01-02T01:00:00Z', 'c2', '30'],
            ['b', '2024-01-02T03:00:00Z', 'b2', '20'],
          ],
        ],
      });
      // a run after a crash re-reads what was committed (lookback): never in the table twice,
      // settled or not
      const ids = (await h.rows('events', ['id'])).map((r) => r.id);
      expect(ids).toEqual([...new Set(ids)]);
      await loadWindow(next, {
        schema,
        window: DAY3,
        runId: 'run-2',
        batches: [[['e', '2024-01-03T01:00:00Z', 'e2', '5']]],
      });
      await next.settle!('events');
      expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n'])).toEqual([
        { id: 'a', name: 'a1', n: '1' },
        { id: 'b', name: 'b2', n: '20' },
        { id: 'c', name: 'c2', n: '30' },
        { id: 'e', name: 'e2', n: '5' },
      ]);
      expect(await settle('events')).toEqual({ settled: false, duplicatesRemoved: 0 });
    });

    it('commits from another instance racing settle: every key once, the latest row of each', async ({
      skip,
    }) => {
      const { h, d, settle } = await setupSettle(skip);
      const schema = eventsSchema();
      await loadWindow(d, {
        schema,
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'a1', '1'],
            ['b', '2024-01-01T02:00:00Z', 'b1', '2'],
          ],
        ],
      });
      const other = await h.reopen();
      await Promise.all([
        settle('events'),
        loadWindow(other, {
          schema,
          window: DAY2,
          streamKey: 'test.events#shard2',
          batches: [
            [
              ['a', '2024-01-02T01:00:00Z', 'a2', '10'],
              ['c', '2024-01-02T02:00:00Z', 'c2', '3'],
            ],
          ],
        }),
      ]);
      await settle('events');
      expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([
        { id: 'a', name: 'a2' },
        { id: 'b', name: 'b1' },
        { id: 'c', name: 'c2' },
      ]);
      // keyed now, whichever went first
      await loadWindow(d, { schema, window: DAY3, batches: [[['a', '2024-01-03T01:00:00Z', 'a3', '7']]] });
      expect((await h.rows('events', ['id'])).map((r) => r.name)).toEqual(['a3', 'b1', 'c2']);
    });
  });
}
