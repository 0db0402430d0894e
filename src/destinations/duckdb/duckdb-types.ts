/**
 * LogicalType ↔ DuckDB native types, the casts from staged text, and the in-place widenings.
 *
 * Decimals. DuckDB has no unconstrained NUMERIC: DECIMAL(p,s) with p ≤ 38 and a FIXED scale, and a
 * CAST into a smaller scale ROUNDS SILENTLY ('1.123' → DECIMAL(38,2) = 1.12). DOUBLE would round
 * too, and a fixed DECIMAL(38,10) would round an 11th fraction digit. So a decimal column is
 * DECIMAL(38, s) with s sized from the data: every commit measures the staged values (integer
 * digits, fraction digits) and widens s when needed (ALTER … TYPE DECIMAL(38, s'), which keeps
 * every old value exactly). The limit: a column can hold at most 38 significant digits around a
 * common scale, i.e. max(integer digits) + max(fraction digits) ≤ 38 over ALL its values. A value
 * beyond that turns the column into VARCHAR (exact text, numbers no longer numeric in SQL) with a
 * warning, instead of rounding anything. Reads show the column's scale (1.5 in DECIMAL(38,3) reads
 * 1.500): the value is exact, the trailing zeros are presentation.
 *
 * If this mapping were lossy (int64 via double, decimals rounded, naive timestamps) values would
 * change silently in the warehouse; if `logicalFromNative` maps back wrongly the schema layer
 * re-widens or refuses columns every run.
 */
import type { LogicalType } from '../../core/contracts.js';
import { isWidening } from '../widening.js';

/** The shared widening lattice; duckdb-load-target.ts takes `cover` from here. */
export { cover } from '../widening.js';

export const MAX_DECIMAL_PRECISION = 38;

const NATIVE: Record<Exclude<LogicalType, 'decimal'>, string> = {
  boolean: 'BOOLEAN',
  integer: 'BIGINT',
  float: 'DOUBLE',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
  json: 'JSON',
};

/** A native column type, parsed: its logical type and, for decimals, the scale. */
export interface NativeType {
  logical: LogicalType | 'unknown';
  native: string;
  scale?: number;
}

/** Digits a set of decimal/integer values needs: integer part (no leading zeros) and fraction. */
export interface DecimalNeed {
  intDigits: number;
  scale: number;
}

export function decimalType(scale: number): string {
  return `DECIMAL(${MAX_DECIMAL_PRECISION},${scale})`;
}

/** Native type of a NEW column of `type` (decimals sized to `need`). */
export function nativeFor(type: LogicalType, need: DecimalNeed = { intDigits: 0, scale: 0 }): NativeType {
  if (type !== 'decimal') return { logical: type, native: NATIVE[type] };
  if (need.intDigits + need.scale > MAX_DECIMAL_PRECISION) return { logical: 'string', native: 'VARCHAR' };
  return { logical: 'decimal', native: decimalType(need.scale), scale: need.scale };
}

/** duckdb_columns().data_type → NativeType. */
export function parseNative(dataType: string): NativeType {
  const t = dataType.toUpperCase();
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return { logical: 'decimal', native: t, scale: Number(dec[2]) };
  switch (t) {
    case 'BOOLEAN':
      return { logical: 'boolean', native: t };
    case 'BIGINT':
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT':
    case 'HUGEINT':
      return { logical: 'integer', native: t };
    case 'DOUBLE':
    case 'FLOAT':
      return { logical: 'float', native: t };
    case 'VARCHAR':
      return { logical: 'string', native: t };
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP':
      return { logical: 'timestamp', native: t === 'TIMESTAMP' ? t : 'TIMESTAMPTZ' };
    case 'DATE':
      return { logical: 'date', native: t };
    case 'JSON':
      return { logical: 'json', native: t };
    default:
      return { logical: 'unknown', native: dataType };
  }
}

export function logicalFromNative(dataType: string): LogicalType | 'unknown' {
  return parseNative(dataType).logical;
}

/** Integer digits of a numeric text ('-0012.5' → 2, '0.5' → 0). */
export function intDigitsOf(text: string): number {
  const unsigned = text.replace(/^[-+]/, '');
  const int = unsigned.split('.')[0] ?? '';
  return int.replace(/^0+/, '').length;
}

