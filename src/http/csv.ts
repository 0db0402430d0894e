/**
 * Streaming CSV → RecordBatch. Holds at most one input chunk's records beyond the batch being
 * filled, never the body. Values are strings, or null for an EMPTY field — quoted ("") or not:
 * csv-parse reports quoting only to a per-field `cast` callback (one context object per field;
 * not measured, expected to cost like `info`), so '' and NULL are not told apart here
 * (Postgres COPY would keep "" as ''; we do not).
 * Records whose field count differs from the header go to `rejects` (never thrown, never
 * dropped); the only fatal structural error is a quote still open at the end of the body (or a
 * record larger than `maxRecordBytes`), thrown as DataError naming the line the record starts.
 * Invalid UTF-8 decodes to U+FFFD; NUL bytes are removed before parsing (0x00 only ever encodes
 * U+0000 in UTF-8). Blank lines are skipped. A body without a header row yields nothing, and so
 * does a header without rows.
 *
 * Line numbers: csv-parse's `info: true` costs 35-50% throughput (measured: 56 MB, 200k
 * Scarf-shaped rows, best of 8: 2.76 s plain vs 3.95-4.17 s with info), so positions come from the live `info.lines`/`info.empty_lines` counters read when a
 * record is pushed, corrected for csv-parse counting a CRLF inside a quoted value as two lines
 * (still off by one per line in a body that mixes LF and CRLF record endings).
 * That needs csv-parse's `api.parse(buf, end, push, close)` (the core its stream wraps); its
 * presence is checked at runtime.
 */
import { Parser } from 'csv-parse';
import { DataError } from '../core/errors.js';
import type { RecordBatch } from '../core/contracts.js';

export { readJsonArray, readNdjson } from './json.js';

export interface ReadCsvOptions {
  batchRows: number;
  /** Stream name for error messages. */
  stream?: string;
  /**
   * Bytes the body may run without completing a record before it fails (bounds memory on a
   * stray quote). Checked per input slice, so it is exact to within 1 MiB. Default 64 MiB.
   */
  maxRecordBytes?: number;
}

type Reject = NonNullable<RecordBatch['rejects']>[number];

interface ParserCore {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): Error | undefined;
}

/** Pieces of input handed to the parser at once, so one huge chunk cannot flood memory with records. */
const SLICE_BYTES = 1 << 20;

function toBuffer(chunk: Uint8Array): Buffer {
  const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (buf.indexOf(0) === -1) return buf;
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) out[n++] = buf[i]!;
  return out.subarray(0, n);
}

/** CSV text of a record as parsed, for rejects (the raw bytes are not kept: that costs on every row). */
function toCsvLine(values: string[]): string {
  return values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',');
}

/** Occurrences of "\r\n" inside a record's values (csv-parse counts each as two lines). */
function crlfInside(values: string[]): number {
  let n = 0;
  for (const v of values) {
    for (let i = v.indexOf('\r\n'); i !== -1; i = v.indexOf('\r\n', i + 2)) n++;
  }
  return n;
}

export async function* readCsv(
  body: AsyncIterable<Uint8Array>,
  options: ReadCsvOptions,
): AsyncGenerator<RecordBatch> {
  const batchRows = Math.max(1, Math.floor(options.batchRows));
  const where = options.stream === undefined ? '' : `stream ${options.stream}: `;
  const parser = new Parser({
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
  const core = (parser as unknown as { api?: ParserCore }).api;
  if (core === undefined || typeof core.parse !== 'function') {
    throw new Error(
      'csv-parse internals changed: Parser.api.parse is missing (src/http/csv.ts relies on it)',
    );
  }
  const info = parser.info;

  let fields: string[] | undefined;
  let sawCR = false;
  let overcount = 0; // lines csv-parse counted twice so far
  let prevEnd = 0; // physical line where the previous record ended
  let prevEmpty = 0;
  let batch: RecordBatch | undefined;
  let size = 0;
  const ready: RecordBatch[] = [];

  const nextStart = (): number => prevEnd + 1 + (info.empty_lines - prevEmpty);

  const maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  let pushes = 0;
  let pendingBytes = 0; // bytes parsed since the last slice that completed a record

  const push = (values: string[]): void => {
    pushes++;
    const start = nextStart();
    if (sawCR) overcount += crlfInside(values);
    prevEnd = info.lines - overcount;
    prevEmpty = info.empty_lines;
    if (fields === undefined) {
      fields = values.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim());
      return;
    }
    if (batch === undefined) batch = { fields, records: [], positions: [] };
    if (values.length === fields.length) {
      for (let i = 0; i < values.length; i++) if (values[i] === '') (values as (string | null)[])[i] = null;
      batch.records.push(values);
      batch.positions!.push(start);
    } else {
      (batch.rejects ??= []).push({
        position: start,
        raw: toCsvLine(values),
        error: `line ${start}: ${values.length} fields, header has ${fields.length}`,
        values,
      } satisfies Reject);
    }
    if (++size >= batchRows) {
      ready.push(batch);
      batch = undefined;
      size = 0;
    }
  };

  const run = (buf: Buffer | undefined, end: boolean): void => {
    const err = core.parse(buf, end, push, () => undefined);
    if (err === undefined) return;
    const line = nextStart();
    const code = (err as { code?: string }).code;
    const what =
      code === 'CSV_QUOTE_NOT_CLOSED'
        ? `a quoted field opened in the record starting here is never closed (body ends at line ${info.lines - overcount})`
        : err.message;
    throw new DataError(`${where}invalid CSV at line ${line}: ${what}`, { stream: options.stream, line });
  };

  for await (const chunk of body) {
    const buf = toBuffer(chunk);
    if (!sawCR && buf.indexOf(13) !== -1) sawCR = true;
    for (let offset = 0; offset < buf.length; offset += SLICE_BYTES) {
      const slice = buf.subarray(offset, offset + SLICE_BYTES);
      const before = pushes;
      run(slice, false);
      pendingBytes = pushes > before ? 0 : pendingBytes + slice.length;
      if (pendingBytes > maxRecordBytes) {
        const line = nextStart();
        throw new DataError(
          `${where}invalid CSV at line ${line}: the record starting here runs past ${maxRecordBytes} bytes ` +
            '(an unbalanced quote?)',
          { stream: options.stream, line },
        );
      }
      while (ready.length > 0) yield ready.shift()!;
    }
  }
  run(undefined, true);
  while (ready.length > 0) yield ready.shift()!;
  if (batch !== undefined) yield batch;
}
