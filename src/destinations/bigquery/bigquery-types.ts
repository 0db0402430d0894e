/**
 * LogicalType ↔ BigQuery column types, how staged text becomes each type, and which changes
 * BigQuery can make in place. If a mapping were lossy (decimals as FLOAT64, NUMERIC for values
 * with more than 9 fraction digits, which BigQuery rounds) values would change silently; if
 * `logicalFromNative` mapped back wrongly the schema layer would re-widen columns every run.
 */
import type { LogicalType } from '../../core/contracts.js';

/** The shared widening lattice; bigquery-schema.ts takes `cover` from here. */
export { cover } from '../widening.js';

export type BqType =
  'BOOL' | 'INT64' | 'NUMERIC' | 'BIGNUMERIC' | 'FLOAT64' | 'STRING' | 'TIMESTAMP' | 'DATE' | 'JSON';

/** Integer and fraction digits the staged decimal values of a column need. */
export interface DecimalNeed {
  intDigits: number;
  scale: number;
}

/** NUMERIC is NUMERIC(38, 9): 29 integer digits; BIGNUMERIC(76.76, 38): 38 whole integer digits. */
const NUMERIC = { intDigits: 29, scale: 9 };
const BIGNUMERIC = { intDigits: 38, scale: 38 };

/** The narrowest exact decimal type for `need`, or STRING when even BIGNUMERIC would round. */
export function decimalType(need: DecimalNeed): BqType {
  if (need.intDigits <= NUMERIC.intDigits && need.scale <= NUMERIC.scale) return 'NUMERIC';
  if (need.intDigits <= BIGNUMERIC.intDigits && need.scale <= BIGNUMERIC.scale) return 'BIGNUMERIC';
  return 'STRING';
}

export function bqTypeFor(type: LogicalType, need: DecimalNeed = { intDigits: 0, scale: 0 }): BqType {
  switch (type) {
    case 'boolean':
      return 'BOOL';
    case 'integer':
      return 'INT64';
    case 'decimal':
      return decimalType(need);
    case 'float':
      return 'FLOAT64';
    case 'string':
      return 'STRING';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'date':
      return 'DATE';
    case 'json':
      return 'JSON';
  }
}

/** tables.get `schema.fields[].type` (legacy and standard names) → LogicalType. */
export function logicalFromNative(type: string): LogicalType | 'unknown' {
  switch (type.toUpperCase()) {
    case 'BOOL':
    case 'BOOLEAN':
      return 'boolean';
    case 'INT64':
    case 'INTEGER':
      return 'integer';
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return 'decimal';
    case 'FLOAT64':
    case 'FLOAT':
      return 'float';
    case 'STRING':
      return 'string';
    case 'TIMESTAMP':
      return 'timestamp';
    case 'DATE':
      return 'date';
    case 'JSON':
      return 'json';
    default:
      return 'unknown';
  }
}

/** Standard SQL name of a tables.get type (INTEGER → INT64, …). */
export function standardType(type: string): string {
  const t = type.toUpperCase();
  const legacy: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };
  return legacy[t] ?? t;
}

const RANK: Partial<Record<BqType, number>> = { INT64: 1, NUMERIC: 2, BIGNUMERIC: 3, FLOAT64: 4 };

/** True when `to` holds every value of `from` (same type, or a wider numeric type). */
export function holds(from: BqType, to: BqType): boolean {
  if (from === to || to === 'STRING') return true;
  const a = RANK[from];
  const b = RANK[to];
  return a !== undefined && b !== undefined && a <= b;
}

/**
 * Changes BigQuery makes in place with `ALTER COLUMN … SET DATA TYPE` (its coercion rules:
 * INT64 → NUMERIC → BIGNUMERIC → FLOAT64). Every other widening rebuilds the table.
 */
export function alterableInPlace(from: BqType, to: BqType): boolean {
  const a = RANK[from];
  const b = RANK[to];
  return a !== undefined && b !== undefined && a < b;
}

/** Clustering accepts these types (not FLOAT64, not JSON). */
export function clusterable(type: BqType): boolean {
  return type !== 'FLOAT64' && type !== 'JSON';
}

/**
 * The expression converting an existing column `ref` of type `from` to `to` (a rebuild). Text
 * targets get the Row's canonical text, so a widened column reads like one that was text from
 * the start.
 */
export function convertExpr(ref: string, from: BqType, to: BqType): string {
  if (from === to) return ref;
  if (to === 'STRING') {
    if (from === 'TIMESTAMP') return `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', ${ref}, 'UTC')`;
    if (from === 'JSON') return `TO_JSON_STRING(${ref})`;
    if (from === 'BOOL') return `IF(${ref}, 'true', 'false')`;
    return `CAST(${ref} AS STRING)`;
  }
  return `CAST(${ref} AS ${to})`;
}

/**
 * The expression turning staged text `ref` into `to`. `staged` are the logical types the column's
 * rows were staged under: rows staged as boolean before the column widened to a number hold
 * 'true'/'false', which CAST to a number would refuse. `safe` gives SAFE_CAST (NULL instead of an
 * error), for the check that names a bad row.
 */
export function castStaged(ref: string, to: BqType, staged: ReadonlySet<LogicalType>, safe = false): string {
  const cast = safe ? 'SAFE_CAST' : 'CAST';
  switch (to) {
    case 'STRING':
      return ref;
    case 'JSON':
      return safe ? `SAFE.PARSE_JSON(${ref})` : `PARSE_JSON(${ref})`;
    case 'INT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
    case 'FLOAT64':
      if (staged.has('boolean'))
        return `CASE ${ref} WHEN 'true' THEN CAST(1 AS ${to}) WHEN 'false' THEN CAST(0 AS ${to}) ELSE ${cast}(${ref} AS ${to}) END`;
      return `${cast}(${ref} AS ${to})`;
    default:
      return `${cast}(${ref} AS ${to})`;
  }
}

/** Integer digits and scale of a canonical decimal text ('-0012.50' → 2 and 2). */
export function digitsOf(text: string): DecimalNeed {
  const unsigned = text.replace(/^[-+]/, '');
  const [int = '', frac = ''] = unsigned.split('.');
  return { intDigits: int.replace(/^0+/, '').length, scale: frac.length };
}