/**
 * The native type a column must have to hold its current values and the staged ones.
 * `current` is the table's column (null when new); `existingIntDigits` is measured from the table
 * only when a decimal's scale grows (it lowers the integer room).
 */
export function decimalTarget(
  current: NativeType | null,
  need: DecimalNeed,
  existingIntDigits: number,
): NativeType {
  const curScale = current?.logical === 'decimal' ? (current.scale ?? 0) : 0;
  const scale = Math.max(curScale, need.scale);
  const intDigits = Math.max(need.intDigits, existingIntDigits);
  if (current?.logical === 'decimal' && scale === curScale && need.intDigits + scale <= MAX_DECIMAL_PRECISION)
    return current;
  return nativeFor('decimal', { intDigits, scale });
}

/**
 * SQL turning the staged VARCHAR `ref` into `target`. `stagedTypes` are the logical types rows
 * were staged under in this load (a column widened mid-load holds 'true' next to '1.5').
 * Plain CAST, never TRY_CAST: a value that does not convert is a bug to surface, not a NULL.
 */
export function castFromText(ref: string, target: NativeType, stagedTypes: ReadonlySet<LogicalType>): string {
  if (target.logical === 'string') return ref;
  const cast =
    target.logical === 'decimal' ? decimalCast(ref, target.scale ?? 0) : `CAST(${ref} AS ${target.native})`;
  const numeric = target.logical === 'integer' || target.logical === 'decimal' || target.logical === 'float';
  if (numeric && stagedTypes.has('boolean')) {
    return `CASE ${ref} WHEN 'true' THEN CAST(1 AS ${target.native}) WHEN 'false' THEN CAST(0 AS ${target.native}) ELSE ${cast} END`;
  }
  if (target.logical === 'timestamp' && stagedTypes.has('date')) {
    // a date staged before the column became a timestamp is its UTC midnight
    return `CASE WHEN length(${ref}) = 10 THEN timezone('UTC', CAST(${ref} AS TIMESTAMP)) ELSE ${cast} END`;
  }
  return cast;
}

/**
 * VARCHAR → DECIMAL(38,s). DuckDB parses text into a 128-bit DECIMAL about 100× slower than into
 * DECIMAL(18,s) (measured: 6.2 s vs 0.05 s per million values), so values whose integer part fits
 * 18 - s digits go through DECIMAL(18,s), which is exact because s is never below the staged
 * fraction digits (`decimalNeeds`); only the others take the slow path.
 */
export function decimalCast(ref: string, scale: number): string {
  const wide = `CAST(${ref} AS ${decimalType(scale)})`;
  if (scale > 17) return wide;
  return `CASE WHEN length(split_part(${ref}, '.', 1)) <= ${18 - scale} THEN CAST(CAST(${ref} AS DECIMAL(18,${scale})) AS ${decimalType(scale)}) ELSE ${wide} END`;
}

/** Canonical text of a timestamptz (the Row form, fraction dropped when zero). */
export function timestampText(ref: string): string {
  return `regexp_replace(strftime(timezone('UTC', ${ref}), '%Y-%m-%dT%H:%M:%S.%fZ'), '\\.000000Z$', 'Z')`;
}

/**
 * The USING expression converting column `ref` from `from` to `to` in place, or null when it is
 * not a widening. To string, values take their Row text so the column reads as if it had been
 * text from the start (decimals lose only the scale's padding zeros).
 */
export function widenUsing(ref: string, from: NativeType, to: NativeType): string | null {
  if (from.logical === 'unknown' || to.logical === 'unknown') return null;
  if (from.native === to.native) return ref;
  if (!isWidening(from.logical, to.logical)) return null;
  if (to.logical === 'string') {
    if (from.logical === 'timestamp') return timestampText(ref);
    if (from.logical === 'decimal') {
      return `CASE WHEN contains(CAST(${ref} AS VARCHAR), '.') THEN rtrim(rtrim(CAST(${ref} AS VARCHAR), '0'), '.') ELSE CAST(${ref} AS VARCHAR) END`;
    }
    return `CAST(${ref} AS VARCHAR)`;
  }
  if (from.logical === 'boolean') return `CAST(CAST(${ref} AS INTEGER) AS ${to.native})`;
  if (from.logical === 'date' && to.logical === 'timestamp')
    return `timezone('UTC', CAST(${ref} AS TIMESTAMP))`;
  return `CAST(${ref} AS ${to.native})`;
}
