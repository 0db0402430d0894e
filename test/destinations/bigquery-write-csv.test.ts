/**
 * The BigQuery CSV pass-through (`Load.writeCsv`) through the real SDK against the stand-in: what
 * the CSV load job asks for, how its lines are numbered with `write`'s rows, what the line check
 * refuses, and that values BigQuery's CSV reader could alter (whitespace around unquoted fields,
 * control bytes, wide decimals) land as staged. The contract suite (bigquery.test.ts) covers the
 * values of every type and the merge order; the stand-in's CSV rules are in csv-load.ts.
 */
import { expectSameRowsBothWays } from '../support/awkward-scarf.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CsvRows, Destination, Row } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { stagingLines, type DecimalField } from '../../src/destinations/bigquery/bigquery-csv.js';
import { makeHarnessFor, sdk, tableRows } from '../support/bigquery-standin/harness.js';
import { startBigQueryStandin, type BigQueryStandin } from '../support/bigquery-standin/index.js';
import { parseCsvLoad } from '../support/bigquery-standin/csv-load.js';
import { canon, col, csvRows, eventsSchema, loadWindow, pick, type DestinationHarness } from './contract.js';

let standin: BigQueryStandin;
beforeAll(async () => {
  standin = await startBigQueryStandin();
});
afterAll(async () => {
  await standin?.stop();
});

const target = () => ({
  project: standin.project,
  apiEndpoint: standin.url,
  authClient: standin.authClient(),
});
const TS = '2024-01-01T01:00:00Z';
const text = (rows: CsvRows | Uint8Array) =>
  Buffer.from(rows instanceof Uint8Array ? rows : rows.text).toString();
const raw = (s: string, rows: number, width: number): CsvRows => ({ text: Buffer.from(s), rows, width });

