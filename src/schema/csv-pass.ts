/**
 * The mapper's half of the CSV pass-through: a `CsvRecordWriter` that turns one regular CSV record
 * (byte spans, src/http/csv-scan.ts) into the `CsvRows` line the mapper's Row would have become,
 * in table column order, or refuses it. It reads the mapper's live state — the header's field →
 * column plan, the column types, the audit values — and rebuilds its tables whenever that state
 * moved (a column added or widened, a new field resolved), which only happens while the mapper
 * maps refused records.
 *
 * It refuses (the record then goes through `RowMapper.map`, the authority) whenever the mapper
 * would do anything but copy or respell a value: a value for a field that is not a column yet or
 * goes to `_extra`, a value its column's byte canonicalizer does not take (src/schema/
 * canonical-bytes.ts: would widen, misfit, or needs the string path), an empty merge key or
 * replace_window cursor (the mapper throws the DataError naming the line). If it accepted any of
 * these, a row would load without its `_extra`, with a wrong type, or without the error.
 *
 * It also measures the lines it writes (csv-pass-stats.ts), fetched with `takeStats` whenever the
 * reader hands lines over, so a destination can size DECIMAL columns without reading them again.
 */
import { keyHashAdd, keyHashEnd, keyHashStart } from '../core/key-hash.js';
import type { ByteSink, CsvRecordSpans, CsvRecordWriter, Row } from '../core/contracts.js';
import type { ColumnSet } from './columns.js';
import {
  dynamicByteCanonicalizer,
  fixedByteCanonicalizer,
  type ByteCanonicalizer,
} from './canonical-bytes.js';
import {
  ALWAYS_NULL,
  DECIMAL_DIGITS,
  INTEGER_DIGITS,
  PassStats,
  UNMEASURED,
  type CsvLineStats,
} from './csv-pass-stats.js';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;

/** What the writer reads of the mapper (RowMapper implements it). */
export interface PassSource {
  readonly cols: ColumnSet;
  /** The primary key's columns, in key order (hashed per line: `CsvRows.keyHashes`). */
  readonly keyColumns: readonly number[];
  /** NULLs plus the audit values every row starts with. */
  readonly template: Row;
  /** Columns that must be non-empty (merge key, replace_window cursor). */
  readonly requiredColumns: readonly number[];
  /** Changes whenever a column is added or widened or a field of any plan is resolved. */
  revision(): number;
}

/** Column kinds in a line. */
const NULL_COLUMN = 0;
const CONSTANT = 1;
const COPY = 2;
const CANONICAL = 3;
/** A column with a field whose values this writer cannot take: only an empty value passes. */
const REFUSE = 4;

const encoder = new TextEncoder();
const COMMA_BYTES = Uint8Array.of(COMMA);

