/**
 * Encoded rows (`CsvRows`, the CSV pass-through) → lines of the staging file that COPY INTO loads
 * (snowflake-stage.ts), in one pass over the bytes: each line gains `,<seq>` before its line end,
 * the staging sequence number the COPY's column list puts last. The values are copied as they are:
 * the file format (CSV_FORMAT) reads the pass-through's quoting as it is written — quotes only
 * where needed, NULL an unquoted empty field, no escapes, no trimming.
 *
 * The pass checks (csv-line-walk.ts) what COPY would otherwise load wrongly without an error, or
 * refuse far from the cause: every line has `width` fields and the text is `rows` lines (else
 * values land in the wrong column or row), and quotes are well formed.
 */
import type { CsvRows } from '../../core/contracts.js';
import { CsvLineWalk, putSeq, seqDigits } from '../csv-line-walk.js';

const COMMA = 0x2c;
const LF = 0x0a;

/**
 * The staging lines of `rows`, numbered `firstSeq`, `firstSeq + 1`, …. Throws a DestinationError
 * naming `label` and the line when the text is not `rows.rows` lines of `rows.width` well-quoted
 * fields (csv-line-walk.ts).
 */
export function sequencedLines(rows: CsvRows, firstSeq: number, label: string): Uint8Array {
  const src = rows.text;
  const out = new Uint8Array(src.length + rows.rows * (seqDigits(firstSeq, rows.rows) + 1));
  const walk = new CsvLineWalk(rows, label);
  let p = 0;
  while (walk.next()) {
    out.set(src.subarray(walk.start, walk.end), p);
    p += walk.end - walk.start;
    out[p++] = COMMA;
    p = putSeq(out, p, firstSeq + walk.line - 1);
    out[p++] = LF;
  }
  return out.subarray(0, p);
}
