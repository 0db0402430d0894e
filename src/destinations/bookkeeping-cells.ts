/**
 * How a cell of a `_exportsync_*` bookkeeping table reads back, whatever the driver returned for
 * it. The backends select the same columns but their drivers hand them over differently: Postgres
 * parses jsonb and gives timestamps as Dates, DuckDB gives BIGINT as text, BigQuery gives every
 * value as text (timestamps with microseconds), Snowflake gives positional arrays. The decoders
 * in bookkeeping-state/-runs/-windows take any of these; if one backend decoded a cell its own
 * way, `exportsync runs`, `state show` and a resumed backfill would see different records for
 * the same row depending on the warehouse.
 */

/**
 * A positional row (Snowflake's `rowMode: 'array'`) keyed by the names of the columns it selected,
 * in the order of the SELECT. A name list out of step with the SELECT shifts every value.
 */
export function byName<K extends string>(names: readonly K[], cells: readonly unknown[]): Record<K, unknown> {
  const row = {} as Record<K, unknown>;
  names.forEach((name, i) => (row[name] = cells[i] ?? null));
  return row;
}

/**
 * A JSON cell: text (VARCHAR, STRING and DuckDB JSON read as text) is parsed; a value the driver
 * has already parsed (Postgres jsonb) is taken as it is. null stays null.
 */
export function jsonCell<T>(cell: unknown): T {
  return (typeof cell === 'string' ? JSON.parse(cell) : (cell ?? null)) as T;
}

/**
 * A timestamp cell as an instant: a Date (Postgres), epoch milliseconds as a number (DuckDB
 * selects `epoch_ms(…)::DOUBLE`) or ISO-8601 text (BigQuery, Snowflake). A missing cell reads as
 * the epoch, as BigQuery's nullable columns always have.
 */
export function instantCell(cell: unknown): Date {
  if (cell instanceof Date) return cell;
  return new Date((cell ?? 0) as string | number);
}

/** A timestamp cell as the ISO text JS writes (`2024-01-01T00:00:00.000Z`). */
export function isoCell(cell: unknown): string {
  return instantCell(cell).toISOString();
}

/** A text cell; a missing one (BigQuery's nullable columns) reads as ''. */
export function textCell(cell: unknown): string {
  return cell === null || cell === undefined ? '' : String(cell);
}

/** A count cell (BIGINT arrives as text from most drivers); a missing one reads as 0. */
export function countCell(cell: unknown): number {
  return Number(cell ?? 0);
}
