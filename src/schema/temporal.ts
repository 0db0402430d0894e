/**
 * Exact parsing of dates and timestamps into the canonical Row text:
 *   date      'YYYY-MM-DD'                  (a real calendar date, years 0001–9999)
 *   timestamp 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (always UTC, always six fraction digits)
 *
 * Hand-written scanners (no regex, no Date): the hot path of every event stream goes through
 * here, and Date would round sub-millisecond digits and misread years below 100. If this is
 * wrong, events land on the wrong instant or day, and the replace_window delete of a window
 * removes rows that belong to its neighbour.
 *
 * Accepted timestamp inputs (`parseTimestamp`):
 *   YYYY-MM-DD                                  midnight UTC
 *   YYYY-MM-DD[T| ]HH:MM:SS[.f{1,9}]            no zone: taken as UTC
 *   … followed by Z | z | ' UTC' | ±HH | ±HHMM | ±HH:MM (an optional space before ±)
 * Fraction digits beyond the sixth must be zeros: nanoseconds that a microsecond warehouse would
 * have to round do not fit (dictionary → `_extra`, dynamic → string), they are never rounded.
 */

const MIN_DAY = daysFromCivil(1, 1, 1);
const MAX_DAY = daysFromCivil(9999, 12, 31);

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function two(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): string {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** y*10000 + m*100 + d of a valid `YYYY-MM-DD` prefix of `s`, or -1. */
function datePrefix(s: string): number {
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return -1;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  const m = two(s, 5);
  const d = two(s, 8);
  if (y1 < 0 || y2 < 0 || m < 1 || m > 12 || d < 1) return -1;
  const y = y1 * 100 + y2;
  if (y < 1 || d > daysInMonth(y, m)) return -1;
  return y * 10000 + m * 100 + d;
}

/** Canonical date text, or undefined when `s` is not exactly a valid `YYYY-MM-DD`. */
export function parseDate(s: string): string | undefined {
  return s.length === 10 && datePrefix(s) >= 0 ? s : undefined;
}

/** Offset in minutes of the zone text s[i..], or NaN. */
function zoneOffset(s: string, i: number): number {
  const len = s.length;
  if (i === len) return 0;
  let c = s.charCodeAt(i);
  if ((c === 90 || c === 122) && i + 1 === len) return 0; // Z z
  if (c === 32) {
    if (
      len - i === 4 &&
      s.charCodeAt(i + 1) === 85 &&
      s.charCodeAt(i + 2) === 84 &&
      s.charCodeAt(i + 3) === 67
    )
      return 0; // ' UTC'
    i++;
    c = s.charCodeAt(i);
  }
  if (c !== 43 && c !== 45) return NaN; // + -
  const sign = c === 43 ? 1 : -1;
  const rest = len - i - 1;
  const h = two(s, i + 1);
  let mi = 0;
  if (rest === 5 && s.charCodeAt(i + 3) === 58) mi = two(s, i + 4);
  else if (rest === 4) mi = two(s, i + 3);
  else if (rest !== 2) return NaN;
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return NaN;
  return sign * (h * 60 + mi);
}

/** What follows `YYYY-MM-DDTHH:MM:SS[.f…]` for n = 0…6 fraction digits given. */
const SUFFIX = ['.000000Z', '00000Z', '0000Z', '000Z', '00Z', '0Z', 'Z'];

/** Canonical timestamp text, or undefined when `s` is not one of the accepted shapes. */
export function parseTimestamp(s: string): string | undefined {
  const len = s.length;
  const ymd = datePrefix(s);
  if (ymd < 0) return undefined;
  if (len === 10) return `${s}T00:00:00.000000Z`;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || len < 19 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return undefined;
  }
  const h = two(s, 11);
  const mi = two(s, 14);
  const sec = two(s, 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  let i = 19;
  let n = 0; // fraction digits given
  if (i < len && s.charCodeAt(i) === 46) {
    const start = ++i;
    while (i < len && digit(s, i) >= 0) i++;
    n = i - start;
    if (n === 0 || n > 9) return undefined;
    for (let k = start + 6; k < i; k++) if (s.charCodeAt(k) !== 48) return undefined;
  }
  const offset = zoneOffset(s, i);
  if (Number.isNaN(offset)) return undefined;
  // Everything up to the sixth fraction digit, then the padding and Z.
  const keep = n === 0 ? 19 : 20 + (n > 6 ? 6 : n);
  const suffix = SUFFIX[n > 6 ? 6 : n] as string;
  if (offset === 0) {
    if (sep === 84)
      return keep === 26 && len === 27 && s.charCodeAt(26) === 90 ? s : s.slice(0, keep) + suffix;
    return `${s.slice(0, 10)}T${s.slice(11, keep)}${suffix}`;
  }
  const day = daysFromCivil(Math.floor(ymd / 10000), Math.floor(ymd / 100) % 100, ymd % 100);
  let minutes = day * 1440 + h * 60 + mi - offset;
  const newDay = Math.floor(minutes / 1440);
  if (newDay < MIN_DAY || newDay > MAX_DAY) return undefined;
  minutes -= newDay * 1440;
  return `${civilFromDays(newDay)}T${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}:${s.slice(17, keep)}${suffix}`;
}

/**
 * The unambiguous ISO-8601 shapes that dynamic inference may read as temporal:
 * `YYYY-MM-DD` (date) and `YYYY-MM-DDTHH:MM:SS(.f+)?(Z|±HH:MM)` (timestamp). Anything looser
 * (a space separator, no zone) stays a string: a column of local times must not be silently
 * declared UTC.
 */
export function inferTemporal(s: string): 'date' | 'timestamp' | null {
  const len = s.length;
  if (len === 10) return parseDate(s) === undefined ? null : 'date';
  if (len < 20 || s.charCodeAt(10) !== 84) return null;
  const last = s.charCodeAt(len - 1);
  const zoned =
    last === 90 ||
    (s.charCodeAt(len - 3) === 58 && (s.charCodeAt(len - 6) === 43 || s.charCodeAt(len - 6) === 45));
  return zoned && parseTimestamp(s) !== undefined ? 'timestamp' : null;
}

/** Canonical timestamp of a JS Date (millisecond precision), or undefined when invalid / out of range. */
export function dateObjectTimestamp(d: Date): string | undefined {
  const t = d.getTime();
  if (!Number.isFinite(t)) return undefined;
  const iso = d.toISOString();
  if (iso.length !== 24) return undefined; // extended years (±YYYYYY)
  return parseTimestamp(iso);
}
