import { expect, it } from 'vitest';
import type { RecordBatch } from '../../src/core/contracts.js';
import { BATCH_CELLS } from '../../src/http/batch-limit.js';
import { readCsv } from '../../src/http/csv.js';
import { readJsonArray, readNdjson } from '../../src/http/json.js';
import { chunked, collect } from './helpers.js';

// Without the limit, every reader below yields one batch of all 1,000 records (batch_rows 10,000):
// 252,000 values alive at once, the shape that took a 200-dynamic-column sync to 890 MB RSS.
const WIDTH = 252;
const RECORDS = 1_000;
const PER_BATCH = Math.floor(BATCH_CELLS / WIDTH);
const names = Array.from({ length: WIDTH }, (_, i) => `f${i}`);
const values = (r: number): string[] => names.map((_, i) => `${r}-${i}`);

function expectLimited(batches: RecordBatch[]): void {
  expect(batches.map((b) => b.records.length)).toEqual(
    Array.from({ length: Math.ceil(RECORDS / PER_BATCH) }, (_, i) =>
      Math.min(PER_BATCH, RECORDS - i * PER_BATCH),
    ),
  );
  expect(batches.flatMap((b) => b.records.map((r) => r[0]))).toEqual(
    Array.from({ length: RECORDS }, (_, r) => `${r}-0`),
  );
}

it('readCsv puts at most BATCH_CELLS values in a batch of wide records', async () => {
  const body = [names, ...Array.from({ length: RECORDS }, (_, r) => values(r))]
    .map((l) => l.join(','))
    .join('\n');
  expectLimited(await collect(readCsv(chunked(body, 1 << 16), { batchRows: 10_000, stream: 's' })));
});

it('readJsonArray and readNdjson put at most BATCH_CELLS values in a batch of wide objects', async () => {
  const objects = Array.from({ length: RECORDS }, (_, r) => {
    const v = values(r);
    return Object.fromEntries(names.map((n, i) => [n, v[i]]));
  });
  const array = JSON.stringify(objects);
  expectLimited(await collect(readJsonArray(chunked(array, 1 << 16), { batchRows: 10_000, stream: 's' })));
  const lines = objects.map((o) => JSON.stringify(o)).join('\n');
  expectLimited(await collect(readNdjson(chunked(lines, 1 << 16), { batchRows: 10_000, stream: 's' })));
});
