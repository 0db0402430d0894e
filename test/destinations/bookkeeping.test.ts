/**
 * The backend-neutral bookkeeping conversions (src/destinations/bookkeeping-*.ts): every backend's
 * driver hands cells over in its own shape, and each must read back the record that was written.
 * The contract suite covers the SQL of each backend; these pin the decoding of every cell shape.
 */
import { describe, expect, it } from 'vitest';
import type { RunRecord, WindowRecord } from '../../src/core/contracts.js';
import { byName, instantCell, isoCell, jsonCell } from '../../src/destinations/bookkeeping-cells.js';
import { RUN_COLUMNS, runBinds, runFromRow, runValues } from '../../src/destinations/bookkeeping-runs.js';
import {
  columnFromRow,
  COLUMN_MAP_READ,
  stateEntryFromRow,
  stateFromCell,
} from '../../src/destinations/bookkeeping-state.js';
import {
  ofStreams,
  WINDOW_COLUMNS,
  windowBinds,
  windowFromRow,
  windowValues,
} from '../../src/destinations/bookkeeping-windows.js';

const run: RunRecord = {
  runId: 'r-1',
  command: 'backfill',
  startedAt: '2024-01-01T00:00:00.123Z',
  finishedAt: '2024-01-01T00:05:00.000Z',
  status: 'failed',
  streams: ['scarf.events', 'scarf.aggregates'],
  rows: 12345678901,
  error: 'HTTP 401 for https://user:hunter22@api.example/x',
  stats: [
    {
      streamKey: 'scarf.events',
      status: 'failed',
      windows: 2,
      staged: 10,
      upserted: 9,
      deleted: 0,
      lateRows: 1,
      requests: 3,
      bytes: 4096,
      durationMs: 1500,
      error: 'token=abcdef123 rejected',
    },
  ],
};

const window: WindowRecord = {
  streamKey: 'scarf.events',
  window: { from: new Date('2024-01-01T00:00:00.000Z'), to: new Date('2024-01-02T00:00:00.000Z') },
  backfillId: 'bf-1',
  shard: '1/3',
  status: 'failed',
  rows: 42,
  attempts: 3,
  durationMs: 1234.6,
  error: 'boom',
  updatedAt: '2024-01-03T04:05:06.789Z',
};

describe('run rows', () => {
  it('values are text in RUN_COLUMNS order, secrets redacted from the error and the stats', () => {
    const v = runValues(run);
    expect(runBinds(run)).toEqual(RUN_COLUMNS.map((c) => v[c]));
    expect(v.rows).toBe('12345678901');
    expect(v.error).toBe('HTTP 401 for https://user:***@api.example/x');
    expect(v.stats).not.toContain('abcdef123');
    expect(JSON.parse(v.stats ?? '')[0].error).toBe('token=*** rejected');
    expect(runValues({ ...run, finishedAt: undefined, error: undefined, stats: undefined })).toMatchObject({
      finished_at: null,
      error: null,
      stats: null,
    });
  });

  const expected: RunRecord = {
    ...run,
    error: 'HTTP 401 for https://user:***@api.example/x',
    stats: JSON.parse(runValues(run).stats ?? '') as RunRecord['stats'],
  };

  it('reads back from every driver shape: Date and parsed jsonb, epoch ms, ISO text with microseconds, positional', () => {
    const v = runValues(run);
    const postgres = { ...v, started_at: new Date(run.startedAt), finished_at: new Date(run.finishedAt!) };
    Object.assign(postgres, { streams: JSON.parse(v.streams!), stats: JSON.parse(v.stats!) });
    const duckdb = { ...v, started_at: Date.parse(run.startedAt), finished_at: Date.parse(run.finishedAt!) };
    const bigquery = {
      ...v,
      started_at: '2024-01-01T00:00:00.123000Z',
      finished_at: '2024-01-01T00:05:00.000000Z',
    };
    const snowflake = byName(RUN_COLUMNS, runBinds(run));
    for (const row of [postgres, duckdb, bigquery, snowflake]) expect(runFromRow(row)).toEqual(expected);
  });

  it('NULL optional cells are absent from the record, not undefined', () => {
    const row = { ...runValues(run), finished_at: null, error: null, stats: null };
    const back = runFromRow(row);
    expect(Object.keys(back)).not.toContain('finishedAt');
    expect(Object.keys(back)).not.toContain('error');
    expect(Object.keys(back)).not.toContain('stats');
  });
});

