import { describe, expect, it } from 'vitest';
import { DataError, SourceError } from '../../src/core/errors.js';
import type { RecordBatch } from '../../src/core/contracts.js';
import { readCsv } from '../../src/http/csv.js';
import { chunked, collect } from './helpers.js';

async function read(
  input: string | Uint8Array,
  batchRows = 1000,
  chunkSize = 1 << 16,
): Promise<RecordBatch[]> {
  return collect(readCsv(chunked(input, chunkSize), { batchRows, stream: 'events' }));
}

/** All records and positions of all batches. */
function flat(batches: RecordBatch[]) {
  return {
    records: batches.flatMap((b) => b.records),
    positions: batches.flatMap((b) => b.positions ?? []),
    rejects: batches.flatMap((b) => b.rejects ?? []),
  };
}

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

describe('readCsv', () => {
  it('reads the header into fields and rows as arrays with 1-based line positions', async () => {
    const batches = await read('id, type ,time\n1,a,2025-01-01\n2,b,2025-01-02\n');
    expect(batches).toHaveLength(1);
    expect(batches[0]!.fields).toEqual(['id', 'type', 'time']);
    expect(batches[0]!.records).toEqual([
      ['1', 'a', '2025-01-01'],
      ['2', 'b', '2025-01-02'],
    ]);
    expect(batches[0]!.positions).toEqual([2, 3]);
  });

  it('keeps quoted commas, newlines and doubled quotes, and counts physical lines', async () => {
    const csv = 'id,ua,n\n1,"Mozilla, like Gecko","say ""hi"""\n2,"line one\nline two\nline three",x\n3,z,y';
    const { records, positions } = flat(await read(csv));
    expect(records).toEqual([
      ['1', 'Mozilla, like Gecko', 'say "hi"'],
      ['2', 'line one\nline two\nline three', 'x'],
      ['3', 'z', 'y'],
    ]);
    expect(positions).toEqual([2, 3, 6]);
  });

  it('yields batches of at most batchRows records as they parse', async () => {
    const csv = `id\n${Array.from({ length: 10 }, (_, i) => `${i}\n`).join('')}`;
    const batches = await read(csv, 3, 5);
    expect(batches.map((b) => b.records.length)).toEqual([3, 3, 3, 1]);
    expect(flat(batches).positions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('puts records with the wrong column count in rejects with line, text and error', async () => {
    const csv = 'a,b\n1,2\n1,2,3\n4\n5,6\n"x,y",7,8\n';
    const { records, positions, rejects } = flat(await read(csv));
    expect(records).toEqual([
      ['1', '2'],
      ['5', '6'],
    ]);
    expect(positions).toEqual([2, 5]);
    expect(rejects).toEqual([
      { position: 3, raw: '1,2,3', error: 'line 3: 3 fields, header has 2', values: ['1', '2', '3'] },
      { position: 4, raw: '4', error: 'line 4: 1 fields, header has 2', values: ['4'] },
      { position: 6, raw: '"x,y",7,8', error: 'line 6: 3 fields, header has 2', values: ['x,y', '7', '8'] },
    ]);
  });

  it('yields a batch holding only rejects rather than dropping them', async () => {
    const { records, rejects } = flat(await read('a,b\n1\n2\n', 1));
    expect(records).toEqual([]);
    expect(rejects.map((r) => r.position)).toEqual([2, 3]);
  });

  it('throws a DataError naming the line where an unclosed quote starts', async () => {
    const err = await dataError(read('a,b\n1,2\n3,"never closed\n4,5\n6,7\n'));
    expect(err.details).toMatchObject({ stream: 'events', line: 3 });
    expect(err.message).toMatch(/^stream events: invalid CSV at line 3: a quoted field .* never closed/);
  });

  it('lets a body failure inside an open quote surface as the retryable SourceError, not a DataError', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('a,b\n1,"half a quoted');
      throw new SourceError('response body broke off', { retryable: true });
    }
    const err = await collect(readCsv(broken(), { batchRows: 10 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(true);
  });

  it('bounds a runaway record with maxRecordBytes as a DataError', async () => {
    const csv = `a,b\n1,"${'x'.repeat(5000)}\n`;
    const err = await dataError(collect(readCsv(chunked(csv, 100), { batchRows: 10, maxRecordBytes: 1000 })));
    expect(err.details.line).toBe(2);
  });

  it('strips a UTF-8 BOM from the header, even one split across chunks', async () => {
    const csv = '\uFEFFid,name\n1,x\n';
    for (const size of [1, 2, 1 << 16]) {
      const batches = await read(csv, 10, size);
      expect(batches[0]!.fields).toEqual(['id', 'name']);
      expect(batches[0]!.records).toEqual([['1', 'x']]);
    }
  });

  it('decodes invalid UTF-8 as U+FFFD and multibyte characters split across chunks intact', async () => {
    const bytes = Buffer.concat([
      Buffer.from('a,b\n1,'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\n2,Zürich 東京\n'),
    ]);
    const { records } = flat(await read(bytes, 10, 1));
    expect(records).toEqual([
      ['1', '\uFFFD\uFFFD'],
      ['2', 'Zürich 東京'],
    ]);
  });

  it('removes NUL bytes from values and header', async () => {
    const batches = await read('a,b\u0000\n1\u0000x,"y\u0000"\n');
    expect(batches[0]!.fields).toEqual(['a', 'b']);
    expect(batches[0]!.records).toEqual([['1x', 'y']]);
  });

  it('yields nothing for a header without rows; an empty body is a retryable SourceError, never "no records"', async () => {
    expect(await read('a,b,c\n')).toEqual([]);
    for (const body of ['', '\uFEFF']) {
      const err = await read(body).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).retryable).toBe(true);
      expect((err as Error).message).toContain('expected at least the CSV header line');
    }
  });

  it('reads CRLF line endings, also inside quoted values, with correct positions', async () => {
    const csv = 'a,b\r\n1,2\r\n"x\r\ny",3\r\n4,5\r\n';
    const { records, positions } = flat(await read(csv, 10, 3));
    expect(records).toEqual([
      ['1', '2'],
      ['x\r\ny', '3'],
      ['4', '5'],
    ]);
    expect(positions).toEqual([2, 3, 5]);
  });

  it('turns empty fields into null, quoted "" included', async () => {
    const { records } = flat(await read('a,b,c\n,"",x\n'));
    expect(records).toEqual([[null, null, 'x']]);
  });

  it('skips blank lines without shifting positions', async () => {
    const { records, positions } = flat(await read('a\n\n1\n\n\n2\n\n'));
    expect(records).toEqual([['1'], ['2']]);
    expect(positions).toEqual([3, 6]);
  });

  it('gives the same result whatever the chunking of the body', async () => {
    const csv = 'id,v\r\n1,"a\r\nb"\r\n2,"c,""d"""\r\n3,\r\n4,x,extra\r\n\r\n5,é\r\n';
    const whole = await read(csv, 2, 1 << 16);
    for (const size of [1, 2, 3, 7]) expect(await read(csv, 2, size)).toEqual(whole);
    expect(flat(whole).positions).toEqual([2, 4, 5, 8]);
    expect(flat(whole).rejects.map((r) => r.position)).toEqual([6]);
  });
});
