/**
 * LogicalType ↔ Postgres native types, and the cast used to widen a column in place. If a
 * mapping is lossy (int64 as double, numeric with a fixed scale, timestamp without zone) values
 * change silently in the warehouse; if describe maps back wrongly, the schema layer re-widens
 * or refuses columns every run.
 */
import type { LogicalType } from '../../core/contracts.js';

const NATIVE: Record<LogicalType, string> = {
  boolean: 'boolean',
  integer: 'bigint',
  decimal: 'numeric',
  float: 'double precision',
  string: 'text',
  timestamp: 'timestamptz',
  date: 'date',
  json: 'jsonb',
};

export function nativeType(type: LogicalType): string {
  return NATIVE[type];
}

/** information_schema.columns.data_type → LogicalType. */
export function logicalFromNative(dataType: string): LogicalType | 'unknown' {
  switch (dataType) {
    case 'boolean':
      return 'boolean';
    case 'bigint':
    case 'integer':
    case 'smallint':
      return 'integer';
    case 'numeric':
      return 'decimal';
    case 'double precision':
    case 'real':
      return 'float';
    case 'text':
    case 'character varying':
    case 'character':
      return 'string';
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'jsonb':
    case 'json':
      return 'json';
    default:
      return 'unknown';
  }
}

/** Canonical text of a timestamptz (the Row form, fraction dropped when zero). */
export function timestampText(expr: string): string {
  return `regexp_replace(to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '\\.000000Z$', 'Z')`;
}

/**
 * The USING expression that converts `ident` (already quoted) from `from` to `to`, or null when
 * the change is not a widening (the caller refuses it). Everything widens to string, using the
 * Row's canonical text so a widened column reads like a column that was text from the start.
 */
export function widenUsing(ident: string, from: LogicalType, to: LogicalType): string | null {
  if (from === to) return ident;
  if (to === 'string') {
    if (from === 'timestamp') return timestampText(ident);
    return `${ident}::text`;
  }
  const target = nativeType(to);
  switch (`${from}->${to}`) {
    case 'boolean->integer':
      return `${ident}::int::bigint`;
    case 'boolean->decimal':
      return `${ident}::int::numeric`;
    case 'integer->decimal':
    case 'integer->float':
    case 'decimal->float':
    case 'date->timestamp':
      return `${ident}::${target}`;
    default:
      return null;
  }
}
