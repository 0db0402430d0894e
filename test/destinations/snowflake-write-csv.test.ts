/**
 * The Snowflake CSV pass-through (`Load.writeCsv`) on the stand-in through the real snowflake-sdk:
 * encoded lines go into the PUT + COPY file after the rows `write` buffered, numbered in one
 * sequence in call order; the file format reads them as written; malformed lines are refused
 * before anything is staged; an abort right after a spill leaves no stray file error. The contract
 * suite (snowflake.test.ts) covers the values of every type and the merge order.
 */
import { expectSameRowsBothWays } from '../support/awkward-scarf.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvRows, Load, TableSchema } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { sequencedLines } from '../../src/destinations/snowflake/snowflake-stage-csv.js';
import {
  makeSnowflakeHarness,
  sharedStandin,
  stopSharedStandin,
  tableRows,
} from '../support/snowflake-standin/harness.js';
import { csvReader, parseCopy } from '../support/snowflake-standin/stage.js';
import { csvRows, eventsSchema, pick, win } from './contract.js';

afterAll(stopSharedStandin);

const TS = '2024-01-01T01:00:00Z';
const DAY = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const raw = (s: string, rows: number, width: number): CsvRows => ({ text: Buffer.from(s), rows, width });

type Harness = Awaited<ReturnType<typeof makeSnowflakeHarness>>;

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await makeSnowflakeHarness();
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

/** The load's staging rows as the stand-in holds them: seq → id, name. */
async function staged(
  h: Harness,
  load: Load,
): Promise<Array<{ seq: string; id: string; name: string | null }>> {
  const table = (load as unknown as { staging: string }).staging;
  return (await h.standin.query(
    `SELECT CAST("_exportsync_seq" AS VARCHAR) AS seq, id, name FROM "${h.schema}"."${table}" ORDER BY "_exportsync_seq"`,
  )) as Array<{ seq: string; id: string; name: string | null }>;
}

describe('snowflake writeCsv (stand-in)', () => {
  it('buffered write rows, encoded lines and later rows share one file and one sequence in call order', async () => {
    await withHarness(async (h) => {
      const s = eventsSchema();
      const from = h.standin.statements.length;
      const load = await h.destination.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
      await load.write(
        [
          ['a', TS, 'a w1', '1'],
          ['b', TS, 'b w1', '1'],
        ],
        s,
      );
      await load.writeCsv!(
        csvRows(
          [
            ['a', TS, 'a c2', '2'],
            ['b', TS, ' b c2 ', '2'],
          ],
          s,
        ),
        s,
      );
      await load.write([['b', TS, 'b w3', '3']], s);
      await load.writeCsv!(csvRows([['c', TS, 'c,"c4"\\N', '4']], s, { quoteAll: true }), s);
      const sqls = h.standin.statements.slice(from).map((st) => st.sql);
      expect(sqls.some((q) => /^INSERT INTO .*_exportsync_stage_/.test(q))).toBe(false); // nothing went by binds
      const result = await load.commit({ schema: s, mode: 'merge', window: DAY });
      expect(result).toEqual({ staged: 6, upserted: 3, deleted: 0 });
      const copies = h.standin.statements
        .slice(from)
        .map((st) => st.sql)
        .filter((q) => q.startsWith('COPY INTO'));
      expect(copies).toHaveLength(1);
      expect(copies[0]).toContain(
        `FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE NULL_IF = () EMPTY_FIELD_AS_NULL = TRUE TRIM_SPACE = FALSE ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE ENCODING = 'UTF8' COMPRESSION = GZIP)`,
      );
      expect(pick(await h.rows('events', ['id']), ['id', 'name', 'n'])).toEqual([
        { id: 'a', name: 'a c2', n: '2' },
        { id: 'b', name: 'b w3', n: '3' },
        { id: 'c', name: 'c,"c4"\\N', n: '4' },
      ]);
    });
  });

  it('numbers the staged rows in call order before the commit', async () => {
    await withHarness(async (h) => {
      const s = eventsSchema();
      const load = await h.destination.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
      await load.write([['a', TS, 'w1', '1']], s);
      await load.writeCsv!(
        csvRows(
          [
            ['b', TS, 'c2', '2'],
            ['c', TS, null, '2'],
          ],
          s,
        ),
        s,
      );
      await load.write([['d', TS, 'w3', '3']], s);
      await load.writeCsv!(csvRows([['e', TS, '  c4  ', '4']], s), s);
      const writer = (load as unknown as { writer: { flush(): Promise<void> } }).writer;
      await writer.flush();
      expect(await staged(h, load)).toEqual([
        { seq: '0', id: 'a', name: 'w1' },
        { seq: '1', id: 'b', name: 'c2' },
        { seq: '2', id: 'c', name: null },
        { seq: '3', id: 'd', name: 'w3' },
        { seq: '4', id: 'e', name: '  c4  ' },
      ]);
      await load.abort();
    });
  });

  it('malformed encoded lines are refused with a DestinationError naming the stream and line; nothing is staged and the load goes on', async () => {
    await withHarness(async (h) => {
      const s = eventsSchema();
      const w = s.columns.length;
      const good = `a,${TS},a,1,,,\n`;
      const bad: Array<[CsvRows, RegExp]> = [
        [raw(good + good, 1, w), /line 2 of 1 is past the lines claimed/],
        [raw(good, 2, w), /line 1 of 2 is the last, but 2 were claimed/],
        [raw(`a,${TS},a,1,,,,\n`, 1, w), /line 1 of 1 has 8 fields, not 7/],
        [raw(`a,${TS},a"b,1,,,\n`, 1, w), /quote inside unquoted field 3/],
        [raw(`a,${TS},"ab,1,,,\n`, 1, w), /quote that never closes/],
        [raw(`a,${TS},"a" ,1,,,\n`, 1, w), /text after the closing quote of field 3/],
      ];
      const load = await h.destination.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
      for (const [rows, why] of bad) {
        const err = await load.writeCsv!(rows, s).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, why.source).toBeInstanceOf(DestinationError);
        expect((err as Error).message).toContain('test.events');
        expect((err as Error).message).toMatch(why);
      }
      await load.writeCsv!(csvRows([['z', TS, 'z', '9']], s), s);
      expect(await load.commit({ schema: s, mode: 'merge', window: DAY })).toEqual({
        staged: 1,
        upserted: 1,
        deleted: 0,
      });
    });
  });

  it('an abort right after encoded lines opened the staging file removes it without an unhandled stream error', async () => {
    await withHarness(async (h) => {
      const s: TableSchema = eventsSchema();
      for (let i = 0; i < 5; i++) {
        const load = await h.destination.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
        await load.writeCsv!(csvRows([['a', TS, 'a', '1']], s), s);
        await load.abort();
      }
      expect(await h.destination.describeTable('events')).toBeNull();
    });
  });
});

