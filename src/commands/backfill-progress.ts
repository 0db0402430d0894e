/**
 * Progress of a backfill shard. On a terminal: one cli-progress bar (windows done / total, rows,
 * rate, ETA) on stderr. Anywhere else (a pod's log, a CI job): one structured log line per window,
 * so a log search can follow a shard and a dashboard can count windows without parsing a bar.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../core/contracts.js';
import { isoDate } from '../core/time.js';
import type { BackfillProgress, WindowEvent } from '../engine/backfill.js';

const fmt = new Intl.NumberFormat('en-US');

export function createProgress(
  log: Logger,
  stream: NodeJS.WritableStream & { isTTY?: boolean },
): BackfillProgress {
  return stream.isTTY === true ? barProgress(stream) : logProgress(log);
}

/** One info line per window (warn for a failed one): window, rows, attempts, duration, done/total. */
export function logProgress(root: Logger): BackfillProgress {
  let started = 0;
  let doneAtStart = 0;
  let log = root;
  return {
    start({ runId, shard, done }) {
      started = Date.now();
      doneAtStart = done;
      log = root.child({ run: runId, shard });
    },
    window(e: WindowEvent) {
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? (e.done + e.failed - doneAtStart) / elapsed : 0;
      const left = e.total - e.done - e.failed;
      log[e.status === 'done' ? 'info' : 'warn'](
        {
          stream: e.streamKey,
          window: `${isoDate(e.window.from)}..${isoDate(e.window.to)}`,
          status: e.status,
          rows: e.rows,
          upserted: e.upserted,
          attempts: e.attempts,
          ms: e.durationMs,
          done: e.done,
          failed: e.failed,
          total: e.total,
          ...(rate > 0 && left > 0 ? { etaS: Math.round(left / rate) } : {}),
          ...(e.error === undefined ? {} : { err: e.error }),
        },
        'backfill progress',
      );
    },
    stop() {},
  };
}

/** A single bar: `backfill 0/4 [====----] 12/31 windows | 1,234 rows | 2.1 windows/min | ETA 9m`. */
export function barProgress(stream: NodeJS.WritableStream): BackfillProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        'backfill {shard} [{bar}] {value}/{total} windows | {rows} rows | {rate} windows/min | ETA {eta_formatted}{failedText}',
      hideCursor: true,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let doneAtStart = 0;
  return {
    start({ shard, total, done }) {
      started = Date.now();
      doneAtStart = done;
      bar.start(total, done, { shard, rows: '0', rate: '-', failedText: '' });
    },
    window(e: WindowEvent) {
      const minutes = (Date.now() - started) / 60_000;
      const rate = minutes > 0 ? (e.done + e.failed - doneAtStart) / minutes : 0;
      if (e.total !== bar.getTotal()) bar.setTotal(e.total);
      bar.update(e.done + e.failed, {
        rows: fmt.format(e.rowsSoFar),
        rate: rate.toFixed(1),
        failedText: e.failed > 0 ? ` | ${e.failed} failed` : '',
      });
    },
    stop() {
      bar.stop();
    },
  };
}
