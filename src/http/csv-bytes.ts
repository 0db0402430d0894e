/**
 * The CSV pass-through reader: readCsv when the engine offers `ReadContext.csvPassThrough`.
 * Regular records go from the response bytes straight to `CsvRows` lines through the mapper's
 * `CsvRecordWriter` (src/schema/csv-pass.ts) without becoming JS strings; every other record
 * (irregular bytes, a wrong field count, a value the writer refuses) is decoded and split exactly
 * as readCsv does and yielded as a record for the mapper. The records of a body come out in the
 * body's order, as `csv` batches and record batches.
 *
 * Why: turning text into strings, arrays and back into text was most of a sync's CPU (GC 24 %,
 * COPY encoding 19 %, splitting 16.5 % of a 1M-row Postgres load; BENCHMARKS.md).
 *
 * What must hold, or rows change or vanish: a record is encoded only after every batch before it
 * has been consumed, since the mapper may add or widen a column while mapping them (the writer
 * follows); the first `SAMPLE_RECORDS` records of a body go as records, so the first-page
 * contract check sees real values; a `csv` batch holds lines of one width.
 */
import { isUtf8 } from 'node:buffer';
import { ByteBuffer } from '../core/bytes.js';
import type { CsvPassThrough, CsvRecordSpans, CsvRecordWriter, RecordBatch } from '../core/contracts.js';
import { batchLimit } from './batch-limit.js';
import { CsvByteScanner } from './csv-scan.js';
import {
  addRecord,
  emptyBodyError,
  headerFields,
  openQuoteError,
  runawayRecordError,
  streamPrefix,
} from './csv-records.js';
import { CsvSplitter } from './csv-split.js';

/** Records of each body that always go through the mapper (the drift check reads the first batch). */
export const SAMPLE_RECORDS = 1000;
/** A `csv` batch is handed over at this size even before `batchRows` lines (bounds memory). */
const MAX_BATCH_BYTES = 16 << 20;

export interface PassThroughOptions {
  batchRows: number;
  stream?: string;
  maxRecordBytes?: number;
  passThrough: CsvPassThrough;
  /** The string reader, for a body whose header the writer does not take. */
  fallback: (body: AsyncIterable<Uint8Array>) => AsyncGenerator<RecordBatch>;
}

/** Splits one record's decoded text with readCsv's own splitter (the slow path). */
class RecordDecoder {
  private values: string[][] = [];
  private readonly splitter = new CsvSplitter((values) => this.values.push(values));

  /** The record's values, or undefined when it decodes to a blank line (NUL bytes only). */
  decode(src: Uint8Array, start: number, end: number, line: number, where: string): string[] | undefined {
    let text = Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('utf8');
    if (text.indexOf('\0') !== -1) text = text.replaceAll('\0', '');
    this.values = [];
    this.splitter.feed(text);
    this.splitter.end();
    if (this.values.length > 1) {
      throw new Error(`${where}CSV reader bug: the record at line ${line} split into ${this.values.length}`);
    }
    return this.values[0];
  }
}

