import { describe, expect, it } from 'vitest';
import { DataError, SourceError } from '../../src/core/errors.js';
import type { RecordBatch } from '../../src/core/contracts.js';
import { parseJsonLossless, readJsonArray, readNdjson } from '../../src/http/json.js';
import { chunked, collect } from './helpers.js';

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

const ndjson = (text: string, batchRows = 100, size = 1 << 16): Promise<RecordBatch[]> =>
  collect(readNdjson(chunked(text, size), { batchRows, stream: 'aggregates' }));
const jsonArray = (text: string, batchRows = 100, size = 1 << 16): Promise<RecordBatch[]> =>
  collect(readJsonArray(chunked(text, size), { batchRows, stream: 'events' }));

describe('parseJsonLossless', () => {
  it('keeps numbers a double would alter as their exact text and others as numbers', () => {
    expect(
      parseJsonLossless('{"a":9007199254740993,"b":1.10,"c":42,"d":0.5,"e":"12345678901234567890","f":1e5}'),
    ).toEqual({
      a: '9007199254740993',
      b: '1.10',
      c: 42,
      d: 0.5,
      e: '12345678901234567890',
      f: '1e5',
    });
  });

  it('removes NUL characters from strings', () => {
    expect(parseJsonLossless('{"a":"x\\u0000y"}')).toEqual({ a: 'xy' });
  });
});

describe('readNdjson', () => {
  it('yields batches whose fields are the union of keys, missing keys null, objects kept', async () => {
    const text = '{"date":"2025-01-01","total":3}\n\n{"date":"2025-01-02","country":"DE","meta":{"x":[1]}}\n';
    const batches = await ndjson(text, 100, 7);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toEqual({
      fields: ['date', 'total', 'country', 'meta'],
      records: [
        ['2025-01-01', 3, null, null],
        ['2025-01-02', null, 'DE', { x: [1] }],
      ],
      positions: [1, 3],
    });
  });

  it('batches by batchRows and reads a last line without newline', async () => {
    const text = Array.from({ length: 5 }, (_, i) => JSON.stringify({ i })).join('\r\n');
    const batches = await ndjson(text, 2, 3);
    expect(batches.map((b) => b.records.length)).toEqual([2, 2, 1]);
    expect(batches.flatMap((b) => b.records)).toEqual([[0], [1], [2], [3], [4]]);
  });

  it('throws a DataError naming the line of broken JSON or a non-object', async () => {
    expect((await dataError(ndjson('{"a":1}\n{"a":\n'))).details).toMatchObject({
      line: 2,
      stream: 'aggregates',
    });
    const err = await dataError(ndjson('{"a":1}\n[1,2]\n'));
    expect(err.message).toBe('stream aggregates: line 2 is not a JSON object');
  });
});

describe('readJsonArray', () => {
  const events = [
    { id: '1', tricky: 'a "quoted" ] } [ { , string\\', n: '12345678901234567890' },
    { id: '2', nested: { list: [[1, 2], { deep: [] }] } },
    { id: '3' },
  ];
  const body = JSON.stringify(events).replace('"12345678901234567890"', '12345678901234567890');

  it('streams a top-level array, whatever the chunking, numbers lossless', async () => {
    const whole = await jsonArray(body);
    expect(whole[0]!.fields).toEqual(['id', 'tricky', 'n', 'nested']);
    expect(whole[0]!.records[0]).toEqual([
      '1',
      'a "quoted" ] } [ { , string\\',
      '12345678901234567890',
      null,
    ]);
    expect(whole[0]!.records[1]![3]).toEqual({ list: [[1, 2], { deep: [] }] });
    expect(whole[0]!.positions).toEqual([1, 2, 3]);
    for (const size of [1, 2, 5]) expect(await jsonArray(body, 100, size)).toEqual(whole);
  });

  it('streams the array wrapped in an object, ignoring scalar members', async () => {
    const wrapped = `{"count": 3, "meta": {"a": 1}, "events": ${body} , "done": true}`;
    for (const size of [1, 3, 1 << 16]) {
      const batches = await jsonArray(wrapped, 2, size);
      expect(batches.map((b) => b.records.length)).toEqual([2, 1]);
      expect(batches.flatMap((b) => b.records).map((r) => r[0])).toEqual(['1', '2', '3']);
    }
  });

  it('yields nothing for an empty array; an empty body is a retryable SourceError, never "no records"', async () => {
    for (const body of ['', ' \n ']) {
      const err = await jsonArray(body).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).retryable).toBe(true);
      expect((err as Error).message).toContain('the response body is empty');
    }
    expect(await jsonArray(' [ ] ')).toEqual([]);
    expect(await jsonArray('{"events":[]}')).toEqual([]);
  });

  it('throws a DataError for a truncated body, two arrays, no array or a non-object element', async () => {
    expect((await dataError(jsonArray('[{"a":1},{"a":'))).message).toContain(
      'ends early (after 1 complete elements)',
    );
    expect((await dataError(jsonArray('{"a":[{"x":1}],"b":[]}'))).message).toContain('more than one array');
    expect((await dataError(jsonArray('{"a":1}'))).message).toContain('found no array');
    expect((await dataError(jsonArray('"text"'))).message).toContain('expected a JSON array');
    expect((await dataError(jsonArray('[{"a":1}, 7]'))).message).toBe(
      'stream events: element 2 is not a JSON object',
    );
    expect((await dataError(jsonArray('[{"a":1} {"b":2}]'))).message).toContain(
      'missing comma before element 2',
    );
    expect((await dataError(jsonArray('[{"a":1},,{"b":2}]'))).message).toContain('unexpected comma');
    expect((await dataError(jsonArray('[{"a":1},]'))).message).toContain('trailing comma');
    expect((await dataError(jsonArray('[{"a":1},{"a":tru}]'))).details.line).toBe(2);
  });
});
