/**
 * What both CSV readers (readCsv's string path, src/http/csv.ts, and the pass-through,
 * src/http/csv-bytes.ts) do with a split record, and the errors they throw, in one place: if the
 * two drifted apart, the same body would load different rows, or fail with different messages,
 * depending on the destination.
 */
import type { RecordBatch } from '../core/contracts.js';
import { DataError, SourceError } from '../core/errors.js';
import { toCsvLine } from './csv-split.js';

type Reject = NonNullable<RecordBatch['rejects']>[number];

/** Header names: a leading BOM dropped, whitespace trimmed. */
export function headerFields(values: string[]): string[] {
  return values.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim());
}

/**
 * Adds a split record to `batch`: a record (empty values → null) when it has the header's field
 * count, else a reject keeping its text (never dropped). Returns the batch's size.
 */
export function addRecord(batch: RecordBatch, values: string[], line: number, width: number): number {
  if (values.length === width) {
    for (let i = 0; i < width; i++) if (values[i] === '') (values as (string | null)[])[i] = null;
    batch.records.push(values);
    batch.positions?.push(line);
  } else {
    (batch.rejects ??= []).push({
      position: line,
      raw: toCsvLine(values),
      error: `line ${line}: ${values.length} fields, header has ${width}`,
      values,
    } satisfies Reject);
  }
  return batch.records.length + (batch.rejects?.length ?? 0);
}

/** `stream x: ` or '' */
export function streamPrefix(stream: string | undefined): string {
  return stream === undefined ? '' : `stream ${stream}: `;
}

export function runawayRecordError(
  stream: string | undefined,
  line: number,
  maxRecordBytes: number,
): DataError {
  return new DataError(
    `${streamPrefix(stream)}invalid CSV at line ${line}: the record starting here runs past ${maxRecordBytes} bytes ` +
      '(an unbalanced quote?)',
    { stream, line },
  );
}

export function openQuoteError(stream: string | undefined, line: number, lastLine: number): DataError {
  return new DataError(
    `${streamPrefix(stream)}invalid CSV at line ${line}: a quoted field opened in the record starting here is never closed (body ends at line ${lastLine})`,
    { stream, line },
  );
}

/**
 * An export with no rows still has its header: a body without one is a glitch (a proxy, a cut
 * connection), and reading it as "no records" would move the mark past the window.
 */
export function emptyBodyError(stream: string | undefined): SourceError {
  return new SourceError(
    `${streamPrefix(stream)}the response body is empty: expected at least the CSV header line`,
    { retryable: true },
  );
}
