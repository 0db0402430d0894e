/**
 * `_exportsync_windows`, the backfill ledger (one row per stream and window), as a record ↔ row
 * conversion every destination shares; each backend keeps its own SQL. A resumed or sharded
 * backfill decides which windows to skip from these records (backfill-plan.ts matches windows by
 * their exact instants), so a window read back shifted, or with another backend's rounding, would
 * be fetched again or, worse, skipped. The error text is redacted here, on the one way in.
 */
import type { WindowRecord } from '../core/contracts.js';
import { redactSecrets } from '../core/errors.js';
import { countCell, instantCell, isoCell, textCell } from './bookkeeping-cells.js';

export const WINDOWS_TABLE = '_exportsync_windows';

/** The columns of a ledger row, key first; `windowBinds` gives values in this order, reads select it. */
export const WINDOW_COLUMNS = [
  'stream_key',
  'window_from',
  'window_to',
  'backfill_id',
  'shard',
  'status',
  'rows',
  'attempts',
  'duration_ms',
  'error',
  'updated_at',
] as const;

export type WindowColumn = (typeof WINDOW_COLUMNS)[number];

/** A ledger row as a driver returned it, by column name (a missing cell counts as NULL). */
export type WindowRow = Readonly<Partial<Record<WindowColumn, unknown>>>;

/**
 * The values of `r`'s row: instants as ISO text, counts as decimal text (the duration rounded to a
 * whole millisecond: the column is an integer), no error as null.
 */
export function windowValues(r: WindowRecord): Record<WindowColumn, string | null> {
  return {
    stream_key: r.streamKey,
    window_from: r.window.from.toISOString(),
    window_to: r.window.to.toISOString(),
    backfill_id: r.backfillId,
    shard: r.shard,
    status: r.status,
    rows: String(r.rows),
    attempts: String(r.attempts),
    duration_ms: String(Math.round(r.durationMs)),
    error: r.error === undefined ? null : redactSecrets(r.error),
    updated_at: r.updatedAt,
  };
}

/** `windowValues` as positional binds, in `WINDOW_COLUMNS` order. */
export function windowBinds(r: WindowRecord): Array<string | null> {
  const values = windowValues(r);
  return WINDOW_COLUMNS.map((c) => values[c]);
}

/** A row read back (cells as its driver returned them, see bookkeeping-cells.ts) as the record. */
export function windowFromRow(row: WindowRow): WindowRecord {
  return {
    streamKey: textCell(row.stream_key),
    window: { from: instantCell(row.window_from), to: instantCell(row.window_to) },
    backfillId: textCell(row.backfill_id),
    shard: textCell(row.shard),
    status: row.status as WindowRecord['status'],
    rows: countCell(row.rows),
    attempts: countCell(row.attempts),
    durationMs: countCell(row.duration_ms),
    ...(row.error === null || row.error === undefined ? {} : { error: textCell(row.error) }),
    updatedAt: isoCell(row.updated_at),
  };
}

/** The records of `streamKeys` only (all when undefined), for backends that filter after reading. */
export function ofStreams(records: WindowRecord[], streamKeys?: readonly string[]): WindowRecord[] {
  if (!streamKeys) return records;
  const wanted = new Set(streamKeys);
  return records.filter((r) => wanted.has(r.streamKey));
}
