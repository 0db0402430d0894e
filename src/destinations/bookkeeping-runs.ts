/**
 * `_exportsync_runs`, the run log, as a record ↔ row conversion every destination shares; each
 * backend keeps its own SQL (upsert dialect, casts, how it selects timestamps). The error text and
 * the stats JSON are redacted here, on the one way into the table: a backend that skipped it would
 * store a token quoted back by an API in a table users query. `metrics` and `exportsync runs` sum
 * these rows, so a row read back differently by one backend would change the counters.
 */
import type { RunRecord, RunStreamStats } from '../core/contracts.js';
import { redactSecrets } from '../core/errors.js';
import { countCell, isoCell, jsonCell, textCell } from './bookkeeping-cells.js';

export const RUNS_TABLE = '_exportsync_runs';

/** The columns of a run row; `runBinds` gives values in this order, and reads select it. */
export const RUN_COLUMNS = [
  'run_id',
  'command',
  'started_at',
  'finished_at',
  'status',
  'streams',
  'rows',
  'error',
  'stats',
] as const;

export type RunColumn = (typeof RUN_COLUMNS)[number];

/** A run row as a driver returned it, by column name (a missing cell counts as NULL). */
export type RunRow = Readonly<Partial<Record<RunColumn, unknown>>>;

/**
 * The values of `run`'s row: timestamps as the ISO text of the record, streams and stats as JSON
 * text, rows as decimal text (a BIGINT past 2^53 stays exact), absent fields as null.
 */
export function runValues(run: RunRecord): Record<RunColumn, string | null> {
  return {
    run_id: run.runId,
    command: run.command,
    started_at: run.startedAt,
    finished_at: run.finishedAt ?? null,
    status: run.status,
    streams: JSON.stringify(run.streams),
    rows: String(run.rows),
    error: run.error === undefined ? null : redactSecrets(run.error),
    stats: run.stats === undefined ? null : redactSecrets(JSON.stringify(run.stats)),
  };
}

/** `runValues` as positional binds, in `RUN_COLUMNS` order. */
export function runBinds(run: RunRecord): Array<string | null> {
  const values = runValues(run);
  return RUN_COLUMNS.map((c) => values[c]);
}

/**
 * A row read back (cells as its driver returned them, see bookkeeping-cells.ts) as the record.
 * Optional fields stored as NULL are absent from the record, not undefined.
 */
export function runFromRow(row: RunRow): RunRecord {
  return {
    runId: textCell(row.run_id),
    command: textCell(row.command),
    startedAt: isoCell(row.started_at),
    ...(row.finished_at === null || row.finished_at === undefined
      ? {}
      : { finishedAt: isoCell(row.finished_at) }),
    status: row.status as RunRecord['status'],
    streams: jsonCell<string[]>(row.streams ?? '[]'),
    rows: countCell(row.rows),
    ...(row.error === null || row.error === undefined ? {} : { error: textCell(row.error) }),
    ...(row.stats === null || row.stats === undefined
      ? {}
      : { stats: jsonCell<RunStreamStats[]>(row.stats) }),
  };
}
