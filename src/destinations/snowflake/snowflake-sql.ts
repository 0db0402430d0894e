/**
 * Identifier quoting for Snowflake. The case rule: every identifier exportsync creates (schema,
 * tables, columns, stages) is a QUOTED identifier spelled exactly as our normalised lower-case
 * name (`"scarf_events"."country"`). Unquoted, Snowflake would upper-case them (SCARF_EVENTS), so
 * names stored in `_exportsync_columns`, names read back from information_schema and names in the
 * SQL would disagree, and a source field that normalises to a reserved word (`order`, `select`)
 * would be a syntax error. Quoting everything keeps one spelling everywhere; the cost is that
 * users must quote lower-case names in their own queries (`select "country" from "scarf_events"`),
 * or use the upper-case views they define. If a builder forgot to quote, it would address a
 * different (upper-case) object or fail on the first reserved word.
 */
import { DestinationError } from '../../core/errors.js';

/** Snowflake's identifier limit, in characters. */
export const MAX_IDENTIFIER_LENGTH = 255;

export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new DestinationError(`invalid identifier ${JSON.stringify(name)}`);
  if ([...name].length > MAX_IDENTIFIER_LENGTH) {
    throw new DestinationError(`identifier longer than ${MAX_IDENTIFIER_LENGTH} characters: ${name}`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function columnList(columns: Array<{ name: string }>, prefix = ''): string {
  return columns.map((c) => prefix + quoteIdent(c.name)).join(', ');
}

/** The table's stage (`@"schema".%"table"`): files there are dropped with the table. */
export function tableStage(schema: string, table: string): string {
  return `@${quoteIdent(schema)}.%${quoteIdent(table)}`;
}

/**
 * [from, to) as bind values for a cursor: timestamps as ISO instants, a date cursor's bounds
 * rounded up to whole UTC days (a day d is in the window when its midnight is).
 */
export function windowBounds(
  window: { from: Date; to: Date },
  cursorType: 'timestamp' | 'date',
): [string, string] {
  if (cursorType === 'timestamp') return [window.from.toISOString(), window.to.toISOString()];
  const ceilDay = (d: Date) =>
    new Date(Math.ceil(d.getTime() / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
  return [ceilDay(window.from), ceilDay(window.to)];
}

/** Bound cursor bounds cast to the cursor's type. */
export function boundCast(cursorType: 'timestamp' | 'date'): string {
  return cursorType === 'date' ? 'CAST(? AS DATE)' : 'CAST(? AS TIMESTAMP_TZ)';
}

/** Canonical UTC text of a TIMESTAMP_TZ expression (microseconds), for reads and widening. */
export function timestampText(expr: string): string {
  return `TO_VARCHAR(CONVERT_TIMEZONE('UTC', ${expr}), 'YYYY-MM-DD"T"HH24:MI:SS.FF6"Z"')`;
}

/** ISO text with milliseconds (what JS Date gives back), for bookkeeping timestamps. */
export function isoMillis(expr: string): string {
  return `TO_VARCHAR(CONVERT_TIMEZONE('UTC', ${expr}), 'YYYY-MM-DD"T"HH24:MI:SS.FF3"Z"')`;
}
