/**
 * The Postgres load keeps one COPY open across writes (write() does not wait for the server to
 * store each batch). These pin what that must not change: a value the server rejects in any batch
 * still fails the window (at a later write or at commit) and lands nothing; the schema growing
 * mid-load ends the COPY, alters staging and reopens it without losing a row; abort with a COPY
 * still open leaves nothing and the destination stays usable. The CSV pass-through (`writeCsv`)
 * shares that COPY: its bytes go to the server as given (no copy, no re-encoding), in call order
 * with `write`'s rows, and a bad line fails the window like a bad value does.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CsvRows, Destination, Load, Row, TableSchema } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { COPY_SLICE_BYTES, CopyWriter } from '../../src/destinations/postgres/postgres-copy.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema, withClient } from '../support/postgres.js';
import { col, csvRows, eventsSchema, loadWindow, stateAt, win } from './contract.js';

const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');

const TS = '2024-01-01T01:00:00Z';

/** Hand-written `CsvRows` of eventsSchema (id, ts, name, n + three audit columns): `text` as given. */
function lines(...text: string[]): CsvRows {
  return { text: new Uint8Array(Buffer.from(text.join(''))), rows: text.length, width: 7 };
}

/** Stages with `stage` on a fresh load and commits; returns the error the window failed with. */
async function failedWindow(
  d: Destination,
  streamKey: string,
  stage: (load: Load, s: TableSchema) => Promise<void>,
): Promise<unknown> {
  const s = eventsSchema(streamKey.replace('.', '_'));
  const load = await d.beginLoad({ streamKey, schema: s, runId: 'run-1' });
  try {
    await stage(load, s);
    await load.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(DAY1.to.toISOString()) });
  } catch (err) {
    await load.abort();
    expect(await d.describeTable(s.table)).toBeNull();
    expect(await d.getState(streamKey)).toBeNull();
    return err;
  }
  throw new Error(`${streamKey}: the window committed`);
}

function rows(from: number, count: number, n = (i: number) => String(i)): Row[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return [`id-${i}`, '2024-01-01T01:00:00Z', `name-${i}`, n(i)];
  });
}

