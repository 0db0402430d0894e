/**
 * RFC 4180 record splitter over decoded text, fed chunk by chunk. Hand-written because CSV
 * splitting was the largest single cost of a sync (csv-parse: 40–45% of Node's CPU in a 1M-row
 * load), and the fast general parsers do not give what readCsv must keep: the physical line a
 * record starts on, records of any field count (rejects), and quoted "" told apart only by the
 * caller. Measured in BENCHMARKS.md (bench/csv-libs-probe.ts): 3–4× csv-parse on the benchmark's
 * bytes.
 *
 * Grammar: fields separated by ',', records ended by LF, CRLF or a lone CR (each one physical
 * line). A field starting with '"' is quoted: it runs to the next '"' not doubled ('""' is one
 * '"'), and may hold ',', CR and LF. A '"' inside an unquoted field is a literal character
 * (csv-parse's relax_quotes). Text after a closing quote up to the next separator is appended
 * literally (`"ab"c` → `abc`; csv-parse refused the record). A line with no character at all is
 * skipped (not a record) but counted. Nothing here decodes bytes, strips a BOM or removes NUL:
 * the caller does that on the text it feeds.
 *
 * State is kept across `feed` calls at any split point (mid-field, mid-quote, between CR and
 * LF), and no input is ever scanned twice, so a record far larger than a chunk costs linear time.
 * The scan is a plain charCodeAt loop, not indexOf per field: on Node 20 the indexOf version ran
 * 1.4 s to 160 s on the same 300k rows from run to run (V8 treating the decoded chunk strings
 * differently between runs); the loop costs the same every run.
 * Getting a split point wrong changes values or line numbers depending on how the body happened
 * to be chunked — the tests feed every input at several chunk sizes, down to 1 character.
 */

/** A record as split: '' for an empty field (quoted or not); `line` is where it starts (1-based). */
export type SplitRecord = (fields: string[], line: number) => void;

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

const enum State {
  /** At the start of a field (after ',' or at the start of a record). */
  FieldStart,
  /** Inside an unquoted field (its text so far in `acc`). */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Inside a quoted field, just after a '"' that ended the previous chunk. */
  QuoteAtEnd,
  /** After a closing quote, before ',' or the end of the record (trailing text is kept). */
  AfterQuote,
}

export class CsvSplitter {
  private state = State.FieldStart;
  private fields: string[] = [];
  private acc = '';
  /** Physical line of the scan position (1-based). */
  private line = 1;
  /** Line the record being split started on. */
  private recordLine = 1;
  /** The previous chunk ended with a CR that ended a record: a LF opening this chunk belongs to it. */
  private crEndedRecord = false;
  /** The previous chunk ended with a CR inside a quoted field, not yet counted as a line. */
  private crInQuotes = false;

  constructor(private readonly onRecord: SplitRecord) {}

  /** True while a record has started but not ended (a quote or a line still open). */
  get pending(): boolean {
    return this.state !== State.FieldStart || this.fields.length > 0;
  }

  /** True while inside a quoted field (at the end of the body: a quote never closed). */
  get inQuotes(): boolean {
    return this.state === State.Quoted;
  }

  /** Line the pending record started on (or the next one will). */
  get startLine(): number {
    return this.pending ? this.recordLine : this.line;
  }

  /** The current physical line. */
  get currentLine(): number {
    return this.line;
  }

  feed(text: string): void {
    const n = text.length;
    let i = 0;
    if (n === 0) return;
    if (this.crEndedRecord) {
      this.crEndedRecord = false;
      if (text.charCodeAt(0) === LF) i = 1;
    }
    if (this.crInQuotes) {
      this.crInQuotes = false;
      if (text.charCodeAt(0) !== LF) this.line++;
    }
    while (i < n) {
      switch (this.state) {
        case State.FieldStart: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.acc = '';
            i++;
            continue;
          }
          if (this.fields.length === 0 && (c === LF || c === CR)) {
            // a blank line: no record, one line
            i = this.lineEnd(text, i, c);
            this.recordLine = this.line;
            continue;
          }
          this.state = State.Unquoted;
          this.acc = '';
        }
        // falls through
        case State.Unquoted: {
          let end = i;
          let c = 0;
          while (end < n) {
            c = text.charCodeAt(end);
            if (c === COMMA || c === LF || c === CR) break;
            end++;
          }
          this.acc = this.acc === '' ? text.slice(i, end) : this.acc + text.slice(i, end);
          i = end;
          if (end === n) continue; // the field goes on in the next chunk
          this.fields.push(this.acc);
          this.acc = '';
          this.state = State.FieldStart;
          if (c === COMMA) i++;
          else {
            this.emit();
            i = this.lineEnd(text, i, c);
          }
          continue;
        }
        case State.QuoteAtEnd: {
          this.state = State.Quoted;
          if (text.charCodeAt(i) === QUOTE) {
            this.acc += '"';
            i++;
            continue;
          }
          this.state = State.AfterQuote;
          continue;
        }
        case State.Quoted: {
          // to the next '"', counting the line ends inside the value (LF, CRLF, lone CR)
          let q = i;
          while (q < n) {
            const c = text.charCodeAt(q);
            if (c === QUOTE) break;
            if (c === LF) this.line++;
            else if (c === CR) {
              if (q + 1 === n) this.crInQuotes = true;
              else if (text.charCodeAt(q + 1) !== LF) this.line++;
            }
            q++;
          }
          this.acc = this.acc === '' ? text.slice(i, q) : this.acc + text.slice(i, q);
          if (q === n) {
            i = n;
            continue;
          }
          if (q + 1 === n) {
            this.state = State.QuoteAtEnd;
            i = n;
            continue;
          }
          if (text.charCodeAt(q + 1) === QUOTE) {
            this.acc += '"';
            i = q + 2;
            continue;
          }
          i = q + 1;
          this.state = State.AfterQuote;
          continue;
        }
        case State.AfterQuote: {
          const c = text.charCodeAt(i);
          if (c === COMMA) {
            this.fields.push(this.acc);
            this.acc = '';
            this.state = State.FieldStart;
            i++;
            continue;
          }
          if (c === LF || c === CR) {
            this.fields.push(this.acc);
            this.acc = '';
            this.state = State.FieldStart;
            this.emit();
            i = this.lineEnd(text, i, c);
            continue;
          }
          // text after the closing quote: kept, up to the next separator
          this.state = State.Unquoted;
          continue;
        }
      }
    }
  }

  /** Ends the body: the last record without a line end. Throws nothing; see `inQuotes`. */
  end(): void {
    if (this.state === State.Quoted) return;
    if (this.state === State.QuoteAtEnd) this.state = State.AfterQuote;
    if (!this.pending) return;
    this.fields.push(this.acc);
    this.acc = '';
    this.state = State.FieldStart;
    this.emit();
  }

  private emit(): void {
    const fields = this.fields;
    this.fields = [];
    this.onRecord(fields, this.recordLine);
  }

  /** Steps over the line end `c` at `at` (LF, CR or CRLF); counts one line; returns the next position. */
  private lineEnd(text: string, at: number, c: number): number {
    this.line++;
    let next = at + 1;
    if (c === CR) {
      if (next === text.length) this.crEndedRecord = true;
      else if (text.charCodeAt(next) === LF) next++;
    }
    this.recordLine = this.line;
    return next;
  }
}

/** CSV text of a record as split, for rejects (the raw bytes are not kept: that costs on every row). */
export function toCsvLine(values: string[]): string {
  return values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',');
}
