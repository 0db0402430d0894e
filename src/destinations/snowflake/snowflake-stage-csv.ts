/**
 * Encoded rows (`CsvRows`, the CSV pass-through) → lines of the staging file that COPY INTO loads
 * (snowflake-stage.ts), in one pass over the bytes: each line gains `,<seq>` before its line end,
 * the staging sequence number the COPY's column list puts last. The values are copied as they are:
 * the file format (CSV_FORMAT) reads the pass-through's quoting as it is written — quotes only
 * where needed, NULL an unquoted empty field, no escapes, no trimming.
 *
 * The pass checks what COPY would otherwise load wrongly without an error, or refuse far from the
 * cause: every line has `width` fields and the text is `rows` lines (else values land in the wrong
 * column or row), and quotes are well formed.
 */
import type { CsvRows } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const ZERO = 0x30;
/** Bytes that end an unquoted field's run: ',', LF, and '"' (never inside one). */
const STOP = new Uint8Array(256);
STOP[COMMA] = STOP[LF] = STOP[QUOTE] = 1;

/**
 * The staging lines of `rows`, numbered `firstSeq`, `firstSeq + 1`, …. Throws a DestinationError
 * naming `label` and the line when the text is not `rows.rows` lines of `rows.width` well-quoted
 * fields.
 */
export function sequencedLines(rows: CsvRows, firstSeq: number, label: string): Uint8Array {
  const src = rows.text;
  const n = src.length;
  const width = rows.width;
  const seqDigits = String(Math.max(firstSeq + rows.rows - 1, 1)).length;
  const out = new Uint8Array(n + rows.rows * (seqDigits + 1));
  const digits = new Uint8Array(seqDigits);
  const fail = (line: number, why: string) =>
    new DestinationError(`${label}: encoded line ${line} of ${rows.rows} ${why}; nothing staged`);
  let p = 0;
  let i = 0;
  let line = 0;
  while (i < n) {
    line++;
    if (line > rows.rows) throw fail(line, 'is past the lines claimed');
    const start = i;
    let field = 0;
    for (;;) {
      if (src[i] === QUOTE) {
        let j = i + 1;
        for (;;) {
          j = src.indexOf(QUOTE, j);
          if (j < 0) throw fail(line, 'has a quote that never closes');
          if (src[j + 1] === QUOTE) j += 2;
          else break;
        }
        i = j + 1;
        if (i < n && src[i] !== COMMA && src[i] !== LF)
          throw fail(line, `has text after the closing quote of field ${field + 1}`);
      } else {
        while (i < n && STOP[src[i] as number] === 0) i++;
        if (i < n && src[i] === QUOTE) throw fail(line, `has a quote inside unquoted field ${field + 1}`);
      }
      field++;
      if (i >= n) throw fail(line, 'has no line end');
      if (src[i] === LF) break;
      i++;
    }
    if (field !== width) throw fail(line, `has ${field} fields, not ${width}`);
    out.set(src.subarray(start, i), p);
    p += i - start;
    out[p++] = COMMA;
    let seq = firstSeq + line - 1;
    let d = seqDigits;
    do {
      digits[--d] = ZERO + (seq % 10);
      seq = Math.floor(seq / 10);
    } while (seq > 0);
    for (let k = d; k < seqDigits; k++) out[p++] = digits[k] as number;
    out[p++] = LF;
    i++;
  }
  if (line !== rows.rows) throw fail(line, `is the last, but ${rows.rows} were claimed`);
  return out.subarray(0, p);
}
