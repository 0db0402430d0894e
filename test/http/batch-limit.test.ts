import { expect, it } from 'vitest';
import { BATCH_CELLS, batchLimit } from '../../src/http/batch-limit.js';

it('keeps batch_rows for narrow records', () => {
  expect(batchLimit(2_000, 24)).toBe(2_000);
  expect(batchLimit(10_000, 6)).toBe(10_000);
});

it('lowers the records per batch of wide records so a batch holds at most BATCH_CELLS values', () => {
  const rows = batchLimit(10_000, 252);
  expect(rows).toBe(Math.floor(BATCH_CELLS / 252));
  expect(rows * 252).toBeLessThanOrEqual(BATCH_CELLS);
  expect((rows + 1) * 252).toBeGreaterThan(BATCH_CELLS);
  expect(batchLimit(10_000, 24, 250_000)).toBe(10_000);
  expect(batchLimit(10_000, 252, 250_000)).toBe(992);
});

it('never goes below one record, whatever the width or batch_rows', () => {
  expect(batchLimit(10_000, BATCH_CELLS * 3)).toBe(1);
  expect(batchLimit(0, 10)).toBe(1);
  expect(batchLimit(0.5, 10)).toBe(1);
});

it('rounds a fractional batch_rows down and ignores a width it cannot use', () => {
  expect(batchLimit(10.9, 1)).toBe(10);
  expect(batchLimit(500, 0)).toBe(500);
  expect(batchLimit(500, Number.NaN)).toBe(500);
});