describe('postgres load: one COPY stream per load', () => {
  let schema: string;
  let d: Destination;
  beforeAll(async () => {
    schema = uniqueSchema('pgcopy');
    d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: `exportsync-${schema}`,
    });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    await dropSchema(schema);
  });

  it('a value the server rejects in an early batch fails the window: nothing lands, no state', async () => {
    const s = eventsSchema('rejected');
    const load = await d.beginLoad({ streamKey: 'copy.rejected', schema: s, runId: 'run-1' });
    let failure: unknown;
    try {
      await load.write(
        rows(0, 5, (i) => (i === 3 ? 'not-a-number' : String(i))),
        s,
      );
      // later batches may still be accepted locally; the error must surface by commit at the latest
      for (let b = 1; b < 20; b++) await load.write(rows(b * 1000, 1000), s);
      await load.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(DAY1.to.toISOString()) });
    } catch (err) {
      failure = err;
    }
    await load.abort();
    expect(String(failure)).toMatch(/not-a-number|invalid input syntax/);
    const tables = await query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'rejected'`,
      [schema],
    );
    expect(tables).toEqual([]);
    expect(await d.getState('copy.rejected')).toBeNull();
    // the pool's connections still work after the failed COPY
    await loadWindow(d, { streamKey: 'copy.after', schema: eventsSchema('after'), batches: [rows(0, 3)] });
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".after`)).toEqual([{ n: 3 }]);
  });

  it('columns added and widened mid-load reopen the COPY and keep every row of every batch', async () => {
    const v1 = eventsSchema('grown');
    const v2 = eventsSchema('grown', [col('country', 'string', 'dynamic')]);
    const v3 = {
      ...v2,
      columns: v2.columns.map((c) => (c.name === 'n' ? { ...c, type: 'decimal' as const } : c)),
    };
    const withCountry = (r: Row[]) => r.map((x) => [...x, null, null, null, 'NL']);
    const result = await loadWindow(d, {
      streamKey: 'copy.grown',
      schema: v3,
      batches: [
        { rows: rows(0, 1500), schema: v1 },
        { rows: rows(1500, 1500), schema: v1 },
        { rows: withCountry(rows(3000, 1500)), schema: v2 },
        { rows: withCountry(rows(4500, 1500, (i) => `${i}.5`)), schema: v3 },
        { rows: withCountry(rows(6000, 1500)), schema: v3 },
      ],
    });
    expect(result.staged).toBe(7500);
    const got = await query<{ n: number; countries: number; halves: number }>(
      `SELECT count(*)::int AS n, count(country)::int AS countries,
              count(*) FILTER (WHERE n <> trunc(n))::int AS halves FROM "${schema}".grown`,
    );
    expect(got).toEqual([{ n: 7500, countries: 4500, halves: 1500 }]);
  });

  it('with a statement_timeout, slow writes are not cancelled: each write ends its COPY', async () => {
    const timed = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      statementTimeoutMs: 300,
    });
    await timed.open();
    try {
      const s = eventsSchema('slow');
      const load = await timed.beginLoad({ streamKey: 'copy.slow', schema: s, runId: 'run-1' });
      for (let b = 0; b < 3; b++) {
        await load.write(rows(b * 100, 100), s);
        await new Promise((r) => setTimeout(r, 400)); // the source is slow: longer than the timeout
      }
      const result = await load.commit({
        schema: s,
        mode: 'merge',
        window: DAY1,
        state: stateAt(DAY1.to.toISOString()),
      });
      expect(result.staged).toBe(300);
    } finally {
      await timed.close();
    }
  });

  it('abort with a COPY still open leaves nothing and the next load of the stream works', async () => {
    const s = eventsSchema('aborted');
    const load = await d.beginLoad({ streamKey: 'copy.aborted', schema: s, runId: 'run-1' });
    for (let b = 0; b < 5; b++) await load.write(rows(b * 2000, 2000), s);
    await load.abort();
    expect(await d.getState('copy.aborted')).toBeNull();
    await loadWindow(d, { streamKey: 'copy.aborted', schema: s, batches: [rows(0, 10)] });
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".aborted`)).toEqual([{ n: 10 }]);
  });

  it('writeCsv forwards the caller bytes as COPY messages: views of its buffer, no copy, no re-encoding', async () => {
    await withClient(async (c) => {
      await c.query('CREATE TEMP TABLE bytes_in (a text, b int)');
      const line = '"x,\n""y""",1\n';
      const text = new Uint8Array(Buffer.from(line.repeat(50_000))); // ~2.4 COPY messages
      const sent: unknown[] = [];
      const spy = {
        query(stream: { write: (chunk: unknown) => boolean }) {
          const write = stream.write.bind(stream);
          stream.write = (chunk: unknown) => (sent.push(chunk), write(chunk));
          return c.query(stream as never);
        },
      } as unknown as pg.PoolClient;
      const copy = new CopyWriter(spy, 'COPY bytes_in (a, b) FROM STDIN WITH (FORMAT csv)', 2);
      await copy.writeBytes(text);
      expect(await copy.end()).toBe(50_000);
      expect(sent.length).toBe(Math.ceil(text.length / COPY_SLICE_BYTES));
      for (const chunk of sent) expect((chunk as Uint8Array).buffer).toBe(text.buffer);
      expect(Buffer.concat(sent as Uint8Array[]).equals(text)).toBe(true);
      const got = await c.query('SELECT count(*)::int AS n, min(a) AS a, max(a) AS b FROM bytes_in');
      expect(got.rows).toEqual([{ n: 50_000, a: 'x,\n"y"', b: 'x,\n"y"' }]);
    });
  });

  it('writeCsv values land byte for byte, also where a COPY message cuts a character or a quoted line break', async () => {
    const s = eventsSchema('bytes');
    const want = new Map<string, string | null>();
    const text: string[] = [];
    let size = 0;
    const line = (id: string, field: string, value: string | null) => {
      want.set(id, value);
      const l = `${id},${TS},${field},1,,,\n`;
      text.push(l);
      size += Buffer.byteLength(l);
    };
    const awkward: Array<[string, string | null]> = [
      ['"a,b,,c"', 'a,b,,c'],
      ['"say ""hi"""', 'say "hi"'],
      ['"line1\nline2\r\nline3"', 'line1\nline2\r\nline3'],
      ['ünïcødé ✓ 日本語 🎉 e\u0301', 'ünïcødé ✓ 日本語 🎉 e\u0301'],
      ['a\\b\\\\c', 'a\\b\\\\c'],
      ['\\.', '\\.'],
      ['"x\n\\.\ny"', 'x\n\\.\ny'],
      ['"\\.\n"', '\\.\n'],
      ['\\N', '\\N'],
      ['"plain"', 'plain'],
      ['', null],
    ];
    for (const [i, [field, value]] of awkward.entries()) line(`a${i}`, field, value);
    // pads so that byte `at` of the next value is the first byte of a new COPY message
    const cutAt = (boundary: number, id: string, value: string, at: number) => {
      for (let k = 0; size + 3000 < boundary; k++) line(`${id}-${k}`, 'x'.repeat(1000), 'x'.repeat(1000));
      const pad = boundary - size - Buffer.byteLength(`${id}-p,${TS},,1,,,\n${id},${TS},"`) - at;
      line(`${id}-p`, 'y'.repeat(pad), 'y'.repeat(pad));
      line(id, `"${value}"`, value);
    };
    cutAt(COPY_SLICE_BYTES, 'emoji', '🎉 cut in two', 2);
    cutAt(2 * COPY_SLICE_BYTES, 'crlf', 'before\r\nafter', Buffer.byteLength('before\r'));
    const load = await d.beginLoad({ streamKey: 'csv.bytes', schema: s, runId: 'run-1' });
    await load.writeCsv!(lines(...text), s);
    const state = stateAt(DAY1.to.toISOString());
    const result = await load.commit({ schema: s, mode: 'merge', window: DAY1, state });
    expect(result.staged).toBe(want.size);
    const got = await query<{ id: string; name: string | null }>(`SELECT id, name FROM "${schema}".bytes`);
    expect(new Map(got.map((r) => [r.id, r.name]))).toEqual(want);
  });

  it('write and writeCsv stage in call order with a COPY per write too (statement_timeout)', async () => {
    const timed = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      statementTimeoutMs: 5000,
    });
    await timed.open();
    try {
      const s = eventsSchema('ordered');
      const result = await loadWindow(timed, {
        streamKey: 'csv.ordered',
        schema: s,
        batches: [
          [
            ['a', TS, 'write-1', '1'],
            ['b', TS, 'write-1', '1'],
          ],
          {
            csv: [
              ['a', TS, 'csv-2', '2'],
              ['b', TS, 'csv-2', '2'],
            ],
            schema: s,
          },
          [['a', TS, 'write-3', '3']],
          { csv: [['b', TS, 'csv-4', '4']], schema: s },
        ],
      });
      expect(result).toEqual({ staged: 6, upserted: 2, deleted: 0 });
      expect(await query(`SELECT id, name FROM "${schema}".ordered ORDER BY id`)).toEqual([
        { id: 'a', name: 'write-3' },
        { id: 'b', name: 'csv-4' },
      ]);
    } finally {
      await timed.close();
    }
  });

  it('a bad line (missing field, invalid timestamp) fails the window with a DestinationError naming the stream', async () => {
    const cases: Array<[string, string]> = [
      ['csv.width', `b,${TS},short line,,,\n`],
      ['csv.stamp', 'b,2024-13-45T99:00:00Z,bad timestamp,1,,,\n'],
    ];
    for (const [streamKey, bad] of cases) {
      const err = await failedWindow(d, streamKey, async (load, s) => {
        await load.writeCsv!(lines(`a,${TS},ok,1,,,\n`, bad, `c,${TS},ok,1,,,\n`), s);
        // later batches may still be accepted locally; the error must surface by commit at the latest
        for (let b = 1; b < 10; b++) await load.writeCsv!(csvRows(rows(b * 1000, 1000), s), s);
      });
      expect(err, streamKey).toBeInstanceOf(DestinationError);
      expect((err as Error).message).toContain(streamKey);
    }
    await loadWindow(d, { streamKey: 'csv.after', schema: eventsSchema('csv_after'), batches: [rows(0, 3)] });
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".csv_after`)).toEqual([{ n: 3 }]);
  });

  it('encoded rows that are not whole lines or not their declared count are refused; the load stays refused', async () => {
    const cut = await failedWindow(d, 'csv.cut', (load, s) =>
      load.writeCsv!({ ...lines(`a,${TS},x,1,,,`), rows: 1 }, s),
    );
    expect(String(cut)).toMatch(/csv\.cut: encoded rows are not 1 whole line/);
    const none = await failedWindow(d, 'csv.none', (load, s) =>
      load.writeCsv!({ ...lines(`a,${TS},x,1,,,\n`), rows: 0 }, s),
    );
    expect(String(none)).toMatch(/csv\.none: encoded rows are not 0 whole line/);
    // two lines declared as one: only the server's count tells; the commit fails, and so does a retry
    const s = eventsSchema('miscounted');
    const load = await d.beginLoad({ streamKey: 'csv.miscounted', schema: s, runId: 'run-1' });
    await load.writeCsv!({ ...lines(`a,${TS},x,1,,,\n`, `b,${TS},y,2,,,\n`), rows: 1 }, s);
    const state = stateAt(DAY1.to.toISOString());
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await load.commit({ schema: s, mode: 'merge', window: DAY1, state }).then(
        () => 'committed',
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect(String(err)).toMatch(/csv\.miscounted: staging stored 2 rows where 1 were sent/);
    }
    await load.abort();
    expect(await d.describeTable('miscounted')).toBeNull();
  });

  it('columns added and widened between writeCsv calls reopen the COPY and keep every line', async () => {
    const v1 = eventsSchema('csv_grown');
    const v2 = eventsSchema('csv_grown', [col('country', 'string', 'dynamic')]);
    const v3 = {
      ...v2,
      columns: v2.columns.map((c) => (c.name === 'n' ? { ...c, type: 'decimal' as const } : c)),
    };
    const withCountry = (r: Row[]) => r.map((x) => [...x, null, null, null, 'NL']);
    const result = await loadWindow(d, {
      streamKey: 'csv.grown',
      schema: v3,
      batches: [
        { csv: rows(0, 1500), schema: v1 },
        { rows: rows(1500, 1500), schema: v1 },
        { csv: withCountry(rows(3000, 1500)), schema: v2 },
        { csv: withCountry(rows(4500, 1500, (i) => `${i}.5`)), schema: v3 },
        { rows: withCountry(rows(6000, 1500)), schema: v3 },
        { csv: rows(7500, 1500), schema: v3 },
      ],
    });
    expect(result.staged).toBe(9000);
    const got = await query<{ n: number; countries: number; halves: number }>(
      `SELECT count(*)::int AS n, count(country)::int AS countries,
              count(*) FILTER (WHERE n <> trunc(n))::int AS halves FROM "${schema}".csv_grown`,
    );
    expect(got).toEqual([{ n: 9000, countries: 4500, halves: 1500 }]);
  });
});
