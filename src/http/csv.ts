/**
 * Streaming CSV → RecordBatch. Holds at most one input slice's records beyond the batch being
 * filled, never the body. Values are strings, or null for an EMPTY field — quoted ("") or not
 * (Postgres COPY would keep "" as ''; we do not).
 * Records whose field count differs from the header go to `rejects` (never thrown, never
 * dropped); the only fatal structural error is a quote still open at the end of the body (or a
 * record larger than `maxRecordBytes`), thrown as DataError naming the line the record starts.
 * Invalid UTF-8 decodes to U+FFFD; NUL characters are removed (0x00 only ever encodes U+0000 in
 * UTF-8); a leading BOM is dropped. Blank lines are skipped. A body without a header row yields
 * nothing, and so does a header without rows. Positions are physical lines (LF, CRLF and a lone
 * CR each end one), counted exactly also inside quoted values.
 *
 * Splitting is src/http/csv-split.ts (hand-written for speed; csv-parse was 40–45% of a sync's
 * CPU, see its header).
 */
import type { CsvPassThrough, RecordBatch } from '../core/contracts.js';
import { batchLimit } from './batch-limit.js';
import { readCsvPassThrough } from './csv-bytes.js';
import {
  addRecord,
  emptyBodyError,
  headerFields,
  openQuoteError,
  runawayRecordError,
} from './csv-records.js';
import { CsvSplitter } from './csv-split.js';

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
  /**
   * `ReadContext.csvPassThrough`, passed on by readers whose records go to the mapper unchanged:
   * regular records then skip the mapper (src/http/csv-bytes.ts).
   */
  passThrough?: CsvPassThrough;
}

/** Pieces of input handed to the parser at once, so one huge chunk cannot flood memory with records. */
const SLICE_BYTES = 1 << 20;

/**
 * Bytes → text without a character ever split across two calls. Not StringDecoder: it returns a
 * cons string (leftover + rest) whenever a chunk ends mid-character, and V8 re-flattens a cons
 * string on every indexOf — the splitter's indexOf-per-field then went quadratic (36 s of a 1M-row
 * load). Invalid bytes decode to U+FFFD as Buffer#toString does.
 */
class Utf8Text {
  private rest: Buffer | undefined;

  write(buf: Buffer): string {
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, buf]);
      this.rest = undefined;
    }
    const cut = completeUpTo(buf);
    if (cut < buf.length) this.rest = Buffer.from(buf.subarray(cut));
    return buf.toString('utf8', 0, cut);
  }

  end(): string {
    const rest = this.rest;
    this.rest = undefined;
    return rest === undefined ? '' : rest.toString('utf8');
  }
}

/** Length of the longest prefix of `buf` that does not end inside a UTF-8 sequence. */
function completeUpTo(buf: Buffer): number {
  const n = buf.length;
  // a sequence is at most 4 bytes: look back at most 3 for its lead byte
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = buf[n - back]!;
    if (b < 0x80) return n; // ASCII: nothing open
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? n - back : n;
    }
  }
  return n; // continuation bytes without a lead in reach: invalid anyway, decode as is
}

export async function* readCsv(
  body: AsyncIterable<Uint8Array>,
  options: ReadCsvOptions,
): AsyncGenerator<RecordBatch> {
  if (options.passThrough !== undefined) {
    const stringOptions = { ...options, passThrough: undefined };
    yield* readCsvPassThrough(body, {
      ...options,
      passThrough: options.passThrough,
      fallback: (rest) => readCsv(rest, stringOptions),
    });
    return;
  }
  let batchRows = Math.max(1, Math.floor(options.batchRows));
  const maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;

  let fields: string[] | undefined;
  let width = 0;
  let batch: RecordBatch | undefined;
  let pushes = 0;
  const ready: RecordBatch[] = [];

  const splitter = new CsvSplitter((values, line) => {
    pushes++;
    if (fields === undefined) {
      fields = headerFields(values);
      width = fields.length;
      batchRows = batchLimit(batchRows, width);
      return;
    }
    batch ??= { fields, records: [], positions: [] };
    if (addRecord(batch, values, line, width) >= batchRows) {
      ready.push(batch);
      batch = undefined;
    }
  });

  const decoder = new Utf8Text();
  let started = false;
  let pendingBytes = 0; // bytes read since the last slice that completed a record
  const feed = (text: string): void => {
    if (text.length === 0) return;
    if (text.indexOf('\0') !== -1) text = text.replaceAll('\0', '');
    if (!started) {
      started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    splitter.feed(text);
  };

  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let offset = 0; offset < buf.length; offset += SLICE_BYTES) {
      const slice = buf.subarray(offset, offset + SLICE_BYTES);
      const before = pushes;
      feed(decoder.write(slice));
      pendingBytes = pushes > before ? 0 : pendingBytes + slice.length;
      if (pendingBytes > maxRecordBytes) {
        throw runawayRecordError(options.stream, splitter.startLine, maxRecordBytes);
      }
      while (ready.length > 0) yield ready.shift()!;
    }
  }
  feed(decoder.end());
  if (splitter.inQuotes) {
    throw openQuoteError(options.stream, splitter.startLine, splitter.currentLine);
  }
  splitter.end();
  if (fields === undefined) throw emptyBodyError(options.stream);
  while (ready.length > 0) yield ready.shift()!;
  if (batch !== undefined) yield batch;
}
