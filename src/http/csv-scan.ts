/**
 * RFC 4180 record boundaries over raw bytes, for the CSV pass-through (src/http/csv-bytes.ts).
 * It finds where each record and field starts and ends without decoding anything, so a regular
 * record can be copied from the response bytes into the destination's bulk-load text.
 *
 * The grammar is exactly CsvSplitter's (src/http/csv-split.ts): fields separated by ',', records
 * ended by LF, CRLF or a lone CR (each one physical line), a field starting with '"' is quoted and
 * may hold ',', '""', CR and LF, blank lines are skipped but counted. The structural bytes are all
 * ASCII, and UTF-8 never uses an ASCII byte inside a multi-byte character, so splitting bytes gives
 * the same records as splitting the decoded text. If the two ever disagree on a boundary, a record
 * is split in two or two are joined: the reader checks that a decoded record splits into exactly one.
 *
 * A record is flagged `irregular` (the reader then decodes it and takes the string path) when it
 * holds a NUL byte, a '"' inside an unquoted field, text after a closing quote, or a line break
 * inside quotes; `nonAscii` when it holds a byte ≥ 0x80 (the reader checks its UTF-8).
 *
 * State survives across `push`es at any split point, and no byte is scanned twice except a CR or
 * '"' that ends the available data (it needs the next byte), so a record far larger than a chunk
 * costs linear time. Runs of ordinary bytes are skipped a 32-bit word at a time (`words`, aligned
 * to the buffer): a skip test that let a stop byte or a high byte through would merge or split
 * records, or pass invalid UTF-8 unchecked (test/http/csv-bytes.test.ts, long values).
 */

import { isUtf8 } from 'node:buffer';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Byte classes of the unquoted scan: 0 ordinary, then the bytes it must stop at. */
const ORDINARY = 0;
const C_COMMA = 1;
const C_LF = 2;
const C_CR = 3;
const C_QUOTE = 4;
const C_NUL = 5;
const C_HIGH = 6;
const CLASS = new Uint8Array(256);
CLASS[COMMA] = C_COMMA;
CLASS[LF] = C_LF;
CLASS[CR] = C_CR;
CLASS[QUOTE] = C_QUOTE;
CLASS[0] = C_NUL;
for (let b = 0x80; b < 256; b++) CLASS[b] = C_HIGH;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  AfterQuote,
}

export class CsvByteScanner {
  /**
   * Held bytes: the record in flight and whatever follows it, up to `len`; spans index into it.
   * Bytes past `len` are stale: every look-ahead checks `i + 1 < n` first.
   */
  buf = new Uint8Array(1 << 16);
  /** `buf` as 32-bit words, for the four-bytes-a-step skip over unquoted text (its size is a power of 2). */
  private words = new Int32Array(this.buf.buffer);
  private len = 0;
  private pos = 0;
  /** The record found by the last `next()` that returned true: `[recStart, recEnd)`, no line end. */
  recStart = 0;
  recEnd = 0;
  /** Physical line the record starts on (1-based). */
  recLine = 1;
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  quoted = new Uint8Array(64);
  irregular = false;
  nonAscii = false;
  /**
   * Held bytes before this position are valid UTF-8 (checked a pushed chunk at a time), so a record
   * ending at or before it needs no check of its own; the reader checks each record past it. If it
   * ever covered an invalid byte, a record holding it would load instead of taking the string path
   * (which decodes it to U+FFFD).
   */
  utf8End = 0;
  /** End of held bytes that failed the check: nothing is checked again until they are dropped. */
  private utf8Bad = 0;
  private line = 1;
  private state = S.FieldStart;
  private inRecord = false;
  private fieldStart = 0;
  /** The last record ended with a CR at the end of the data: a LF next belongs to it. */
  private crEnded = false;
  /** The field being ended is a quoted one (its separator re-enters the unquoted scan). */
  private fieldQuoted = 0;
  /** Position of the closing quote of the last quoted field. */
  private quotedEnd = 0;
  /** End of a quoted field's value (its closing quote), set when its separator is next. */
  private fieldEndOverride = -1;