describe('snowflake: a whole sync through the pass-through', () => {
  it('loads the same rows as the mapper (csv_pass_through false), with most rows encoded', async () => {
    const sf = await sharedStandin();
    const schema = (passThrough: boolean) => `pass_${passThrough}_${process.pid}`;
    try {
      await expectSameRowsBothWays({
        label: 'snowflake-pass',
        destinationYaml: (passThrough) =>
          `destination: ${sf.destinationYaml({ schema: schema(passThrough) })}`,
        rows: (passThrough) => tableRows(sf, schema(passThrough), 'scarf_events', ['id']),
      });
    } finally {
      for (const passThrough of [true, false])
        await sf.query(`DROP SCHEMA IF EXISTS "${schema(passThrough)}" CASCADE`);
    }
  });
});

describe('snowflake sequencedLines', () => {
  it('appends the sequence number to each line across digit boundaries; quoted line breaks stay inside their field', () => {
    const out = Buffer.from(sequencedLines(raw('a,\n"x\ny",""""\n,\n', 3, 2), 9, 'x')).toString();
    expect(out).toBe('a,,9\n"x\ny","""",10\n,,11\n');
  });

  it('copies whitespace-edged fields as they are (the file format does not trim)', () => {
    const out = Buffer.from(sequencedLines(raw(' a,b\t\n', 1, 2), 1, 'x')).toString();
    expect(out).toBe(' a,b\t,1\n');
  });
});

describe('snowflake stand-in COPY file format', () => {
  const copy = (format: string) =>
    parseCopy(`COPY INTO "s"."t" ("a", "b") FROM @"s".%"t" FILE_FORMAT = (${format}) PURGE = TRUE`)!;
  it("refuses Snowflake's value-changing defaults and options it does not model", () => {
    const ours = `TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '"' ESCAPE_UNENCLOSED_FIELD = NONE NULL_IF = ()`;
    expect(csvReader(copy(ours))).toContain("nullstr = ''");
    expect(() => csvReader(copy(`TYPE = CSV FIELD_OPTIONALLY_ENCLOSED_BY = '"' NULL_IF = ()`))).toThrow(
      /ESCAPE_UNENCLOSED_FIELD = \\ \(the default\)/,
    );
    expect(() => csvReader(copy(`${ours.replace(' NULL_IF = ()', '')}`))).toThrow(/NULL_IF/);
    expect(() => csvReader(copy(`${ours} TRIM_SPACE = TRUE`))).toThrow(/TRIM_SPACE = TRUE/);
    expect(() => csvReader(copy(`${ours} DATE_FORMAT = AUTO`))).toThrow(/DATE_FORMAT is not modelled/);
  });
});
