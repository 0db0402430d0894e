/**
 * Exact numeric text. Integers and decimals are handled as digit strings, never through a JS
 * double: a bigint id or a money amount that passes through Number is silently rounded
 * (2^53 + 1 becomes 2^53), and the warehouse then holds a number the source never sent.
 *
 * Canonical forms (see `Row` in src/core/contracts.ts):
 *   integer  /^-?\d+$/ within int64, no leading zeros, no '-0'
 *   decimal  /^-?\d+(\.\d+)?$/, digits kept as given (`1.50` stays `1.50`), a leading '+' dropped
 */

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

/** Longest decimal text an exponent may expand to; beyond, the value does not fit a decimal. */
export const MAX_DECIMAL_DIGITS = 1000;

/** True when s[from..to) is a non-empty run of ASCII digits. */
function allDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Canonical int64 text of an optionally signed digit string, or undefined when it is not
 * /^[+-]?\d+$/ or lies outside int64. Leading zeros are dropped (`007` → `7`).
 */
export function integerText(s: string): string | undefined {
  const len = s.length;
  const c0 = s.charCodeAt(0);
  const neg = c0 === 45;
  let i = neg || c0 === 43 ? 1 : 0;
  if (!allDigits(s, i, len)) return undefined;
  while (i < len - 1 && s.charCodeAt(i) === 48) i++;
  const n = len - i;
  if (n > 19) return undefined;
  if (n === 19 && s.slice(i) > (neg ? INT64_MIN_ABS : INT64_MAX)) return undefined;
  if (i === 0) return s;
  if (n === 1 && s.charCodeAt(i) === 48) return '0';
  return neg ? `-${s.slice(i)}` : s.slice(i);
}

/**
 * True when `s` is an integer in the canonical spelling (no '+', no leading zero, no '-0'):
 * only such text may be inferred as integer, so that widening the column to string later does
 * not change what earlier rows show (`007` must stay `007`, so it is a string).
 */
export function isCanonicalIntegerShape(s: string): boolean {
  const len = s.length;
  const i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (!allDigits(s, i, len)) return false;
  if (s.charCodeAt(i) === 48) return i === 0 && len === 1; // '0' yes; '-0', '007' no
  return true;
}

/** True for `-?(0|[1-9]\d*)\.\d+` (decimal inference, same reasoning as integers). */
export function isCanonicalDecimalShape(s: string): boolean {
  const dot = s.indexOf('.');
  if (dot < 0) return false;
  const i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (!allDigits(s, i, dot) || !allDigits(s, dot + 1, s.length)) return false;
  return s.charCodeAt(i) !== 48 || dot - i === 1;
}

/** True when a canonical-integer-shaped text lies within int64. */
export function fitsInt64(s: string): boolean {
  const neg = s.charCodeAt(0) === 45;
  const n = neg ? s.length - 1 : s.length;
  if (n < 19) return true;
  if (n > 19) return false;
  return (neg ? s.slice(1) : s) <= (neg ? INT64_MIN_ABS : INT64_MAX);
}

/**
 * Canonical decimal text of /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/, or undefined. An exponent is
 * applied exactly by moving the point in the digit string (`1.5e-7` → `0.00000015`,
 * `2E3` → `2000`); one that would expand past MAX_DECIMAL_DIGITS does not fit.
 */
export function decimalText(s: string): string | undefined {
  const len = s.length;
  // Fast path, one scan: plain `-?\d+(\.\d+)?` is returned as it is.
  let k = s.charCodeAt(0) === 45 ? 1 : 0;
  const first = k;
  while (k < len && isDigitCode(s.charCodeAt(k))) k++;
  if (k > first) {
    if (k === len) return s;
    if (s.charCodeAt(k) === 46) {
      const f = ++k;
      while (k < len && isDigitCode(s.charCodeAt(k))) k++;
      if (k === len && k > f) return s;
    }
  }
  return decimalSlow(s, len);
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function decimalSlow(s: string, len: number): string | undefined {
  const c0 = s.charCodeAt(0);
  const neg = c0 === 45;
  const start = neg || c0 === 43 ? 1 : 0;
  let e = s.indexOf('e', start);
  if (e < 0) e = s.indexOf('E', start);
  const mantEnd = e < 0 ? len : e;
  const dot = s.indexOf('.', start);
  const intEnd = dot < 0 || dot > mantEnd ? mantEnd : dot;
  if (!allDigits(s, start, intEnd)) return undefined;
  if (intEnd < mantEnd && !allDigits(s, intEnd + 1, mantEnd)) return undefined;
  if (e < 0) return start === 1 && !neg ? s.slice(1) : s;
  const ec = s.charCodeAt(e + 1);
  const expStart = ec === 43 || ec === 45 ? e + 2 : e + 1;
  if (!allDigits(s, expStart, len) || len - expStart > 6) return undefined;
  const exp = (ec === 45 ? -1 : 1) * Number(s.slice(expStart));
  const intDigits = s.slice(start, intEnd);
  const fracDigits = intEnd < mantEnd ? s.slice(intEnd + 1, mantEnd) : '';
  return shiftPoint(neg, intDigits, fracDigits, exp);
}

function shiftPoint(neg: boolean, intDigits: string, fracDigits: string, exp: number): string | undefined {
  const digits = intDigits + fracDigits;
  const point = intDigits.length + exp; // position of the point within `digits`
  if (Math.abs(point) > MAX_DECIMAL_DIGITS || digits.length + Math.abs(exp) > MAX_DECIMAL_DIGITS)
    return undefined;
  let ip: string;
  let fp: string;
  if (point <= 0) {
    ip = '0';
    fp = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    ip = digits + '0'.repeat(point - digits.length);
    fp = '';
  } else {
    ip = digits.slice(0, point);
    fp = digits.slice(point);
  }
  let k = 0;
  while (k < ip.length - 1 && ip.charCodeAt(k) === 48) k++;
  if (k > 0) ip = ip.slice(k);
  const body = fp === '' ? ip : `${ip}.${fp}`;
  return neg ? `-${body}` : body;
}

/**
 * Exact decimal text of a finite JS number: integers in full (`1e21` → `1000000000000000000000`,
 * through BigInt, which is exact for any integral double), others from the shortest round-trip
 * spelling String(n) with its exponent expanded. The digits are those of the double the JSON
 * parser produced: a source that sends more significant digits than a double holds has already
 * lost them before this point (sources must keep such fields as strings).
 */
export function numberText(n: number): string {
  if (Number.isInteger(n)) {
    if (Number.isSafeInteger(n)) return n === 0 ? '0' : String(n);
    return BigInt(n).toString();
  }
  const s = String(n);
  return s.indexOf('e') < 0 ? s : (decimalText(s) as string);
}
