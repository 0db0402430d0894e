/**
 * The type lattice of warehouse columns and the canonical text of each type.
 *
 * Dynamic (inferred) columns live on boolean < integer < decimal < string, plus date, timestamp
 * and json, which are reached only from the dictionary, an unambiguous ISO-8601 shape, or an
 * object/array value. A column's type only widens, and a widening is allowed only when the text
 * of every earlier row is still exactly valid for the wider type:
 *   integer → decimal   ('42' is a decimal)
 *   anything → string   (every canonical text is a string)
 *   boolean → integer/decimal jumps straight to string ('true' is not a number), and so does
 *   date ↔ timestamp and anything ↔ json / float.
 * Get this wrong and a destination is handed text its column type cannot hold: the whole batch
 * fails, or worse, is cast into a different value.
 *
 * Inference is round-trip exact: a string is inferred as type T only when T's canonical text is
 * the string itself (`007`, `+5`, `1e3`, `TRUE` are strings), because once the column later
 * widens to string the warehouse shows earlier rows as the text of their typed value. The one
 * accepted exception is a zoned timestamp, which is stored as its UTC instant.
 *
 * `canonicalize` is the lenient reading used for dictionary columns (whose type is fixed):
 * booleans in any case, integers with '+' or leading zeros, decimals with an exponent (expanded
 * exactly by string arithmetic), timestamps with an offset or without a zone (= UTC), and
 * `''` → NULL for every type but string.
 */
import type { LogicalType } from '../core/contracts.js';
import {
  decimalText,
  fitsInt64,
  integerText,
  isCanonicalDecimalShape,
  isCanonicalIntegerShape,
  numberText,
} from './numbers.js';
import { dateObjectTimestamp, inferTemporal, parseDate, parseTimestamp } from './temporal.js';
import { jsonCanonical, stringCanonical } from './text.js';

export type { LogicalType };

/** Canonical text of `value` for one type: string, null (no value), or undefined (does not fit). */
export type Canonicalizer = (value: unknown) => string | null | undefined;

function booleanCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v !== 'string') return undefined;
  if (v === 'true' || v === 'false') return v;
  if (v === '') return null;
  const l = v.length === 4 || v.length === 5 ? v.toLowerCase() : '';
  return l === 'true' || l === 'false' ? l : undefined;
}

function integerCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'string') return v === '' ? null : integerText(v);
  if (typeof v === 'number') return Number.isInteger(v) ? integerText(numberText(v)) : undefined;
  if (typeof v === 'bigint') return integerText(v.toString());
  return undefined;
}

function decimalCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'string') return v === '' ? null : decimalText(v);
  if (typeof v === 'number') return Number.isFinite(v) ? numberText(v) : undefined;
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}

const FLOAT_SHAPE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function floatCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v !== 'string') return undefined;
  if (v === '') return null;
  if (!FLOAT_SHAPE.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? String(n) : undefined;
}

function timestampCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'string') return v === '' ? null : parseTimestamp(v);
  if (v instanceof Date) return dateObjectTimestamp(v);
  return undefined;
}

function dateCanonical(v: unknown): string | null | undefined {
  if (typeof v === 'string') return v === '' ? null : parseDate(v);
  if (v instanceof Date) {
    const ts = dateObjectTimestamp(v);
    return ts !== undefined && ts.endsWith('T00:00:00.000000Z') ? ts.slice(0, 10) : undefined;
  }
  return undefined;
}

const CANONICALIZERS: Record<LogicalType, Canonicalizer> = {
  boolean: booleanCanonical,
  integer: integerCanonical,
  decimal: decimalCanonical,
  float: floatCanonical,
  string: stringCanonical,
  timestamp: timestampCanonical,
  date: dateCanonical,
  json: jsonCanonical,
};

/** The canonicalizer of a type, for callers that hold one per column (no dispatch per value). */
export function canonicalizer(type: LogicalType): Canonicalizer {
  return CANONICALIZERS[type];
}

/** Canonical Row text of `value` as `type`; null for no value; undefined when it does not fit. */
export function canonicalize(type: LogicalType, value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  return CANONICALIZERS[type](value);
}

/**
 * The narrowest type that holds `value` with its text unchanged; null when the value carries no
 * type (null, undefined, ''). Guarantee: canonicalize(inferType(v), v) is never undefined.
 */
export function inferType(value: unknown): LogicalType | null {
  switch (typeof value) {
    case 'string': {
      if (value === '') return null;
      if (value === 'true' || value === 'false') return 'boolean';
      const c = value.charCodeAt(0);
      if (c === 45 || (c >= 48 && c <= 57)) {
        if (isCanonicalIntegerShape(value)) return fitsInt64(value) ? 'integer' : 'decimal';
        if (isCanonicalDecimalShape(value)) return 'decimal';
        return inferTemporal(value) ?? 'string';
      }
      return 'string';
    }
    case 'number':
      if (!Number.isFinite(value)) return 'string';
      return Number.isInteger(value) && fitsInt64(numberText(value)) ? 'integer' : 'decimal';
    case 'bigint':
      return fitsInt64(value.toString()) ? 'integer' : 'decimal';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (value === null) return null;
      if (value instanceof Date) return dateObjectTimestamp(value) === undefined ? 'string' : 'timestamp';
      return 'json';
    case 'undefined':
      return null;
    default:
      return 'string';
  }
}

/**
 * The least type holding both, by the text-compatibility rule above: equal → same,
 * integer+decimal → decimal, anything else → string. `null` (no information) is neutral.
 */
export function widen(a: LogicalType, b: LogicalType | null): LogicalType {
  if (b === null || a === b) return a;
  if ((a === 'integer' && b === 'decimal') || (a === 'decimal' && b === 'integer')) return 'decimal';
  return 'string';
}