describe('bigquery writeCsv (stand-in)', () => {
  let h: DestinationHarness;
  let d: Destination;
  const uploads = (from: number) => standin.requests.slice(from).filter((r) => r.path.startsWith('/upload/'));
  const loadConfig = (r: { body?: Record<string, unknown> }) =>
    (r.body?.configuration as { load: Record<string, unknown> }).load;

  beforeEach(async () => {
    h = await makeHarnessFor(target)();
    d = h.destination;
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('write and writeCsv go by one NDJSON and one CSV load job, numbered in one sequence in call order', async () => {
    const mark = standin.requests.length;
    const result = await loadWindow(d, {
      schema: eventsSchema(),
      batches: [
        [['a', TS, 'a w1', '1']],
        {
          csv: [
            ['a', TS, 'a c2', '2'],
            ['b', TS, 'b c2', '2'],
          ],
          schema: eventsSchema(),
        },
        [['b', TS, 'b w3', '3']],
        { csv: [['c', TS, 'c c4', '4']], schema: eventsSchema() },
      ],
    });
    expect(result).toEqual({ staged: 5, upserted: 3, deleted: 0 });
    const sent = uploads(mark);
    expect(sent).toHaveLength(2);
    const csv = sent.find((r) => loadConfig(r).sourceFormat === 'CSV')!;
    const json = sent.find((r) => loadConfig(r).sourceFormat === 'NEWLINE_DELIMITED_JSON')!;
    expect(loadConfig(csv)).toMatchObject({
      fieldDelimiter: ',',
      quote: '"',
      skipLeadingRows: 0,
      encoding: 'UTF-8',
      allowQuotedNewlines: true,
      allowJaggedRows: true,
      nullMarker: '',
      preserveAsciiControlCharacters: true,
      writeDisposition: 'WRITE_APPEND',
      createDisposition: 'CREATE_NEVER',
      maxBadRecords: 0,
    });
    const fields = (loadConfig(csv).schema as { fields: Array<{ name: string }> }).fields;
    expect(fields.map((f) => f.name)).toEqual([
      '_exportsync_seq',
      ...eventsSchema().columns.map((c) => c.name),
    ]);
    expect(csv.data).toBe(`2,a,${TS},a c2,2,,,\n3,b,${TS},b c2,2,,,\n5,c,${TS},c c4,4,,,\n`);
    expect(
      json.data
        ?.split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { _exportsync_seq: number })._exportsync_seq),
    ).toEqual([1, 4]);
    expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([
      { id: 'a', name: 'a c2' },
      { id: 'b', name: 'b w3' },
      { id: 'c', name: 'c c4' },
    ]);
  });

  it('whitespace around an unquoted value and control bytes survive: the field is quoted, the job keeps control characters', async () => {
    const values = ['  both  ', '\tlead', 'trail\t', 'a\u0001b', '\u001f', 'x\u007fy', 'in side'];
    const rows: Row[] = values.map((v, i) => [`k${i}`, TS, v, String(i)]);
    const mark = standin.requests.length;
    await loadWindow(d, { schema: eventsSchema(), batches: [{ csv: rows, schema: eventsSchema() }] });
    const data = uploads(mark)[0]!.data!;
    expect(data).toContain(',"  both  ",');
    expect(data).toContain(',"\tlead",');
    expect(data).toContain(',"\u001f",');
    expect(data).toContain(',a\u0001b,'); // only the edges matter
    expect(data).toContain(',in side,');
    const landed = await h.rows('events', ['n']);
    expect(landed.map((r) => r.name)).toEqual(values);
  });

  it('decimal digits of encoded lines choose the column type: NUMERIC, BIGNUMERIC past 29 integer or 9 fraction digits, STRING past BIGNUMERIC', async () => {
    const cases: Array<[string, string]> = [
      ['1.5', 'NUMERIC'],
      ['-123456789012345678901234567890.5', 'BIGNUMERIC'],
      ['0.1234567890', 'BIGNUMERIC'],
      [`1${'0'.repeat(39)}`, 'STRING'],
    ];
    for (const [i, [value, native]] of cases.entries()) {
      const s = eventsSchema(`dec${i}`, [col('v', 'decimal', 'dynamic')]);
      await loadWindow(d, {
        schema: s,
        batches: [
          { csv: [['a', TS, 'a', '1', null, null, null, '1']], schema: s },
          { csv: [['b', TS, 'b', '2', null, null, null, value]], schema: s, quoteAll: i % 2 === 1 },
        ],
      });
      const table = await d.describeTable(`dec${i}`);
      expect(table?.columns.find((c) => c.name === 'v')?.nativeType, value).toBe(native);
      expect((await h.rows(`dec${i}`, ['id'])).map((r) => canon('decimal', r.v ?? null))).toEqual([
        '1',
        canon('decimal', value),
      ]);
    }
  });

  it('malformed encoded lines are refused with a DestinationError naming the stream and line; nothing is staged and the load goes on', async () => {
    const s = eventsSchema();
    const w = s.columns.length;
    const good = `a,${TS},a,1,,,\n`;
    const bad: Array<[CsvRows, RegExp]> = [
      [raw(good + good, 1, w), /line 2 of 1 is past the lines claimed/],
      [raw(good, 2, w), /line 1 of 2 is the last, but 2 were claimed/],
      [raw(`a,${TS},a,1,,\n`, 1, w), /line 1 of 1 has 6 fields, not 7/],
      [raw(`a,${TS},a"b,1,,,\n`, 1, w), /quote inside unquoted field 3/],
      [raw(`a,${TS},"ab,1,,,\n`, 1, w), /quote that never closes/],
      [raw(`a,${TS},"a"b,1,,,\n`, 1, w), /text after the closing quote of field 3/],
    ];
    const load = await d.beginLoad({ streamKey: 'test.events', schema: s, runId: 'r' });
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
    const result = await load.commit({
      schema: s,
      mode: 'merge',
      window: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-02T00:00:00Z') },
    });
    expect(result).toEqual({ staged: 1, upserted: 1, deleted: 0 });
    expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([{ id: 'z', name: 'z' }]);
  });

  it('a CSV load job that ends in backendError is retried under a new job id and lands once', async () => {
    standin.failNext({
      method: 'POST',
      path: /^\/upload\//,
      kind: 'job',
      status: 500,
      reason: 'backendError',
      message: 'Backend error. Job aborted.',
    });
    const mark = standin.requests.length;
    const result = await loadWindow(d, {
      schema: eventsSchema(),
      batches: [{ csv: [['a', TS, 'a', '1']], schema: eventsSchema() }],
    });
    expect(result.upserted).toBe(1);
    expect(uploads(mark)).toHaveLength(2);
    expect(await h.rows('events', ['id'])).toHaveLength(1);
  });

  it('with a small stage file size each batch is its own load job, and the numbering still follows the calls', async () => {
    const small = await makeHarnessFor(target, { stageFileBytes: 1 })();
    try {
      const mark = standin.requests.length;
      await loadWindow(small.destination, {
        schema: eventsSchema(),
        batches: [
          { csv: [['a', TS, 'a c1', '1']], schema: eventsSchema() },
          [['a', TS, 'a w2', '2']],
          { csv: [['a', TS, 'a c3', '3']], schema: eventsSchema() },
        ],
      });
      expect(uploads(mark).map((r) => loadConfig(r).sourceFormat)).toEqual([
        'CSV',
        'NEWLINE_DELIMITED_JSON',
        'CSV',
      ]);
      expect(pick(await small.rows('events', ['id']), ['id', 'name'])).toEqual([{ id: 'a', name: 'a c3' }]);
    } finally {
      await small.cleanup();
    }
  });
});

