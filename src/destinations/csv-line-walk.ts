/**
 * The line check that staging encoded rows (`CsvRows`, the CSV pass-through) needs before a
 * warehouse loads them, in one pass over the bytes: the text is `rows.rows` lines, each of
 * `rows.width` fields, quotes well formed ('""' inside a quoted field, nothing after its closing
 * quote, none inside an unquoted one), every line ending in LF. A load that got a line with a field
 * too few or too many, or one line too many, would put values in the wrong column or row without
 * an error; a stray quote would be refused by the warehouse far from the cause, or read as another
 * value. Used by bigquery-csv.ts and snowflake-stage-csv.ts, which copy each checked line into
 * their staging file with a sequence number (`putSeq`).
 *
 * Errors are DestinationErrors `<label>: encoded line <n> of <rows> <why>; nothing staged`, thrown
 * before the line is handed out: a caller that stages only after the walk ends stages nothing of a
 * malformed batch.
 */
import type { CsvRows } from '../core/contracts.js';
import { DestinationError } from '../core/errors.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const ZERO = 0x30;
/** Bytes that end an unquoted field's run: ',', LF, and '"' (never inside one). */
const STOP = new Uint8Array(256);
STOP[COMMA] = STOP[LF] = STOP[QUOTE] = 1;

/**
 * Walks the lines of `rows`: `while (walk.next())` visits each checked line; `next` throws on the
 * first malformed one, and when the text ends with fewer lines than `rows.rows`. After a `true`
 * from `next`, `line` is its 1-based number, `start`/`end` its bytes in `rows.text` (`end` at its
 * LF), and field `f` is `rows.text[spans[2f], spans[2f + 1])` as written: a quoted field with its
 * quotes (it starts with '"'; no unquoted field does), an empty unquoted field (NULL) empty.
 */
export class CsvLineWalk {
  line = 0;
  start = 0;
  end = 0;
  /**
   * How many of the line's unquoted fields start or end with whitespace or a control byte (a reader
   * that trims unquoted fields would change them; counted here, in the pass that finds the fields).
   */
  edged = 0;
  readonly spans: Int32Array;
  private i = 0;

  constructor(
    private readonly rows: CsvRows,
    private readonly label: string,
  ) {
    this.spans = new Int32Array(2 * rows.width);
  }

  next(): boolean {
    const src = this.rows.text;
    const n = src.length;
    const width = this.rows.width;
    const spans = this.spans;
    let i = this.i;
    if (i >= n) {
      if (this.line !== this.rows.rows) throw this.fail(`is the last, but ${this.rows.rows} were claimed`);
      return false;
    }
    const line = ++this.line;
    if (line > this.rows.rows) throw this.fail('is past the lines claimed');
    const start = i;
    let field = 0;
    let edged = 0;
    for (;;) {
      const a = i;
      if (src[i] === QUOTE) {
        let j = i + 1;
        for (;;) {
          j = src.indexOf(QUOTE, j);
          if (j < 0) throw this.fail('has a quote that never closes');
          if (src[j + 1] === QUOTE) j += 2;
          else break;
        }
        i = j + 1;
        if (i < n && src[i] !== COMMA && src[i] !== LF)
          throw this.fail(`has text after the closing quote of field ${field + 1}`);
      } else {
        while (i < n && STOP[src[i] as number] === 0) i++;
        if (i > a && ((src[a] as number) <= 0x20 || (src[i - 1] as number) <= 0x20)) edged++;
        if (i < n && src[i] === QUOTE) throw this.fail(`has a quote inside unquoted field ${field + 1}`);
      }
      if (field < width) {
        spans[2 * field] = a;
        spans[2 * field + 1] = i;
      }
      field++;
      if (i >= n) throw this.fail('has no line end');
      if (src[i] === LF) break;
      i++;
    }
    if (field !== width) throw this.fail(`has ${field} fields, not ${width}`);
    this.start = start;
    this.edged = edged;
    this.end = i;
    this.i = i + 1;
    return true;
  }

  private fail(why: string): DestinationError {
    return new DestinationError(
      `${this.label}: encoded line ${this.line} of ${this.rows.rows} ${why}; nothing staged`,
    );
  }
}

/** The greatest number of digits `putSeq` writes for `first` … `first + count - 1` (sizes a buffer). */
export function seqDigits(first: number, count: number): number {
  return String(Math.max(first + count - 1, 1)).length;
}

/** Writes the decimal digits of the non-negative integer `seq` at `out[p]`; returns the end. */
export function putSeq(out: Uint8Array, p: number, seq: number): number {
  let end = p + 1;
  for (let m = 10; seq >= m; m *= 10) end++;
  let q = end;
  do {
    const next = Math.floor(seq / 10);
    out[--q] = ZERO + seq - next * 10;
    seq = next;
  } while (seq > 0);
  return end;
}