/** CSV bytes of a constant cell (the audit values), quoted when it needs to be. */
function constantBytes(value: string): Uint8Array {
  return encoder.encode(/[",\r\n]/.test(value) || value === '' ? `"${value.replace(/"/g, '""')}"` : value);
}

/**
 * Whether fields `first..last` can be copied as one span: none of them is a quoted empty value
 * (`""`), which the line must spell as NULL (nothing) where its source bytes would load ''.
 */
function copyRun(
  starts: Int32Array,
  ends: Int32Array,
  quoted: Uint8Array,
  first: number,
  last: number,
): boolean {
  for (let j = first; j <= last; j++) if (starts[j] === ends[j] && quoted[j] === 1) return false;
  return true;
}

/** A DataView of exactly `bytes`. */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Copies src[a, b) into dst at p and returns the position after it; `sv` and `dv` view the same
 * bytes as `src` and `dst`. Four bytes a step through the views: a value here is a few to a
 * hundred bytes, where a byte loop costs ~3× as much and `subarray` + `set` allocates a view per call.
 */
function copySpan(
  dst: Uint8Array,
  dv: DataView,
  p: number,
  src: Uint8Array,
  sv: DataView,
  a: number,
  b: number,
): number {
  if (b - a >= 256) {
    dst.set(src.subarray(a, b), p);
    return p + b - a;
  }
  let i = a;
  for (; i + 4 <= b; i += 4, p += 4) dv.setInt32(p, sv.getInt32(i, true), true);
  for (; i < b; i++) dst[p++] = src[i] as number;
  return p;
}

export class CsvPassWriter implements CsvRecordWriter {
  private lineWidth = 0;
  private rev = -1;
  private kinds = new Uint8Array(0);
  private fieldOf = new Int32Array(0);
  private canon: Array<ByteCanonicalizer | null> = [];
  private constants: Array<Uint8Array | null> = [];
  private constantViews: Array<DataView | null> = [];
  private constantBytes = 0;
  /** Fields that are no column (PENDING, `_extra`): they must be empty. */
  private mustBeEmpty = new Int32Array(0);
  /** Fields that must not be empty (merge key, replace_window cursor). */
  private mustHave = new Int32Array(0);
  /** Whether a required column has no field in this header (every record refused). */
  private impossible = false;
  /**
   * Per COPY column: how many columns from it on are COPY columns of consecutive fields (1 when
   * the next one is not). Such a run's line text is the source bytes from its first field's
   * opening quote to its last field's closing quote, separators included, so it is copied at once.
   */
  private runs = new Int32Array(0);
  private readonly stats = new PassStats();
  /** Fields of the key columns, or null when a key column is not copied as is (not hashable). */
  private keyFields: Int32Array | null = null;
  private hashes = new Float64Array(1024);
  private hashCount = 0;
  /** A line was written while the key was not hashable: this batch has no hashes. */
  private hashGap = false;
  private readonly lanes = keyHashStart();
  /** Views of the last record's source bytes and of the line buffer, made again when either moves. */
  private srcBytes: Uint8Array | null = null;
  private srcView: DataView = new DataView(new ArrayBuffer(0));
  private outBytes: Uint8Array | null = null;
  private outView: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    private readonly source: PassSource,
    /** The plan's live field → column slots (negative: not a column). */
    private readonly slots: Int32Array,
  ) {
    this.rebuild();
  }

  private rebuild(): void {
    const { cols, template, requiredColumns } = this.source;
    const width = cols.length;
    this.lineWidth = width;
    this.kinds = new Uint8Array(width);
    this.fieldOf = new Int32Array(width).fill(-1);
    this.canon = new Array<ByteCanonicalizer | null>(width).fill(null);
    this.constants = new Array<Uint8Array | null>(width).fill(null);
    this.constantBytes = 0;
    const empty: number[] = [];
    this.slots.forEach((slot, j) => {
      if (slot < 0 || slot >= width) empty.push(j);
      else this.fieldOf[slot] = j;
    });
    for (let c = 0; c < width; c++) {
      const j = this.fieldOf[c] as number;
      if (j < 0) {
        const value = template[c];
        if (value === null || value === undefined) continue;
        const bytes = constantBytes(value);
        this.kinds[c] = CONSTANT;
        this.constants[c] = bytes;
        this.constantBytes += bytes.length;
        continue;
      }
      const type = cols.columns[c]?.type ?? 'string';
      if (type === 'string') {
        this.kinds[c] = COPY;
        continue;
      }
      const canon = cols.fixed[c] ? fixedByteCanonicalizer(type) : dynamicByteCanonicalizer(type);
      this.kinds[c] = canon === null ? REFUSE : CANONICAL;
      this.canon[c] = canon;
    }
    this.mustBeEmpty = Int32Array.from(empty);
    this.impossible = requiredColumns.some((c) => (this.fieldOf[c] ?? -1) < 0);
    this.mustHave = Int32Array.from(requiredColumns.map((c) => this.fieldOf[c] ?? -1).filter((j) => j >= 0));
    for (let c = 0; c < width; c++) if (this.kinds[c] === NULL_COLUMN) this.fieldOf[c] = -1;
    this.runs = new Int32Array(width);
    for (let c = width - 1; c >= 0; c--) {
      if (this.kinds[c] !== COPY) continue;
      const next =
        c + 1 < width && this.kinds[c + 1] === COPY && this.fieldOf[c + 1] === this.fieldOf[c]! + 1;
      this.runs[c] = next ? this.runs[c + 1]! + 1 : 1;
    }
    // a stretch of constant columns (NULL ones between them) is one text, its commas included;
    // `runs` of its first column counts the columns it covers
    this.constantViews = new Array<DataView | null>(width).fill(null);
    for (let c = 0; c < width; c++) {
      if (this.kinds[c] !== CONSTANT) continue;
      let e = c;
      for (let k = c + 1; k < width && this.kinds[k] !== COPY && this.kinds[k] !== CANONICAL; k++) {
        if (this.kinds[k] === REFUSE) break;
        if (this.kinds[k] === CONSTANT) e = k;
      }
      const parts: Uint8Array[] = [];
      for (let k = c; k <= e; k++) {
        if (k > c) parts.push(COMMA_BYTES);
        const bytes = this.constants[k];
        if (bytes) parts.push(bytes);
      }
      const text = Buffer.concat(parts);
      this.constants[c] = text;
      this.constantViews[c] = viewOf(text);
      this.runs[c] = e - c + 1;
      c = e;
    }
    const measure = new Uint8Array(width);
    for (let c = 0; c < width; c++) {
      const kind = this.kinds[c];
      const type = cols.columns[c]?.type;
      measure[c] =
        kind === NULL_COLUMN || kind === REFUSE // only an empty value passes: NULL
          ? ALWAYS_NULL
          : kind === CANONICAL && type === 'integer'
            ? INTEGER_DIGITS
            : kind === CANONICAL && type === 'decimal'
              ? DECIMAL_DIGITS
              : UNMEASURED;
    }
    this.stats.plan(measure);
    // a string key column copied from its field hashes the field's bytes; any other key column
    // (respelled, constant, absent) is not hashed
    const keyFields = this.source.keyColumns.map((c) =>
      this.kinds[c] === COPY ? (this.fieldOf[c] as number) : -1,
    );
    this.keyFields =
      keyFields.length > 0 && keyFields.every((j) => j >= 0) ? Int32Array.from(keyFields) : null;
    this.rev = this.source.revision();
  }

  /** `CsvRecordWriter.takeKeyHashes`. */
  takeKeyHashes(): Float64Array | undefined {
    const out = this.hashGap ? undefined : this.hashes.slice(0, this.hashCount);
    this.hashCount = 0;
    this.hashGap = false;
    return out;
  }

  private hashKey(r: CsvRecordSpans): void {
    const fields = this.keyFields;
    if (fields === null) {
      this.hashGap = true;
      return;
    }
    const l = this.lanes;
    l.set(keyHashStart());
    for (let k = 0; k < fields.length; k++) {
      const j = fields[k] as number;
      keyHashAdd(l, r.src, r.starts[j] as number, r.ends[j] as number, r.quoted[j] === 1);
    }
    if (this.hashCount === this.hashes.length) {
      const grown = new Float64Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.hashCount++] = keyHashEnd(l);
  }

  /**
   * What the lines written since the last call measured (`CsvRows.stats` of a batch whose lines
   * are `width` wide), and starts measuring afresh. Call it whenever the lines so far are handed over.
   */
  takeStats(width: number): CsvLineStats {
    if (this.rev !== this.source.revision()) this.rebuild();
    return this.stats.take(width);
  }

  /** The width of the next line: follows the mapper's columns as they are now. */
  get width(): number {
    if (this.rev !== this.source.revision()) this.rebuild();
    return this.lineWidth;
  }

  write(r: CsvRecordSpans, out: ByteSink): boolean {
    if (this.rev !== this.source.revision()) this.rebuild();
    if (this.impossible) return false;
    const { src, starts, ends, quoted } = r;
    for (let k = 0; k < this.mustBeEmpty.length; k++) {
      const j = this.mustBeEmpty[k] as number;
      if ((ends[j] as number) > (starts[j] as number)) return false;
    }
    for (let k = 0; k < this.mustHave.length; k++) {
      const j = this.mustHave[k] as number;
      if ((ends[j] as number) === (starts[j] as number)) return false;
    }
    const width = this.lineWidth;
    const start = out.length;
    // room for the record's bytes with quotes, respelled values (a timestamp grows to 27 bytes),
    // separators, the constants and the line end
    const bound = (ends[r.count - 1] as number) - (starts[0] as number) + 36 * width + this.constantBytes + 2;
    let buf = out.reserve(bound);
    if (buf !== this.outBytes) this.outView = viewOf((this.outBytes = buf));
    let dv = this.outView;
    if (src !== this.srcBytes) this.srcView = viewOf((this.srcBytes = src));
    const sv = this.srcView;
    let p = start;
    const kinds = this.kinds;
    const fieldOf = this.fieldOf;
    const runs = this.runs;
    const stats = this.stats;
    stats.startLine();
    for (let c = 0; c < width; c++) {
      if (c > 0) buf[p++] = COMMA;
      const kind = kinds[c] as number;
      if (kind === NULL_COLUMN) continue;
      if (kind === CONSTANT) {
        const bytes = this.constants[c] as Uint8Array;
        p = copySpan(buf, dv, p, bytes, this.constantViews[c] as DataView, 0, bytes.length);
        c += (runs[c] as number) - 1;
        continue;
      }
      const j = fieldOf[c] as number;
      const a = starts[j] as number;
      const b = ends[j] as number;
      if (a === b) continue; // empty, quoted or not: NULL (a run then starts at the next column)
      if (kind === COPY) {
        const n = runs[c] as number;
        if (n > 1 && copyRun(starts, ends, quoted, j, j + n - 1)) {
          // the fields' own bytes: each quoted one keeps its quotes, the commas between them are the line's
          const from = (starts[j] as number) - (quoted[j] as number);
          const to = (ends[j + n - 1] as number) + (quoted[j + n - 1] as number);
          p = copySpan(buf, dv, p, src, sv, from, to);
          c += n - 1;
          continue;
        }
        const q = quoted[j] === 1;
        if (q) buf[p++] = QUOTE;
        p = copySpan(buf, dv, p, src, sv, a, b);
        if (q) buf[p++] = QUOTE;
        continue;
      }
      if (kind === REFUSE) {
        out.length = start;
        return false;
      }
      out.length = p;
      if (!(this.canon[c] as ByteCanonicalizer)(src, a, b, out)) {
        out.length = start;
        return false;
      }
      const v = p;
      p = out.length;
      buf = out.reserve(bound - (p - start));
      if (buf !== this.outBytes) this.outView = viewOf((this.outBytes = buf));
      dv = this.outView;
      stats.value(c, buf, v, p);
    }
    buf[p++] = LF;
    out.length = p;
    stats.endLine(p - start);
    this.hashKey(r);
    return true;
  }
}
