/**
 * Canonical Row text straight from UTF-8 bytes, for the CSV pass-through: a regular CSV field goes
 * from the response bytes into the bulk-load CSV without becoming a JS string. Each function here
 * mirrors one string-path function exactly — `canonicalize` (types.ts) for a dictionary column,
 * `inferType` + `widen` + `canonicalize` for a dynamic one — or refuses the value (false), which
 * sends the record through the mapper, the authority. A byte path that accepts a value the string
 * path would respell, reject or widen for loads text the warehouse column cannot hold or a value
 * the mapper would not have loaded, and nothing downstream checks: refusing is always safe.
 *
 * Covered (everything else refuses): string (copied as is; the reader guarantees valid UTF-8
 * without NUL); boolean (any ASCII case, as canonicalize); integer ([+-]?\d+ in int64, leading
 * zeros dropped, as integerText); decimal ([+-]?\d+(\.\d+)?, a '+' dropped, as decimalText;
 * exponents refuse); date (YYYY-MM-DD); timestamp (every shape parseTimestamp accepts, an offset
 * applied as a shift of at most one day). Float and json never take the byte path. Every byte is
 * compared with an ASCII code, so a multi-byte character refuses wherever it stands, as it fails
 * the string path's char checks. Nothing is read outside src[start, end).
 *
 * The output is the value's text, not a CSV field: quoting it (a string may hold ',', '"', line
 * breaks) is the caller's job, and so is undoing '""' pairs of a quoted source field before a
 * string column copies it (every other type refuses a '"').
 */
import type { ByteSink, LogicalType } from '../core/contracts.js';

/**
 * Appends the canonical text of the UTF-8 bytes src[start, end) (end > start, never empty) to `out` and
 * returns true, or returns false leaving out.length unchanged. true must imply: the bytes appended ===
 * the canonical text the mapper gives the same value (decoded as UTF-8). false is always safe.
 */
export type ByteCanonicalizer = (src: Uint8Array, start: number, end: number, out: ByteSink) => boolean;

// ASCII codes
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const COLON = 58;
const SPACE = 32;
const T = 84;
const Z = 90;

/** Digits of int64's extremes, to compare a 19-digit magnitude with. */
const INT64_MAX = new TextEncoder().encode('9223372036854775807');
const INT64_MIN_ABS = new TextEncoder().encode('9223372036854775808');
const TRUE = new TextEncoder().encode('true');
const FALSE = new TextEncoder().encode('false');

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= ZERO + 9;
}

/** True when src[from, to) is a non-empty run of ASCII digits. */
function allDigits(src: Uint8Array, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) if (!isDigit(src[i])) return false;
  return true;
}

function copy(src: Uint8Array, start: number, end: number, out: ByteSink): true {
  const n = end - start;
  const buf = out.reserve(n);
  if (n < 32) {
    let p = out.length;
    for (let i = start; i < end; i++) buf[p++] = src[i] as number;
  } else {
    buf.set(src.subarray(start, end), out.length);
  }
  out.length += n;
  return true;
}

function writeAscii(text: Uint8Array, out: ByteSink): true {
  return copy(text, 0, text.length, out);
}

const stringBytes: ByteCanonicalizer = copy;

/** booleanCanonical: 'true'/'false' in any ASCII case, written lowercase. */
const booleanBytes: ByteCanonicalizer = (src, start, end, out) => {
  const word = end - start === 4 ? TRUE : end - start === 5 ? FALSE : undefined;
  if (word === undefined) return false;
  // b | 0x20 equals a lowercase ASCII letter only when b is that letter or its uppercase form.
  for (let i = 0; i < word.length; i++) if (((src[start + i] as number) | 0x20) !== word[i]) return false;
  return writeAscii(word, out);
};

