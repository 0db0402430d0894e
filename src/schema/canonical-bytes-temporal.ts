/**
 * The date and timestamp byte canonicalizers of the CSV pass-through (entry point and contract:
 * canonical-bytes.ts, which maps logical types to these). Each mirrors src/schema/temporal.ts
 * exactly or refuses (false): dateBytes is parseDate, timestampBytes is parseTimestamp (every
 * shape it accepts, an offset applied as a shift of at most one day), zonedTimestampBytes is the
 * zoned shape inferTemporal keeps a dynamic timestamp column on.
 *
 * If this drifts from temporal.ts, nothing downstream notices: a date the string path rejects
 * (2023-02-29, year 0000) or an offset shifted wrong loads a different instant than the mapper
 * would have, and a dynamic column that should have widened to string keeps its type. Refusing is
 * always safe; the differential tests in test/schema/canonical-bytes.test.ts hold the two together.
 * Every byte is compared with an ASCII code, so a multi-byte character refuses wherever it stands.
 * Nothing is read outside src[start, end).
 */
import type { ByteSink } from '../core/contracts.js';
import type { ByteCanonicalizer } from './canonical-bytes.js';

// ASCII codes
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const COLON = 58;
const SPACE = 32;
const T = 84;
const Z = 90;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= ZERO + 9;
}

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

/** Appends the 10 bytes of a date at src[s] as they are. */
function copyDate(src: Uint8Array, s: number, out: ByteSink): true {
  const buf = out.reserve(10);
  const p = out.length;
  for (let k = 0; k < 10; k++) buf[p + k] = src[s + k] as number;
  out.length += 10;
  return true;
}

/** parseDate: exactly a valid `YYYY-MM-DD`, kept as is (also the dynamic rule: it infers date). */
export const dateBytes: ByteCanonicalizer = (src, start, end, out) =>
  end - start === 10 && datePrefix(src, start) >= 0 && copyDate(src, start, out);

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
export const timestampBytes: ByteCanonicalizer = (src, s, end, out) => {
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
export const zonedTimestampBytes: ByteCanonicalizer = (src, start, end, out) => {
  if (end - start < 20 || src[start + 10] !== T) return false;
  const zoned =
    src[end - 1] === Z || (src[end - 3] === COLON && (src[end - 6] === PLUS || src[end - 6] === MINUS));
  return zoned && timestampBytes(src, start, end, out);
};
