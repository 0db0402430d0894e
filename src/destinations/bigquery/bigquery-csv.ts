/**
 * Encoded rows (`CsvRows`, the CSV pass-through) → lines of a CSV staging file for a BigQuery load
 * job, in one pass over the bytes. Each line gains the staging sequence number as its FIRST field
 * (the staging table is `_exportsync_seq` then the columns, and a CSV load maps fields to columns
 * by position), so rows staged by `write` (NDJSON) and `writeCsv` (CSV) share one numbering in call
 * order whichever load job carries them. Appending it would not work: the staging table gains
 * columns as the schema grows, and a line staged before that must end where its columns end
 * (`allowJaggedRows` makes the later ones NULL).
 *
 * The pass also checks (csv-line-walk.ts) what the load job would otherwise get wrong without an
 * error: every line has `width` fields and the text is `rows` lines (else values land in the wrong
 * column or row), and quotes are well formed. An unquoted field that starts or ends with whitespace or a control
 * byte is quoted: BigQuery has documented ignoring whitespace around unquoted CSV fields, and a
 * STRING value must keep it. Digits of decimal columns are measured here, since the target's
 * NUMERIC/BIGNUMERIC choice depends on them (too narrow a type rounds or fails the commit).
 */
import type { CsvRows } from '../../core/contracts.js';
import { CsvLineWalk, putSeq, seqDigits } from '../csv-line-walk.js';
import type { DecimalNeed } from './bigquery-types.js';

/**
 * The CSV load options for `stagingLines` files: no header, ',' and '"' with
 * '""' inside, quoted line breaks allowed, an unquoted empty field NULL (a quoted one would be ''),
 * control bytes kept as they are, lines shorter than the staging table (staged before it gained
 * columns) NULL in the rest. Every option is spelled out: a default that changed would change values.
 */
export const CSV_LOAD_OPTIONS = {
  sourceFormat: 'CSV',
  fieldDelimiter: ',',
  quote: '"',
  skipLeadingRows: 0,
  encoding: 'UTF-8',
  allowQuotedNewlines: true,
  allowJaggedRows: true,
  nullMarker: '',
  preserveAsciiControlCharacters: true,
} as const;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const DOT = 0x2e;
const ZERO = 0x30;
const MINUS = 0x2d;
const PLUS = 0x2b;

/** A decimal-typed column: its field index, and the digits its values need so far (updated). */
export interface DecimalField {
  index: number;
  need: DecimalNeed;
}

/**
 * The staging lines of `rows`, numbered `firstSeq`, `firstSeq + 1`, …; `decimals` are widened to
 * the digits of their fields. Throws a DestinationError naming `label` and the line when the text
 * is not `rows.rows` lines of `rows.width` well-quoted fields (nothing is measured then).
 */
export function stagingLines(
  rows: CsvRows,
  firstSeq: number,
  decimals: readonly DecimalField[],
  label: string,
): Uint8Array {
  const src = rows.text;
  const width = rows.width;
  // worst case: the sequence and a ',' per line, two quotes per unquoted field
  const out = new Uint8Array(src.length + rows.rows * (seqDigits(firstSeq, rows.rows) + 1 + 2 * width));
  const measured = decimals.map(() => ({ intDigits: 0, scale: 0 }));
  const walk = new CsvLineWalk(rows, label);
  const spans = walk.spans;
  let p = 0;
  while (walk.next()) {
    p = putSeq(out, p, firstSeq + walk.line - 1);
    out[p++] = COMMA;
    if (walk.edged === 0) p = copy(out, p, src, walk.start, walk.end);
    else
      for (let f = 0; f < width; f++) {
        const a = spans[2 * f] as number;
        const b = spans[2 * f + 1] as number;
        if (f > 0) out[p++] = COMMA;
        // whitespace or a control byte at an edge: quoted, so no reader trims it
        if (edged(src, a, b)) out[p++] = QUOTE;
        p = copy(out, p, src, a, b);
        if (edged(src, a, b)) out[p++] = QUOTE;
      }
    out[p++] = LF;
    for (let k = 0; k < decimals.length; k++) {
      const f = (decimals[k] as DecimalField).index;
      if (f >= width) continue;
      const a = spans[2 * f] as number;
      const b = spans[2 * f + 1] as number;
      const q = src[a] === QUOTE ? 1 : 0; // a quoted field's digits are inside its quotes
      if (b - a > 2 * q) widen(measured[k]!, src, a + q, b - q);
    }
  }
  decimals.forEach((dec, k) => {
    dec.need.intDigits = Math.max(dec.need.intDigits, measured[k]!.intDigits);
    dec.need.scale = Math.max(dec.need.scale, measured[k]!.scale);
  });
  return out.subarray(0, p);
}

/** Whether field `src[a, b)` is unquoted and starts or ends with whitespace or a control byte. */
function edged(src: Uint8Array, a: number, b: number): boolean {
  return b > a && src[a] !== QUOTE && ((src[a] as number) <= 0x20 || (src[b - 1] as number) <= 0x20);
}

/** Copies `src[a, b)` to `out[p]`; returns the end. Short runs by byte: a view per field costs more. */
function copy(out: Uint8Array, p: number, src: Uint8Array, a: number, b: number): number {
  if (b - a < 64) {
    for (let k = a; k < b; k++) out[p++] = src[k] as number;
    return p;
  }
  out.set(src.subarray(a, b), p);
  return p + b - a;
}

/** digitsOf (bigquery-types.ts) on bytes: integer digits without leading zeros, fraction digits. */
function widen(need: DecimalNeed, src: Uint8Array, a: number, b: number): void {
  let k = a;
  if (src[k] === MINUS || src[k] === PLUS) k++;
  while (k < b && src[k] === ZERO) k++;
  const intStart = k;
  while (k < b && src[k] !== DOT) k++;
  if (k - intStart > need.intDigits) need.intDigits = k - intStart;
  if (k < b) {
    const fracStart = ++k;
    while (k < b && src[k] !== DOT) k++;
    if (k - fracStart > need.scale) need.scale = k - fracStart;
  }
}