/** Dynamic boolean: only the exact 'true'/'false' infer boolean; anything else widens the column. */
const exactBooleanBytes: ByteCanonicalizer = (src, start, end, out) => {
  const word = end - start === 4 ? TRUE : end - start === 5 ? FALSE : undefined;
  if (word === undefined) return false;
  for (let i = 0; i < word.length; i++) if (src[start + i] !== word[i]) return false;
  return copy(src, start, end, out);
};

/** True when the 19 digits at src[i] exceed `limit`. */
function above(src: Uint8Array, i: number, limit: Uint8Array): boolean {
  for (let k = 0; k < 19; k++) {
    const d = (src[i + k] as number) - (limit[k] as number);
    if (d !== 0) return d > 0;
  }
  return false;
}

/** integerText: [+-]?\d+ within int64; leading zeros and '+' dropped, '-0' → '0'. */
const integerBytes: ByteCanonicalizer = (src, start, end, out) => {
  const c0 = src[start];
  const neg = c0 === MINUS;
  let i = neg || c0 === PLUS ? start + 1 : start;
  if (!allDigits(src, i, end)) return false;
  while (i < end - 1 && src[i] === ZERO) i++;
  const n = end - i;
  if (n > 19 || (n === 19 && above(src, i, neg ? INT64_MIN_ABS : INT64_MAX))) return false;
  if (neg && !(n === 1 && src[i] === ZERO)) {
    out.reserve(1)[out.length++] = MINUS;
  }
  return copy(src, i, end, out);
};

/** True when src[i, end) is exactly `\d+(\.\d+)?`. */
function isPlainDecimal(src: Uint8Array, i: number, end: number): boolean {
  const first = i;
  while (i < end && isDigit(src[i])) i++;
  if (i === first) return false;
  if (i === end) return true;
  return src[i] === DOT && allDigits(src, i + 1, end);
}

/** decimalText without exponents: kept as given, a leading '+' dropped. */
const decimalBytes: ByteCanonicalizer = (src, start, end, out) => {
  const c0 = src[start];
  const from = c0 === PLUS ? start + 1 : start;
  if (!isPlainDecimal(src, c0 === MINUS ? start + 1 : from, end)) return false;
  return copy(src, from, end, out);
};

/**
 * Dynamic integer: only a canonical integer shape (no '+', no leading zero, no '-0') within int64
 * keeps the column integer; `007` infers string, 2^63 and `1.5` decimal.
 */
const canonicalIntegerBytes: ByteCanonicalizer = (src, start, end, out) => {
  const i = src[start] === MINUS ? start + 1 : start;
  if (!allDigits(src, i, end) || (src[i] === ZERO && end - i > 1) || (src[i] === ZERO && i > start))
    return false;
  const n = end - i;
  if (n > 19 || (n === 19 && above(src, i, i > start ? INT64_MIN_ABS : INT64_MAX))) return false;
  return copy(src, start, end, out);
};

/** Dynamic decimal: `-?(0|[1-9]\d*)(\.\d+)?` (canonical integer or decimal shape, any size). */
const canonicalDecimalBytes: ByteCanonicalizer = (src, start, end, out) => {
  const i = src[start] === MINUS ? start + 1 : start;
  if (!isPlainDecimal(src, i, end)) return false;
  if (src[i] === ZERO && i + 1 < end && src[i + 1] !== DOT) return false; // 007, 00.5
  if (src[i] === ZERO && i + 1 === end && i > start) return false; // '-0' is a string
  return copy(src, start, end, out);
};

