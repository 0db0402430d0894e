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
 * applied as a shift of at most one day); those two live in canonical-bytes-temporal.ts, this
 * file is the entry point that picks one canonicalizer per type. Float and json never take the
 * byte path. Every byte is compared with an ASCII code, so a multi-byte character refuses
 * wherever it stands, as it fails the string path's char checks. Nothing is read outside
 * src[start, end).
 *
 * The output is the value's text, not a CSV field: quoting it (a string may hold ',', '"', line
 * breaks) is the caller's job, and so is undoing '""' pairs of a quoted source field before a
 * string column copies it (every other type refuses a '"').
 */
import type { ByteSink, LogicalType } from '../core/contracts.js';
import { dateBytes, timestampBytes, zonedTimestampBytes } from './canonical-bytes-temporal.js';

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
