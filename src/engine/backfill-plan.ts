/**
 * Which windows a backfill covers and which shard takes each. Every shard of a backfill computes
 * the same global list on its own (no coordinator), so the list must depend only on what all
 * shards are given alike — the config, `--from/--to`, `--streams` — never on the clock or on
 * the ledger: if two shards saw different lists, a window could fall between them (lost) or be
 * taken by both. Hence:
 *   - order: stream key, then window start; window k of that list belongs to shard k mod n;
 *   - the retention clamp (a clock-dependent edge) is applied after assignment, per window, so a
 *     pod retried a day later still owns exactly the windows it owned before;
 *   - resume (skipping windows the ledger says are done) happens after assignment too.
 */
import type { Window } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import type { SelectedStream } from './sources.js';
import { cutWindows } from './windows.js';

export interface Shard {
  /** 0-based index of this process (Kubernetes' JOB_COMPLETION_INDEX). */
  index: number;
  /** Number of shards (the Job's completions). */
  count: number;
}

/** `i/n` with 0 <= i < n: what `--shard` takes, what the ledger's `shard` column holds. */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** Parses `--shard i/n` (0-based i, as `$JOB_COMPLETION_INDEX/$N` gives it); ConfigError naming the flag. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) {
    throw new ConfigError(
      `--shard: expected i/n with 0 <= i < n (e.g. 0/4, or $JOB_COMPLETION_INDEX/4), got ${JSON.stringify(text)}`,
    );
  }
  return { index, count };
}

export interface PlannedWindow {
  /** Position in the global order; the shard is `index mod n`. */
  index: number;
  streamKey: string;
  selected: SelectedStream;
  /** The window to fetch and commit: the planned one, clamped to the source's retention edge. */
  window: Window;
}

export interface BackfillPlan {
  /** Every window of the range, all shards, in global order (retention-clamped; lost ones absent). */
  windows: PlannedWindow[];
  /** Streams a date-range backfill cannot load, with the reason. */
  skipped: Array<{ streamKey: string; reason: string }>;
  /** Ranges before a stream's retention edge: the source no longer has them. */
  lost: Array<{ streamKey: string; window: Window; earliest: Date }>;
}

export const streamKeyOf = (s: SelectedStream): string => `${s.source.name}.${s.stream.name}`;

/**
 * The windows of [from, to) for each stream, cut by the stream's `windowDays`, in global order.
 * Snapshot streams (the source only has the current state) and file streams (units come from a
 * bucket listing, not a date range) are not backfillable and are listed in `skipped`.
 */
export function planBackfill(selected: SelectedStream[], range: Window, now: Date): BackfillPlan {
  const plan: BackfillPlan = { windows: [], skipped: [], lost: [] };
  const ordered = [...selected].sort((a, b) => compare(streamKeyOf(a), streamKeyOf(b)));
  let index = 0;
  for (const s of ordered) {
    const streamKey = streamKeyOf(s);
    if (s.stream.writeMode === 'snapshot') {
      plan.skipped.push({
        streamKey,
        reason: 'snapshot stream: the source only serves its current state, there is no history to backfill',
      });
      continue;
    }
    if (s.stream.listUnits) {
      plan.skipped.push({
        streamKey,
        reason:
          'file stream: its units come from the bucket listing, not a date range (the daily run loads every new file)',
      });
      continue;
    }
    const edge = s.stream.earliestAvailable?.(now);
    for (const planned of cutWindows(range.from, range.to, s.stream.windowDays)) {
      const k = index++;
      if (edge && planned.to <= edge) {
        plan.lost.push({ streamKey, window: planned, earliest: edge });
        continue;
      }
      const window = edge && planned.from < edge ? { from: edge, to: planned.to } : planned;
      if (window !== planned)
        plan.lost.push({ streamKey, window: { from: planned.from, to: edge! }, earliest: edge! });
      plan.windows.push({ index: k, streamKey, selected: s, window });
    }
  }
  return plan;
}

/** The windows of one shard, in global order. */
export function shardWindows(plan: BackfillPlan, shard: Shard): PlannedWindow[] {
  return plan.windows.filter((w) => w.index % shard.count === shard.index);
}

/**
 * True when `done` windows (of one stream) cover every instant of `window`. A window is done
 * when its exact ledger row is, and also when smaller done windows cover it (a window that was
 * split because the source refused its range, or a backfill re-run with smaller windows).
 */
export function isCovered(window: Window, done: Window[]): boolean {
  let reached = window.from.getTime();
  const end = window.to.getTime();
  const sorted = done
    .filter((d) => d.to.getTime() > reached && d.from.getTime() < end)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
  for (const d of sorted) {
    if (d.from.getTime() > reached) return false;
    reached = Math.max(reached, d.to.getTime());
    if (reached >= end) return true;
  }
  return reached >= end;
}

/** Plain code-unit order: the same in every process whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