  /** Appends bytes, first dropping those before the record in flight. */
  push(chunk: Uint8Array): void {
    const keep = this.inRecord ? this.recStart : this.pos;
    if (keep > 0) {
      this.utf8End = Math.max(0, this.utf8End - keep);
      this.utf8Bad = Math.max(0, this.utf8Bad - keep);
      this.buf.copyWithin(0, keep, this.len);
      this.len -= keep;
      this.pos -= keep;
      this.recStart -= keep;
      this.fieldStart -= keep;
      for (let f = 0; f < this.count; f++) {
        this.starts[f] = (this.starts[f] as number) - keep;
        this.ends[f] = (this.ends[f] as number) - keep;
      }
    }
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.words = new Int32Array(next.buffer);
    }
    this.buf.set(chunk, this.len);
    this.len = need;
    if (this.utf8Bad === 0) this.checkUtf8();
  }

  /**
   * Moves `utf8End` to the end of the held bytes when all from it on are valid UTF-8, leaving out a
   * character the data cuts (its bytes follow in the next push). Any run of valid UTF-8 cut at ASCII
   * bytes (the record boundaries) is valid in each piece, so records before `utf8End` are valid.
   */
  private checkUtf8(): void {
    const buf = this.buf;
    const from = this.utf8End;
    let end = this.len;
    let k = end - 1;
    while (k > from && end - k < 4 && ((buf[k] as number) & 0xc0) === 0x80) k--;
    const lead = buf[k] as number;
    if (k >= from && lead >= 0xc0 && end - k < (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2)) end = k;
    if (end <= from) return;
    if (isUtf8(buf.subarray(from, end))) this.utf8End = end;
    else this.utf8Bad = end;
  }

  /** Bytes held for a record not yet complete (0 between records). */
  get pendingBytes(): number {
    return this.inRecord ? this.len - this.recStart : 0;
  }

  /** True while inside a quoted field (at the end of the body: a quote never closed). */
  get inQuotes(): boolean {
    return this.inRecord && this.state === S.Quoted;
  }

  /** Line the pending record started on (or the next one will). */
  get startLine(): number {
    return this.inRecord ? this.recLine : this.line;
  }

  get currentLine(): number {
    return this.line;
  }

  /**
   * Scans to the end of the next record. True: the record's spans are set. False: the held bytes
   * end inside a record (push more), or — when `final` — the body is done.
   */
  next(final: boolean): boolean {
    const buf = this.buf;
    const words = this.words;
    const n = this.len;
    let i = this.pos;
    let state = this.state;
    if (this.crEnded && i < n) {
      this.crEnded = false;
      if (buf[i] === LF) i++;
    }
    for (;;) {
      if (!this.inRecord) {
        // between records: skip blank lines
        while (i < n) {
          const b = buf[i] as number;
          if (b === LF) {
            this.line++;
            i++;
          } else if (b === CR) {
            if (i + 1 === n && !final) break;
            this.line++;
            i += i + 1 < n && buf[i + 1] === LF ? 2 : 1;
          } else break;
        }
        if (i >= n || (buf[i] === CR && !final)) {
          this.pos = i;
          return false;
        }
        this.inRecord = true;
        this.recStart = i;
        this.recLine = this.line;
        this.count = 0;
        this.irregular = false;
        this.nonAscii = false;
        state = S.FieldStart;
      }
      if (i >= n) {
        if (!final || state === S.Quoted) {
          this.pos = i;
          this.state = state;
          return false;
        }
        // the body ends inside the last record's last field
        if (state === S.FieldStart) this.fieldStart = i;
        this.field(this.fieldStart, i, state === S.AfterQuote ? 1 : 0);
        this.endRecord(i);
        this.pos = i;
        this.state = S.FieldStart;
        return true;
      }
      switch (state) {
        case S.FieldStart:
          if (buf[i] === QUOTE) {
            this.fieldStart = i + 1;
            state = S.Quoted;
            i++;
            continue;
          }
          this.fieldStart = i;
          state = S.Unquoted;
        // falls through
        case S.Unquoted: {
          let c = ORDINARY;
          while (i < n) {
            if ((i & 3) === 0) {
              // an aligned word whose four bytes are all 0x2D..0x7F holds no stop byte (every one
              // is below 0x2D) and no high byte: skip it. (w - 0x2D2D2D2D) borrows into a high bit
              // exactly when a byte is below 0x2D; w's own high bits are the bytes from 0x80.
              while (i + 4 <= n) {
                const w = words[i >> 2] as number;
                if (((w - 0x2d2d2d2d) | w) & 0x80808080) break;
                i += 4;
              }
              if (i >= n) break;
            }
            c = CLASS[buf[i] as number] as number;
            if (c === ORDINARY) i++;
            else if (c === C_HIGH) {
              this.nonAscii = true;
              i++;
            } else if (c === C_QUOTE || c === C_NUL) {
              this.irregular = true;
              i++;
            } else break;
          }
          if (i >= n) continue; // the field goes on in the next push (or the body ends)
          const quoted = this.fieldQuoted;
          this.fieldQuoted = 0;
          if (c === C_COMMA) {
            this.field(this.fieldStart, i, quoted);
            i++;
            state = S.FieldStart;
            continue;
          }
          // LF or CR: the record ends here
          if (c === C_CR && i + 1 === n && !final) {
            this.field(this.fieldStart, i, quoted);
            this.endRecord(i);
            this.line++;
            this.crEnded = true;
            this.pos = i + 1;
            this.state = S.FieldStart;
            return true;
          }
          this.field(this.fieldStart, i, quoted);
          this.endRecord(i);
          this.line++;
          i += c === C_CR && i + 1 < n && buf[i + 1] === LF ? 2 : 1;
          this.pos = i;
          this.state = S.FieldStart;
          return true;
        }
        case S.Quoted: {
          while (i < n) {
            if ((i & 3) === 0) {
              // an aligned word without '"', without a byte below 0x0E (NUL, LF, CR) and without a
              // high byte: skip it (each subtraction borrows into a high bit exactly when a byte
              // of it is zero / below 0x0E, as long as no byte has the high bit, which w checks)
              while (i + 4 <= n) {
                const w = words[i >> 2] as number;
                if ((((w ^ 0x22222222) - 0x01010101) | (w - 0x0e0e0e0e) | w) & 0x80808080) break;
                i += 4;
              }
              if (i >= n) break;
            }
            const b = buf[i] as number;
            if (b === QUOTE) break;
            if (b >= 0x80) this.nonAscii = true;
            else if (b === LF) {
              this.irregular = true;
              this.line++;
            } else if (b === CR) {
              if (i + 1 === n && !final) break;
              this.irregular = true;
              if (i + 1 === n || buf[i + 1] !== LF) this.line++;
            } else if (b === 0) this.irregular = true;
            i++;
          }
          if (i >= n || buf[i] !== QUOTE) {
            // out of bytes (or a CR that needs the next byte)
            if (i < n || !final) {
              this.pos = i;
              this.state = state;
              return false;
            }
            continue; // final: reported as a quote never closed
          }
          // a '"': doubled (part of the value) or closing
          if (i + 1 === n && !final) {
            this.pos = i;
            this.state = state;
            return false;
          }
          if (i + 1 < n && buf[i + 1] === QUOTE) {
            i += 2;
            continue;
          }
          this.quotedEnd = i;
          i++;
          state = S.AfterQuote;
          continue;
        }
        case S.AfterQuote: {
          const b = buf[i] as number;
          if (b === COMMA || b === LF || b === CR) {
            // the field is the quoted text: re-enter Unquoted at the separator to end it
            this.fieldQuoted = 1;
            this.fieldEndOverride = this.quotedEnd;
            state = S.Unquoted;
            continue;
          }
          // text after the closing quote: CsvSplitter keeps it literally, up to the separator
          this.irregular = true;
          state = S.Unquoted;
          continue;
        }
      }
    }
  }

  private field(start: number, end: number, quoted: number): void {
    if (this.count === this.starts.length) this.grow();
    const f = this.count++;
    if (quoted === 1) {
      this.starts[f] = start;
      this.ends[f] = this.fieldEndOverride >= 0 ? this.fieldEndOverride : this.quotedEnd;
      this.quoted[f] = 1;
    } else {
      this.starts[f] = start;
      this.ends[f] = end;
      this.quoted[f] = 0;
    }
    this.fieldEndOverride = -1;
  }

  private endRecord(end: number): void {
    this.recEnd = end;
    this.inRecord = false;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const quoted = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    quoted.set(this.quoted);
    this.starts = starts;
    this.ends = ends;
    this.quoted = quoted;
  }
}
