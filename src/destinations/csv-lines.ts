/**
 * Rows → CSV lines, the one encoding every bulk path that takes CSV shares (Postgres COPY, the
 * DuckDB spool): ',' between fields, '"' quoting with '""' inside, '\n' after each line, NULL as
 * an unquoted empty field and '' as a quoted empty one, so the two are never confused. A field is
 * quoted when it holds '"', ',', CR, LF or a backslash (plain for CSV readers, but Postgres ends
 * COPY data at a `\.` line). Getting this wrong turns '' into NULL, splits a value with a line
 * break into two rows, or shifts values into the next column.
 */
import type { Row } from '../core/contracts.js';

const NEEDS_QUOTES = /[",\r\n\\]/;

export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || NEEDS_QUOTES.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One CSV line per row, padded with NULL fields to `width` (a short row means trailing NULLs). */
export function csvLine(row: Row, width: number): string {
  // an array join is several times faster than += here (V8 ropes flatten badly at this size)
  const fields = new Array<string>(width);
  for (let i = 0; i < width; i++) fields[i] = csvField(row[i] ?? null);
  return fields.join(',') + '\n';
}
