/**
 * LogicalType ↔ Snowflake types, the casts from staged text, and the widening expressions.
 *
 * integer NUMBER(38,0) · decimal NUMBER(38,s) · float FLOAT (only for floats: it is a double) ·
 * boolean BOOLEAN · string VARCHAR · timestamp TIMESTAMP_TZ · date DATE · json VARIANT.
 *
 * Decimals: a CAST into NUMBER(38,s) ROUNDS silently past s fraction digits, so s is sized from the
 * data (every commit measures the staged values) and grows when needed. Snowflake cannot change a
 * NUMBER's scale in place, so a scale change, like every change across families, is an
 * add-copy-swap (snowflake-ddl.ts). A column whose values need more than 38 digits around one
 * scale is refused (DataError) rather than rounded. If this mapping were lossy (int64 as FLOAT,
 * rounded decimals, TIMESTAMP_NTZ) values would change silently in the warehouse.
 */
import type { LogicalType } from '../../core/contracts.js';
import { isWidening } from '../widening.js';
import { timestampText } from './snowflake-sql.js';

export const MAX_PRECISION = 38;

export interface NativeType {
  logical: LogicalType | 'unknown';
  native: string;
  scale?: number;
}

const NATIVE: Record<Exclude<LogicalType, 'decimal'>, string> = {
  boolean: 'BOOLEAN',
  integer: 'NUMBER(38,0)',
  float: 'FLOAT',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP_TZ',
  date: 'DATE',
  json: 'VARIANT',
};

export function decimalType(scale: number): string {
  return `NUMBER(${MAX_PRECISION},${scale})`;
}

/** Native type of a column of `type`; decimals need their scale. */
export function nativeFor(type: LogicalType, scale = 0): NativeType {
  if (type === 'decimal') return { logical: 'decimal', native: decimalType(scale), scale };
  return { logical: type, native: NATIVE[type] };
}

/** information_schema.columns (data_type, numeric_scale) → NativeType. */
export function parseNative(dataType: string, scale: number | null): NativeType {
  const t = dataType.toUpperCase();
  switch (t) {
    case 'NUMBER':
    case 'DECIMAL':
    case 'NUMERIC':
      return scale
        ? { logical: 'decimal', native: decimalType(scale), scale }
        : { logical: 'integer', native: NATIVE.integer };
    case 'FLOAT':
    case 'DOUBLE':
    case 'REAL':
      return { logical: 'float', native: 'FLOAT' };
    case 'TEXT':
    case 'VARCHAR':
    case 'STRING':
      return { logical: 'string', native: 'VARCHAR' };
    case 'BOOLEAN':
      return { logical: 'boolean', native: t };
    case 'TIMESTAMP_TZ':
      return { logical: 'timestamp', native: t };
    case 'DATE':
      return { logical: 'date', native: t };
    case 'VARIANT':
      return { logical: 'json', native: t };
    default:
      return { logical: 'unknown', native: t };
  }
}

/**
 * Staged VARCHAR `ref` as `target`. `stagedTypes`: the types rows were staged under in this load
 * (a column widened mid-load holds 'true' next to '1.5'). Plain CAST, never TRY_CAST: a value that
 * does not convert is a bug to surface, not a silent NULL.
 */
export function castFromText(ref: string, target: NativeType, stagedTypes: ReadonlySet<LogicalType>): string {
  switch (target.logical) {
    case 'string':
    case 'unknown':
      return ref;
    case 'json':
      return `PARSE_JSON(${ref})`;
    default: {
      const cast = `CAST(${ref} AS ${target.native})`;
      const numeric =
        target.logical === 'integer' || target.logical === 'decimal' || target.logical === 'float';
      if (numeric && stagedTypes.has('boolean')) {
        return `CASE ${ref} WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE ${cast} END`;
      }
      return cast;
    }
  }
}

/**
 * The expression converting column `ref` from `from` to `to` (the copy step of add-copy-swap), or
 * null when it is not a widening. To string, values take their Row text, so a widened column reads
 * as if it had been text from the start.
 */
export function widenExpression(ref: string, from: NativeType, to: NativeType): string | null {
  if (from.logical === 'unknown' || to.logical === 'unknown') return null;
  if (!isWidening(from.logical, to.logical)) return null;
  if (from.logical === 'decimal' && to.logical === 'decimal' && (to.scale ?? 0) < (from.scale ?? 0))
    return null;
  if (to.logical === 'string') {
    switch (from.logical) {
      case 'timestamp':
        return `REPLACE(${timestampText(ref)}, '.000000Z', 'Z')`;
      case 'date':
        return `TO_VARCHAR(${ref}, 'YYYY-MM-DD')`;
      case 'json':
        return `TO_JSON(${ref})`;
      case 'boolean':
        return `CASE WHEN ${ref} THEN 'true' WHEN NOT ${ref} THEN 'false' END`;
      case 'decimal': {
        const text = `CAST(${ref} AS VARCHAR)`;
        return `CASE WHEN CONTAINS(${text}, '.') THEN RTRIM(RTRIM(${text}, '0'), '.') ELSE ${text} END`;
      }
      default:
        return `CAST(${ref} AS VARCHAR)`;
    }
  }
  if (from.logical === 'boolean') return `CASE WHEN ${ref} THEN 1 WHEN NOT ${ref} THEN 0 END`;
  return `CAST(${ref} AS ${to.native})`;
}