function two(src: Uint8Array, i: number): number {
  const a = (src[i] as number) - ZERO;
  const b = (src[i + 1] as number) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** y*10000 + m*100 + d of a valid `YYYY-MM-DD` at src[s] (years 0001–9999), or -1. Needs 10 bytes. */
function datePrefix(src: Uint8Array, s: number): number {
  if (src[s + 4] !== MINUS || src[s + 7] !== MINUS) return -1;
  const y1 = two(src, s);
  const y2 = two(src, s + 2);
  const m = two(src, s + 5);
  const d = two(src, s + 8);
  if (y1 < 0 || y2 < 0 || m < 1 || m > 12 || d < 1) return -1;
  const y = y1 * 100 + y2;
  if (y < 1 || d > daysInMonth(y, m)) return -1;
  return y * 10000 + m * 100 + d;
}

/** parseDate: exactly a valid `YYYY-MM-DD`, kept as is (also the dynamic rule: it infers date). */
const dateBytes: ByteCanonicalizer = (src, start, end, out) =>
  end - start === 10 && datePrefix(src, start) >= 0 && copy(src, start, end, out);

/** zoneOffset's "no zone I accept" (an int, so the hot path compares small integers only). */
const NO_ZONE = 1 << 20;

/** Offset in minutes of the zone text src[i, end), or NO_ZONE (temporal.ts zoneOffset). */
function zoneOffset(src: Uint8Array, i: number, end: number): number {
  if (i === end) return 0;
  let c = src[i];
  if ((c === Z || c === 122) && i + 1 === end) return 0; // Z z
  if (c === SPACE) {
    if (end - i === 4 && src[i + 1] === 85 && src[i + 2] === T && src[i + 3] === 67) return 0; // ' UTC'
    if (++i === end) return NO_ZONE;
    c = src[i];
  }
  if (c !== PLUS && c !== MINUS) return NO_ZONE;
  const rest = end - i - 1;
  if (rest !== 2 && rest !== 4 && !(rest === 5 && src[i + 3] === COLON)) return NO_ZONE;
  const h = two(src, i + 1);
  const mi = rest === 2 ? 0 : two(src, rest === 5 ? i + 4 : i + 3);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return NO_ZONE;
  return (c === PLUS ? 1 : -1) * (h * 60 + mi);
}

function writeTwo(buf: Uint8Array, p: number, n: number): void {
  buf[p] = ZERO + ((n / 10) | 0);
  buf[p + 1] = ZERO + (n % 10);
}

/**
 * Writes `YYYY-MM-DD` of the date y-m-d moved by `shift` (-1, 0 or 1) days at buf[p], or returns
 * false when that leaves years 0001–9999. An offset is under 24 h, so a day is all it can move;
 * parseTimestamp gets the same dates through days-since-epoch arithmetic.
 */
function writeShiftedDate(
  buf: Uint8Array,
  p: number,
  y: number,
  m: number,
  d: number,
  shift: number,
): boolean {
  if (shift > 0 && ++d > daysInMonth(y, m)) {
    d = 1;
    if (++m > 12) {
      m = 1;
      if (++y > 9999) return false;
    }
  } else if (shift < 0 && --d < 1) {
    if (--m < 1) {
      m = 12;
      if (--y < 1) return false;
    }
    d = daysInMonth(y, m);
  }
  writeTwo(buf, p, (y / 100) | 0);
  writeTwo(buf, p + 2, y % 100);
  buf[p + 4] = MINUS;
  writeTwo(buf, p + 5, m);
  buf[p + 7] = MINUS;
  writeTwo(buf, p + 8, d);
  return true;
}

/** Length of the canonical timestamp `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
const TS_LEN = 27;
const MIDNIGHT = new TextEncoder().encode('T00:00:00.000000Z');

/**
 * parseTimestamp on bytes: every shape it accepts, written as `YYYY-MM-DDTHH:MM:SS.ffffffZ`
 * (UTC, six fraction digits; digits past the sixth must be zeros, no leap second, the offset
 * applied to the minute and the date, years 0001–9999 before and after it).
 */
const timestampBytes: ByteCanonicalizer = (src, s, end, out) => {
  const len = end - s;
  if (len < 10) return false;
  const ymd = datePrefix(src, s);
  if (ymd < 0) return false;
  let offset = 0;
  let h = 0;
  let mi = 0;
  let fs = end; // first fraction digit
  let n = 0; // fraction digits given
  if (len > 10) {
    const sep = src[s + 10];
    if ((sep !== T && sep !== SPACE) || len < 19 || src[s + 13] !== COLON || src[s + 16] !== COLON)
      return false;
    h = two(src, s + 11);
    mi = two(src, s + 14);
    const sec = two(src, s + 17);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return false;
    let i = s + 19;
    if (i < end && src[i] === DOT) {
      fs = ++i;
      while (i < end && isDigit(src[i])) i++;
      n = i - fs;
      if (n === 0 || n > 9) return false;
      for (let k = fs + 6; k < i; k++) if (src[k] !== ZERO) return false;
    }
    offset = zoneOffset(src, i, end);
    if (offset === NO_ZONE) return false;
  }
  const buf = out.reserve(TS_LEN);
  const p = out.length;
  if (offset === 0) {
    for (let k = 0; k < 10; k++) buf[p + k] = src[s + k] as number;
    if (len === 10) {
      buf.set(MIDNIGHT, p + 10);
      out.length += TS_LEN;
      return true;
    }
    for (let k = 11; k < 17; k++) buf[p + k] = src[s + k] as number;
  } else {
    let minutes = h * 60 + mi - offset; // -1439 … 2878
    const shift = minutes < 0 ? -1 : minutes >= 1440 ? 1 : 0;
    minutes -= shift * 1440;
    const y = (ymd / 10000) | 0;
    if (!writeShiftedDate(buf, p, y, ((ymd / 100) | 0) % 100, ymd % 100, shift)) return false;
    writeTwo(buf, p + 11, (minutes / 60) | 0);
    buf[p + 13] = COLON;
    writeTwo(buf, p + 14, minutes % 60);
    buf[p + 16] = COLON;
  }
  buf[p + 10] = T;
  buf[p + 17] = src[s + 17] as number;
  buf[p + 18] = src[s + 18] as number;
  buf[p + 19] = DOT;
  const kept = n > 6 ? 6 : n;
  for (let k = 0; k < kept; k++) buf[p + 20 + k] = src[fs + k] as number;
  for (let k = kept; k < 6; k++) buf[p + 20 + k] = ZERO;
  buf[p + 26] = Z;
  out.length += TS_LEN;
  return true;
};

/**
 * Dynamic timestamp: inferTemporal's zoned shape (`T` separator, at least 20 bytes, ending in `Z`
 * or `±HH:MM`); anything looser infers string (a date infers date) and would widen the column.
 */
const zonedTimestampBytes: ByteCanonicalizer = (src, start, end, out) => {
  if (end - start < 20 || src[start + 10] !== T) return false;
  const zoned =
    src[end - 1] === Z || (src[end - 3] === COLON && (src[end - 6] === PLUS || src[end - 6] === MINUS));
  return zoned && timestampBytes(src, start, end, out);
};

const FIXED: Partial<Record<LogicalType, ByteCanonicalizer>> = {
  string: stringBytes,
  boolean: booleanBytes,
  integer: integerBytes,
  decimal: decimalBytes,
  date: dateBytes,
  timestamp: timestampBytes,
};

const DYNAMIC: Partial<Record<LogicalType, ByteCanonicalizer>> = {
  string: stringBytes,
  boolean: exactBooleanBytes,
  integer: canonicalIntegerBytes,
  decimal: canonicalDecimalBytes,
  date: dateBytes,
  timestamp: zonedTimestampBytes,
};

/** Dictionary (fixed-type) column: mirrors `canonicalize(type, text)` (lenient). null = no fast path (always refuse). */
export function fixedByteCanonicalizer(type: LogicalType): ByteCanonicalizer | null {
  return FIXED[type] ?? null;
}

/**
 * Dynamic column whose current type is `type`: true only when the mapper would NOT widen the column
 * for this value (widen(type, inferType(text)) === type) and then appends canonicalize(type, text).
 * null = no fast path (float and json: text never keeps such a dynamic column's type).
 */
export function dynamicByteCanonicalizer(type: LogicalType): ByteCanonicalizer | null {
  return DYNAMIC[type] ?? null;
}
