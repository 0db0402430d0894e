/**
 * Window planning: which half-open UTC intervals a run fetches, and where the mark moves after
 * each commit. The two rules that keep data exact:
 *  - the mark is the end of the last committed window (or the fetch instant when that window
 *    reached into the present), never max(cursor) of loaded rows: empty days cannot stall it and
 *    source clocks cannot skew it;
 *  - the mark never moves backwards (a lookback or a backfill re-reads old windows without
 *    pretending later ones are missing).
 */
import type { StreamState, Window, WriteMode } from '../core/contracts.js';
import { addDays, startOfUtcDay } from '../core/time.js';

export interface WindowPolicy {
  backfillDays: number;
  lookbackDays: number;
  windowDays: number;
}

export interface WindowPlan {
  windows: Window[];
  /** Why the range starts where it does, for `plan` and the logs. */
  reason: string;
}

/**
 * First run: the `backfillDays` UTC days ending with today (today included, re-read next run).
 * Later runs: from the start of the mark's day minus `lookbackDays` days, to the end of today.
 */
export function planIncremental(state: StreamState | null, now: Date, policy: WindowPolicy): WindowPlan {
  const end = addDays(startOfUtcDay(now), 1);
  if (!state?.highWaterMark) {
    const start = addDays(startOfUtcDay(now), -(policy.backfillDays - 1));
    return {
      windows: cutWindows(start, end, policy.windowDays),
      reason: `first run: backfill ${policy.backfillDays} days`,
    };
  }
  const mark = new Date(state.highWaterMark);
  const start = addDays(startOfUtcDay(mark), -policy.lookbackDays);
  return {
    windows: cutWindows(start, end, policy.windowDays),
    reason: `incremental: mark ${state.highWaterMark}, lookback ${policy.lookbackDays} day(s)`,
  };
}

/** The windows a run of a stream covers: one snapshot window, or incremental from the mark. */
export function planStream(
  writeMode: WriteMode,
  state: StreamState | null,
  now: Date,
  policy: WindowPolicy,
): WindowPlan {
  return writeMode === 'snapshot' ? planSnapshot(now) : planIncremental(state, now, policy);
}

/**
 * Windows clamped to the source's retention edge: windows wholly before `earliest` are dropped,
 * one straddling it starts at it. Returns the dropped range for a warning, or null.
 */
export function clampWindows(windows: Window[], earliest: Date): { windows: Window[]; lost: Window | null } {
  const kept: Window[] = [];
  let lostFrom: Date | null = null;
  let lostTo: Date | null = null;
  for (const w of windows) {
    if (w.from >= earliest) {
      kept.push(w);
      continue;
    }
    lostFrom ??= w.from;
    lostTo = w.to < earliest ? w.to : earliest;
    if (w.to > earliest) kept.push({ from: earliest, to: w.to });
  }
  return { windows: kept, lost: lostFrom && lostTo ? { from: lostFrom, to: lostTo } : null };
}

/** Snapshot streams: one window per run, the current UTC day (its `from` is the snapshot date). */
export function planSnapshot(now: Date): WindowPlan {
  const from = startOfUtcDay(now);
  return {
    windows: [{ from, to: addDays(from, 1) }],
    reason: `snapshot of ${from.toISOString().slice(0, 10)}`,
  };
}

/** [start, end) cut into windows of `windowDays` whole UTC days; the last one may be shorter. */
export function cutWindows(start: Date, end: Date, windowDays: number): Window[] {
  const windows: Window[] = [];
  for (let from = start; from < end; from = addDays(from, windowDays)) {
    const to = addDays(from, windowDays);
    windows.push({ from, to: to < end ? to : end });
  }
  return windows;
}

/** The mark after committing `window` at `fetchedAt`: never past what was fetched, never backwards. */
export function advanceMark(previous: string | null, window: Window, fetchedAt: Date): string {
  const reached = window.to < fetchedAt ? window.to : fetchedAt;
  if (previous && new Date(previous) >= reached) return previous;
  return reached.toISOString();
}