describe('bigquery: a whole sync through the pass-through', () => {
  it('loads the same rows as the mapper (csv_pass_through false), with most rows encoded', async () => {
    const bq = sdk(target());
    const run = Date.now().toString(36);
    const dataset = (passThrough: boolean) => `exportsync_pass_${passThrough}_${run}`;
    try {
      await expectSameRowsBothWays({
        label: 'bigquery-pass',
        destinationYaml: (passThrough) => standin.configYaml(dataset(passThrough)),
        rows: (passThrough) => tableRows(bq, dataset(passThrough), 'scarf_events', ['id']),
      });
    } finally {
      for (const passThrough of [true, false])
        await bq
          .dataset(dataset(passThrough))
          .delete({ force: true })
          .catch(() => undefined);
    }
  });
});

describe('bigquery stagingLines', () => {
  it('prefixes each line with its sequence number across digit boundaries, keeps quoted fields and NULLs as they are', () => {
    const rows = Array.from({ length: 3 }, (_, i): Row => [`v${i}`, null]);
    const out = text(stagingLines(csvRows(rows, 2), 9, [], 'x'));
    expect(out).toBe('9,v0,\n10,v1,\n11,v2,\n');
    const quoted = raw('"a,""b""\nc",\n,\n', 2, 2);
    expect(text(stagingLines(quoted, 99, [], 'x'))).toBe('99,"a,""b""\nc",\n100,,\n');
  });

  it('measures decimal fields like digitsOf and leaves the needs untouched when the lines are refused', () => {
    const need = { intDigits: 3, scale: 1 };
    const decimals: DecimalField[] = [{ index: 1, need }];
    stagingLines(raw('a,-000123456.125\nb,"7.1234"\nc,\n', 3, 2), 1, decimals, 'x');
    expect(need).toEqual({ intDigits: 6, scale: 4 });
    const refused: DecimalField[] = [{ index: 1, need: { intDigits: 0, scale: 0 } }];
    expect(() => stagingLines(raw('a,123456789.5\nb\n', 2, 2), 1, refused, 'x')).toThrow(DestinationError);
    expect(refused[0]!.need).toEqual({ intDigits: 0, scale: 0 });
  });

  it('quotes only the unquoted fields with whitespace or a control byte at an edge, in lines among plain ones', () => {
    const lines = raw('a, b,c\n\tx,"y ",z\x01\nin ner,,q\n', 3, 3);
    expect(text(stagingLines(lines, 1, [], 'x'))).toBe('1,a," b",c\n2,"\tx","y ","z\x01"\n3,in ner,,q\n');
  });
});

describe('bigquery stand-in CSV loads', () => {
  const base = { sourceFormat: 'CSV', allowQuotedNewlines: true };
  it('parses by BigQuery\'s documented rules: NULL only for an unquoted empty field, "" inside quotes, jagged rows only when allowed', () => {
    const data = Buffer.from('1,"",x\n2,"a ""q""\nb",\n3\n');
    expect(parseCsvLoad({ ...base, allowJaggedRows: true }, data, 3)).toEqual([
      ['1', '', 'x'],
      ['2', 'a "q"\nb', null],
      ['3', null, null],
    ]);
    expect(() => parseCsvLoad(base, data, 3)).toThrow(/allowJaggedRows is false/);
    expect(() => parseCsvLoad(base, Buffer.from('1,2,3,4\n'), 3)).toThrow(/Too many values/);
  });

  it('refuses what the job did not allow and options it does not model', () => {
    expect(() => parseCsvLoad({ sourceFormat: 'CSV' }, Buffer.from('1,"a\nb"\n'), 2)).toThrow(
      /allowQuotedNewlines/,
    );
    expect(() => parseCsvLoad(base, Buffer.from('1,a\u0001\n'), 2)).toThrow(/preserveAsciiControlCharacters/);
    expect(() =>
      parseCsvLoad({ ...base, nullMarker: '\\N', autodetect: true }, Buffer.from('1,a\n'), 2),
    ).toThrow(/autodetect is not modelled/);
    expect(parseCsvLoad(base, Buffer.from('1,  padded \t\n'), 2)).toEqual([['1', 'padded']]);
  });
});