describe('ledger rows', () => {
  it('values are text in WINDOW_COLUMNS order; the duration is rounded to a whole millisecond', () => {
    const v = windowValues(window);
    expect(windowBinds(window)).toEqual(WINDOW_COLUMNS.map((c) => v[c]));
    expect(v).toMatchObject({ window_from: '2024-01-01T00:00:00.000Z', rows: '42', attempts: '3' });
    expect(v.duration_ms).toBe('1235');
  });

  it('reads back from every driver shape to the same instants', () => {
    const v = windowValues(window);
    const expected = { ...window, durationMs: 1235 };
    const postgres = {
      ...v,
      window_from: new Date(v.window_from!),
      window_to: new Date(v.window_to!),
      updated_at: new Date(v.updated_at!),
      attempts: 3,
    };
    const duckdb = {
      ...v,
      window_from: Date.parse(v.window_from!),
      window_to: Date.parse(v.window_to!),
      updated_at: Date.parse(v.updated_at!),
    };
    const bigquery = {
      ...v,
      window_from: '2024-01-01T00:00:00.000000Z',
      updated_at: '2024-01-03T04:05:06.789000Z',
    };
    const snowflake = byName(WINDOW_COLUMNS, windowBinds(window));
    for (const row of [postgres, duckdb, bigquery, snowflake]) expect(windowFromRow(row)).toEqual(expected);
    expect(Object.keys(windowFromRow({ ...v, error: null }))).not.toContain('error');
  });

  it('ofStreams keeps the records of the named streams only, all without a list, none with an empty one', () => {
    const other = { ...window, streamKey: 'scarf.aggregates' };
    expect(ofStreams([window, other], ['scarf.aggregates'])).toEqual([other]);
    expect(ofStreams([window, other])).toEqual([window, other]);
    expect(ofStreams([window, other], [])).toEqual([]);
  });
});

describe('state and column map rows', () => {
  it('a state cell is parsed from text, taken as is when already parsed, null without a row', () => {
    const state = { version: 1, highWaterMark: '2024-01-01T00:00:00.000Z', schemaVersion: 2 };
    expect(stateFromCell(JSON.stringify(state))).toEqual(state);
    expect(stateFromCell(state)).toBe(state);
    expect(stateFromCell(undefined)).toBeNull();
    expect(stateFromCell(null)).toBeNull();
    expect(stateEntryFromRow({ stream_key: 'a.b', state: '{"x":1}' })).toEqual({
      streamKey: 'a.b',
      state: { x: 1 },
    });
  });

  it('a column map row, by name or positional, is the column spec', () => {
    const spec = { name: 'user_id', source: 'userId', type: 'string', origin: 'dynamic' };
    const cells = [spec.name, spec.source, spec.type, spec.origin];
    expect(columnFromRow(byName(COLUMN_MAP_READ, cells))).toEqual(spec);
    expect(
      columnFromRow({
        column_name: 'user_id',
        source_name: 'userId',
        logical_type: 'string',
        origin: 'dynamic',
      }),
    ).toEqual(spec);
  });
});

describe('cells', () => {
  it('byName fills cells past the end of a short row with null', () => {
    expect(byName(['a', 'b', 'c'], [1])).toEqual({ a: 1, b: null, c: null });
  });

  it('instants: a Date is kept, epoch ms and ISO text are read, a missing cell is the epoch', () => {
    const d = new Date('2024-05-06T07:08:09.010Z');
    expect(instantCell(d)).toBe(d);
    expect(isoCell(d.getTime())).toBe('2024-05-06T07:08:09.010Z');
    expect(isoCell('2024-05-06T07:08:09.010999Z')).toBe('2024-05-06T07:08:09.010Z');
    expect(isoCell(null)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('JSON: text is parsed, parsed values and null pass', () => {
    expect(jsonCell('["a"]')).toEqual(['a']);
    const parsed = ['a'];
    expect(jsonCell(parsed)).toBe(parsed);
    expect(jsonCell(null)).toBeNull();
    expect(jsonCell(undefined)).toBeNull();
  });
});
