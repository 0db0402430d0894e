/**
 * `_exportsync_state` (one high-water mark per stream, stored as JSON text or jsonb) and
 * `_exportsync_columns` (the persisted column map of each table), as every destination names and
 * reads them; the SQL stays with each backend. The names are shared so a warehouse moved from one
 * backend to another (or read by hand) has its bookkeeping where the docs say. A column map read
 * back differently from how it was written would make the schema layer rename or re-add columns
 * on the next run.
 */
import type { ColumnSpec, StreamState } from '../core/contracts.js';
import { jsonCell, textCell } from './bookkeeping-cells.js';

export const STATE_TABLE = '_exportsync_state';
export const COLUMNS_TABLE = '_exportsync_columns';

/** The `state` cell of a stream's row, or null when the stream has none (no row). */
export function stateFromCell(cell: unknown): StreamState | null {
  return cell === null || cell === undefined ? null : jsonCell<StreamState>(cell);
}

/** One row of `SELECT stream_key, state` as a listed state. */
export function stateEntryFromRow(row: { readonly stream_key?: unknown; readonly state?: unknown }): {
  streamKey: string;
  state: StreamState;
} {
  return { streamKey: textCell(row.stream_key), state: jsonCell<StreamState>(row.state) };
}

/** The columns a column map is read with, in this order (`ORDER BY ordinal`). */
export const COLUMN_MAP_READ = ['column_name', 'source_name', 'logical_type', 'origin'] as const;

/** A column map row as a driver returned it, by column name. */
export type ColumnMapRow = Readonly<Partial<Record<(typeof COLUMN_MAP_READ)[number], unknown>>>;

/** One row of `SELECT column_name, source_name, logical_type, origin` as a column of the map. */
export function columnFromRow(row: ColumnMapRow): ColumnSpec {
  return {
    name: textCell(row.column_name),
    source: textCell(row.source_name),
    type: row.logical_type as ColumnSpec['type'],
    origin: row.origin as ColumnSpec['origin'],
  };
}
