/**
 * Encoded rows (`CsvRows`, the CSV pass-through) → lines of a CSV staging file for a BigQuery load
 * job, in one pass over the bytes. Each line gains the staging sequence number as its FIRST field
 * (the staging table is `_exportsync_seq` then the columns, and a CSV load maps fields to columns
 * by position), so rows staged by `write` (NDJSON) and `writeCsv` (CSV) share one numbering in call
 * order whichever load job carries them. Appending it would not work: the staging table gains
 * columns as the schema grows, and a line staged before that must end where its columns end
 * (`allowJaggedRows` makes the later ones NULL).
 *
 * The pass also checks what the load job would otherwise get wrong without an error: every line
 * has `width` fields and the text is `rows` lines (else values land in the wrong column or row),
 * and quotes are well formed. An unquoted field that starts or ends with whitespace or a control
 * byte is quoted: BigQuery has documented ignoring whitespace around unquoted CSV fields, and a
 * STRING value must keep it. Digits of decimal columns are measured here, since the target's
 * NUMERIC/BIGNUMERIC choice depends on them (too narrow a type rounds or fails the commit).
 */
import type { CsvRows } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
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
/** Bytes that end an unquoted field's run: ',', LF, and '"' (never inside one). */
const STOP = new Uint8Array(256);
STOP[COMMA] = STOP[LF] = STOP[QUOTE] = 1;

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
  const n = src.length;
  const width = rows.width;
  const lastSeq = firstSeq + rows.rows - 1;
  const seqDigits = String(Math.max(lastSeq, 1)).length;
  // worst case: the sequence and a ',' per line, two quotes per unquoted field
  const out = new Uint8Array(n + rows.rows * (seqDigits + 1 + 2 * width));
  const digits = new Uint8Array(seqDigits);
  const measured = decimals.map(() => ({ intDigits: 0, scale: 0 }));
  const decimalAt = new Int32Array(width).fill(-1);
  decimals.forEach((d, k) => {
    if (d.index < width) decimalAt[d.index] = k;
  });
  const fail = (line: number, why: string) =>
    new DestinationError(`${label}: encoded line ${line} of ${rows.rows} ${why}; nothing staged`);
  let p = 0;
  let i = 0;
  let line = 0;
  while (i < n) {
    line++;
    if (line > rows.rows) throw fail(line, 'is past the lines claimed');
    // the sequence number, then ','
    let seq = firstSeq + line - 1;
    let d = seqDigits;
    do {
      digits[--d] = ZERO + (seq % 10);
      seq = Math.floor(seq / 10);
    } while (seq > 0);
    for (let k = d; k < seqDigits; k++) out[p++] = digits[k] as number;
    out[p++] = COMMA;
    let field = 0;
    for (;;) {
      let a: number;
      let b: number;
      if (src[i] === QUOTE) {
        a = i + 1;
        let j = a;
        for (;;) {
          j = src.indexOf(QUOTE, j);
          if (j < 0) throw fail(line, 'has a quote that never closes');
          if (src[j + 1] === QUOTE) j += 2;
          else break;
        }
        b = j;
        i = j + 1;
        if (i < n && src[i] !== COMMA && src[i] !== LF)
          throw fail(line, `has text after the closing quote of field ${field + 1}`);
        if (i - a < 64) for (let k = a - 1; k < i; k++) out[p++] = src[k] as number;
        else {
          out.set(src.subarray(a - 1, i), p);
          p += i - a + 1;
        }
      } else {
        a = i;
        const q = p;
        let c = 0;
        while (i < n && STOP[(c = src[i] as number)] === 0) {
          out[p++] = c;
          i++;
        }
        b = i;
        if (i < n && c === QUOTE) throw fail(line, `has a quote inside unquoted field ${field + 1}`);
        if (b > a && ((src[a] as number) <= 0x20 || (src[b - 1] as number) <= 0x20)) {
          // whitespace or a control byte at an edge: quoted, so no reader trims it
          out.copyWithin(q + 1, q, p);
          out[q] = QUOTE;
          p++;
          out[p++] = QUOTE;
        }
      }
      const k = field < width ? (decimalAt[field] as number) : -1;
      if (k >= 0 && b > a) widen(measured[k]!, src, a, b);
      field++;
      if (i >= n) throw fail(line, 'has no line end');
      if (src[i] === LF) break;
      out[p++] = COMMA;
      i++;
    }
    if (field !== width) throw fail(line, `has ${field} fields, not ${width}`);
    out[p++] = LF;
    i++;
  }
  if (line !== rows.rows) throw fail(line, `is the last, but ${rows.rows} were claimed`);
  decimals.forEach((dec, k) => {
    dec.need.intDigits = Math.max(dec.need.intDigits, measured[k]!.intDigits);
    dec.need.scale = Math.max(dec.need.scale, measured[k]!.scale);
  });
  return out.subarray(0, p);
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