export async function* readCsvPassThrough(
  body: AsyncIterable<Uint8Array>,
  options: PassThroughOptions,
): AsyncGenerator<RecordBatch> {
  const batchRows = Math.max(1, Math.floor(options.batchRows));
  const where = streamPrefix(options.stream);
  const maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  const scanner = new CsvByteScanner();
  const decoder = new RecordDecoder();
  const spans: CsvRecordSpans = {
    src: scanner.buf,
    count: 0,
    starts: scanner.starts,
    ends: scanner.ends,
    quoted: scanner.quoted,
  };
  const out = new ByteBuffer(1 << 20);

  let fields: string[] | undefined;
  let writer: CsvRecordWriter | null = null;
  let width = 0;
  /** Records per record batch: batchRows, fewer for wide records (csv batches are bounded by bytes). */
  let recordRows = batchRows;
  let lines = 0;
  let lineWidth = 0;
  let batch: RecordBatch | undefined;
  let seen = 0;
  const ready: RecordBatch[] = [];
  /** Chunks read before the header was decided: replayed to the string reader if needed. */
  let prefix: Uint8Array[] | undefined = [];

  const flushCsv = (): void => {
    if (lines === 0) return;
    const stats = writer?.takeStats?.(lineWidth);
    const keyHashes = writer?.takeKeyHashes?.();
    ready.push({
      fields: fields as string[],
      records: [],
      csv: {
        text: out.take(),
        rows: lines,
        width: lineWidth,
        // the writer's constant columns are the mapper's audit values (csv-pass.ts)
        auditFilled: true,
        ...(stats ? { stats } : {}),
        ...(keyHashes && keyHashes.length === lines ? { keyHashes } : {}),
      },
    });
    lines = 0;
  };
  const flushRecords = (): void => {
    if (batch === undefined) return;
    ready.push(batch);
    batch = undefined;
  };

  const iterator = body[Symbol.asyncIterator]();
  let final = false;
  while (!final) {
    const step = await iterator.next();
    if (step.done) final = true;
    else {
      let chunk = step.value;
      prefix?.push(chunk);
      if (
        prefix?.length === 1 &&
        chunk.length >= 3 &&
        chunk[0] === 0xef &&
        chunk[1] === 0xbb &&
        chunk[2] === 0xbf
      ) {
        chunk = chunk.subarray(3); // a leading BOM (a shorter first chunk: the header decode drops it)
      }
      // NUL goes before splitting, as in readCsv: '"a"\0"b"' is one quoted field 'a"b' there
      if (hasNul(chunk)) chunk = withoutNul(chunk);
      scanner.push(chunk);
      spans.src = scanner.buf;
    }
    while (scanner.next(final)) {
      const { recStart, recEnd, recLine } = scanner;
      if (fields === undefined) {
        const values = decoder.decode(scanner.buf, recStart, recEnd, recLine, where);
        if (values === undefined) continue;
        fields = headerFields(values);
        width = fields.length;
        recordRows = batchLimit(batchRows, width);
        writer = options.passThrough.writerFor(fields);
        if (writer === null) {
          yield* options.fallback(replay(prefix as Uint8Array[], iterator, final));
          return;
        }
        prefix = undefined;
        continue;
      }
      seen++;
      if (
        seen > SAMPLE_RECORDS &&
        scanner.count === width &&
        !scanner.irregular &&
        (!scanner.nonAscii || recEnd <= scanner.utf8End || isUtf8(scanner.buf.subarray(recStart, recEnd)))
      ) {
        if (batch !== undefined || ready.length > 0) {
          // the mapper must have seen every record before this one: it may change what the writer does
          flushCsv();
          flushRecords();
          while (ready.length > 0) yield ready.shift() as RecordBatch;
          spans.src = scanner.buf;
        }
        spans.count = scanner.count;
        spans.starts = scanner.starts;
        spans.ends = scanner.ends;
        spans.quoted = scanner.quoted;
        const w = (writer as CsvRecordWriter).width;
        if (lines > 0 && w !== lineWidth) flushCsv();
        if ((writer as CsvRecordWriter).write(spans, out)) {
          lineWidth = w;
          if (++lines >= batchRows || out.length >= MAX_BATCH_BYTES) flushCsv();
          continue;
        }
      }
      // the string path: exactly readCsv's record handling
      const values = decoder.decode(scanner.buf, recStart, recEnd, recLine, where);
      if (values === undefined) continue;
      flushCsv();
      batch ??= { fields, records: [], positions: [] };
      if (addRecord(batch, values, recLine, width) >= recordRows || seen === SAMPLE_RECORDS) flushRecords();
    }
    if (scanner.pendingBytes > maxRecordBytes) {
      throw runawayRecordError(options.stream, scanner.startLine, maxRecordBytes);
    }
    while (ready.length > 0) yield ready.shift() as RecordBatch;
  }
  if (scanner.inQuotes) throw openQuoteError(options.stream, scanner.startLine, scanner.currentLine);
  if (fields === undefined) throw emptyBodyError(options.stream);
  flushCsv();
  flushRecords();
  while (ready.length > 0) yield ready.shift() as RecordBatch;
}

/** The chunks already read, then the rest of the body. */
async function* replay(
  prefix: Uint8Array[],
  rest: AsyncIterator<Uint8Array>,
  done: boolean,
): AsyncGenerator<Uint8Array> {
  yield* prefix;
  if (done) return;
  for (;;) {
    const step = await rest.next();
    if (step.done) return;
    yield step.value;
  }
}

/**
 * Whether the chunk holds a NUL byte. Through a Buffer view: Buffer#indexOf is memchr, while a
 * plain Uint8Array's (what fetch yields) walks the bytes in a loop, ~8x the CPU on every chunk.
 */
function hasNul(chunk: Uint8Array): boolean {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).indexOf(0) !== -1;
}

function withoutNul(chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(chunk.length);
  let n = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) out[n++] = chunk[i] as number;
  return out.subarray(0, n);
}
