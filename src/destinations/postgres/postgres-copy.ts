/**
 * Rows → COPY FROM STDIN (CSV). CSV is used rather than text format because its NULL (an
 * unquoted empty field) and the empty string (a quoted one) cannot be confused, and backslashes
 * are plain characters. Getting the quoting wrong turns '' into NULL, splits a value with a
 * newline into two rows, or ends the data early at a `\.` line.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import type { Row } from '../../core/contracts.js';

const NEEDS_QUOTES = /[",\r\n\\]/;

export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || NEEDS_QUOTES.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One CSV line per row, padded with NULL fields to `width` (a short row means trailing NULLs). */
export function csvLine(row: Row, width: number): string {
  let line = '';
  for (let i = 0; i < width; i++) {
    if (i > 0) line += ',';
    line += csvField(row[i] ?? null);
  }
  return line + '\n';
}

/** CSV text in chunks of about `chunkBytes`, built lazily so memory stays bounded by one chunk. */
export function* csvChunks(rows: Row[], width: number, chunkBytes = 256 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += csvLine(row, width);
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Streams `rows` into `table (columnsSql)` with backpressure; resolves with the row count. */
export async function copyRows(
  client: pg.PoolClient,
  copySql: string,
  rows: Row[],
  width: number,
): Promise<number> {
  const stream = client.query(pgCopy.from(copySql));
  await pipeline(Readable.from(csvChunks(rows, width), { objectMode: false }), stream);
  return stream.rowCount;
}
