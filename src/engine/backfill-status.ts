/**
 * `exportsync backfill status`: what the ledger says about each stream's windows. The windows
 * are planned the way the backfill plans them (the stream's `windowDays`, over `--from/--to`, or
 * over the range the ledger has seen), and each is classified:
 *   done        covered by 'done' rows (written only with the window's rows, so the data is there)
 *   running     a 'running' row whose shard still holds its lock (a live process is on it)
 *   interrupted a 'running' row nobody holds: its process died (SIGKILL, OOM); a re-run loads it
 *   failed      the latest attempt failed (its error is shown)
 *   missing     no row at all: not reached yet, or outside every backfill so far
 * A 'running' or 'failed' row that later done rows cover (a window split in halves) counts as done.
 */
import type { Destination, Window, WindowRecord } from '../core/contracts.js';
import { isCovered, streamKeyOf } from './backfill-plan.js';
import type { SelectedStream } from './sources.js';
import { clampWindows, cutWindows } from './windows.js';

export interface StreamBackfillStatus {
  streamKey: string;
  /** The range the windows were planned over; null when the ledger has no row and no range was given. */
  range: Window | null;
  windows: number;
  done: number;
  running: number;
  interrupted: number;
  failed: number;
  missing: number;
  /** Rows staged by the done windows of the range. */
  rows: number;
  lastError?: { window: Window; shard: string; error: string; updatedAt: string };
  lastUpdate?: string;
  /** Why the stream is not backfillable (snapshot, file stream). */
  notBackfillable?: string;
}

export async function backfillStatus(o: {
  destination: Destination;
  selected: SelectedStream[];
  range?: Window;
  now: Date;
}): Promise<StreamBackfillStatus[]> {
  const keys = o.selected.map(streamKeyOf);
  const ledger = keys.length > 0 ? await o.destination.listWindows(keys) : [];
  const live = liveness(o.destination);
  const out: StreamBackfillStatus[] = [];
  for (const s of [...o.selected].sort((a, b) => (streamKeyOf(a) < streamKeyOf(b) ? -1 : 1))) {
    const streamKey = streamKeyOf(s);
    const rows = ledger.filter((r) => r.streamKey === streamKey);
    const status: StreamBackfillStatus = {
      streamKey,
      range: null,
      windows: 0,
      done: 0,
      running: 0,
      interrupted: 0,
      failed: 0,
      missing: 0,
      rows: 0,
    };
    out.push(status);
    if (s.stream.writeMode === 'snapshot' || s.stream.listUnits) {
      status.notBackfillable = s.stream.writeMode === 'snapshot' ? 'snapshot stream' : 'file stream';
      continue;
    }
    const range = o.range ?? extent(rows);
    if (!range) continue;
    status.range = range;
    const edge = s.stream.earliestAvailable?.(o.now);
    const planned = cutWindows(range.from, range.to, s.stream.windowDays);
    const windows = edge ? clampWindows(planned, edge).windows : planned;
    const inRange = rows.filter((r) => overlaps(r.window, range));
    const done = inRange.filter((r) => r.status === 'done');
    const doneWindows = done.map((r) => r.window);
    status.windows = windows.length;
    status.rows = done.reduce((n, r) => n + r.rows, 0);
    for (const w of windows) {
      if (isCovered(w, doneWindows)) {
        status.done += 1;
        continue;
      }
      // the latest attempt on any part of the window decides
      const latest = inRange
        .filter((r) => r.status !== 'done' && overlaps(r.window, w))
        .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1))[0];
      if (!latest) status.missing += 1;
      else if (latest.status === 'failed') status.failed += 1;
      else if (await live(streamKey, latest.shard)) status.running += 1;
      else status.interrupted += 1;
    }
    const failed = inRange
      .filter((r) => r.status === 'failed' && r.error !== undefined && !isCovered(r.window, doneWindows))
      .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1))[0];
    if (failed) {
      status.lastError = {
        window: failed.window,
        shard: failed.shard,
        error: failed.error ?? '',
        updatedAt: failed.updatedAt,
      };
    }
    const last = [...inRange].sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1))[0];
    if (last) status.lastUpdate = last.updatedAt;
  }
  return out;
}

/** Whether a process holds the lock of `stream@shard:i/n` (probed without waiting, cached). */
function liveness(destination: Destination): (streamKey: string, shard: string) => Promise<boolean> {
  const cache = new Map<string, Promise<boolean>>();
  return (streamKey, shard) => {
    const key = `${streamKey}@shard:${shard}`;
    let known = cache.get(key);
    if (!known) {
      known = destination.lock(key, 0).then(
        async (lock) => {
          await lock.release();
          return false;
        },
        // held elsewhere (LockedError), or a lock we cannot probe: reported as running, since
        // calling a live shard dead would invite a second process onto its windows
        () => true,
      );
      cache.set(key, known);
    }
    return known;
  };
}

/** [earliest from, latest to) of the rows, or null. */
function extent(rows: WindowRecord[]): Window | null {
  if (rows.length === 0) return null;
  let from = rows[0]!.window.from;
  let to = rows[0]!.window.to;
  for (const r of rows) {
    if (r.window.from < from) from = r.window.from;
    if (r.window.to > to) to = r.window.to;
  }
  return { from, to };
}

function overlaps(a: Window, b: Window): boolean {
  return a.from < b.to && b.from < a.to;
}
