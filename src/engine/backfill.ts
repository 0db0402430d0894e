/**
 * `exportsync backfill`: load a historical range window by window, recording each window in the
 * ledger (`_exportsync_windows`). Safe to shard, to kill and to re-run:
 *   - every shard computes the same window list and takes windows k ≡ i (mod n) (backfill-plan.ts),
 *     so two shards never take the same window; a lock per stream and shard keeps the same shard
 *     from running twice at once;
 *   - a window is 'done' only through the commit of its rows (CommitRequest.ledger), so a killed
 *     shard leaves its window 'running' and a re-run loads it again; done windows are skipped;
 *   - commits carry no state: a backfill never moves the daily run's mark, so it may run beside the
 *     daily CronJob (merge and replace_window are idempotent; commits of one table take turns);
 *   - a failed window is recorded 'failed' and the shard goes on with its next window.
 */
import { randomUUID } from 'node:crypto';
import type {
  CsvRows,
  Destination,
  HttpClient,
  Load,
  LoadRequest,
  Logger,
  RunStreamStats,
  StreamLock,
  TableSchema,
  Window,
  WindowRecord,
} from '../core/contracts.js';
import { EXIT, ExportSyncError, LockedError, errorMessage, isRangeTooLong } from '../core/errors.js';
import { isoDate } from '../core/time.js';
import type { Config } from '../config/load.js';
import { DriftWatcher } from '../contract/drift.js';
import { createHttpClient } from '../http/client.js';
import { RowMapper } from '../schema/mapper.js';
import { tableName } from '../schema/identifiers.js';
import {
  isCovered,
  planBackfill,
  shardLabel,
  shardWindows,
  type PlannedWindow,
  type Shard,
} from './backfill-plan.js';
import { selectStreams } from './sources.js';
import { settleBulkLoad, splitWindow, syncWindow } from './stream-sync.js';

export interface BackfillOptions {
  config: Config;
  destination: Destination;
  log: Logger;
  /** The half-open UTC range [from, to) of whole days. */
  range: Window;
  /** `source.stream` or bare stream names from `--streams`. */
  streams?: string[];
  shard?: Shard;
  /** Load windows the ledger says are done again. */
  redo?: boolean;
  now?: () => Date;
  /** Becomes true on SIGTERM/SIGINT: stop after the window in flight commits. */
  stopping?: () => boolean;
  signal?: AbortSignal;
  progress?: BackfillProgress;
}

/** What the command shows while a backfill runs (a bar on a TTY, a log line per window otherwise). */
export interface BackfillProgress {
  start(info: { runId: string; shard: string; total: number; done: number }): void;
  window(event: WindowEvent): void;
  stop(): void;
}

export interface WindowEvent {
  streamKey: string;
  window: Window;
  status: 'done' | 'failed';
  rows: number;
  upserted: number;
  attempts: number;
  durationMs: number;
  error?: string;
  /** Windows of this shard done so far (those done before this backfill included), failed, total. */
  done: number;
  failed: number;
  total: number;
  /** Rows staged by this process so far. */
  rowsSoFar: number;
}

export interface BackfillSummary {
  runId: string;
  shard: string;
  status: 'ok' | 'partial' | 'failed' | 'interrupted';
  exitCode: number;
  /** Windows of this shard; of them already done (skipped), committed now, failed, not reached. */
  total: number;
  skipped: number;
  committed: number;
  failed: Array<{ streamKey: string; window: Window; error: string }>;
  left: number;
  rows: number;
  upserted: number;
  requests: number;
  durationMs: number;
  /** Streams that cannot be backfilled, with the reason. */
  notBackfillable: Array<{ streamKey: string; reason: string }>;
  streams: RunStreamStats[];
}

const range = (w: Window) => `${isoDate(w.from)}..${isoDate(w.to)}`;

export async function runBackfill(o: BackfillOptions): Promise<BackfillSummary> {
  const now = o.now ?? (() => new Date());
  const startedAt = now();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  const shard = o.shard ?? { index: 0, count: 1 };
  const label = shardLabel(shard);
  const log = o.log.child({ run: runId, shard: label });
  const signal = o.signal ?? new AbortController().signal;
  const stopping = o.stopping ?? (() => false);
  const selected = selectStreams(o.config, o.streams, { now });

  const plan = planBackfill(selected, o.range, startedAt);
  for (const s of plan.skipped) log.warn({ stream: s.streamKey }, `not backfillable: ${s.reason}`);
  warnLost(plan.lost, log);
  const mine = shardWindows(plan, shard);
  const streamKeys = [...new Set(mine.map((w) => w.streamKey))];

  // at least a second: `backfill status` probes shard locks for an instant to tell live from dead
  const locks = await lockShard(o.destination, streamKeys, label, Math.max(o.config.sync.lock_wait_ms, 1000));
  try {
    // resume: windows covered by done ledger rows are skipped (unless --redo)
    const done = new Map<string, Window[]>();
    if (!o.redo && streamKeys.length > 0) {
      for (const r of await o.destination.listWindows(streamKeys)) {
        if (r.status !== 'done') continue;
        done.set(r.streamKey, [...(done.get(r.streamKey) ?? []), r.window]);
      }
    }
    const todo = mine.filter((w) => !isCovered(w.window, done.get(w.streamKey) ?? []));
    const summary: BackfillSummary = {
      runId,
      shard: label,
      status: 'ok',
      exitCode: EXIT.ok,
      total: mine.length,
      skipped: mine.length - todo.length,
      committed: 0,
      failed: [],
      left: 0,
      rows: 0,
      upserted: 0,
      requests: 0,
      durationMs: 0,
      notBackfillable: plan.skipped,
      streams: [],
    };
    log.info(
      {
        from: isoDate(o.range.from),
        to: isoDate(o.range.to),
        windows: mine.length,
        alreadyDone: summary.skipped,
        streams: streamKeys,
        redo: o.redo === true,
      },
      'backfill start',
    );
    await o.destination.recordRun({
      runId,
      command: 'backfill',
      startedAt: startedAt.toISOString(),
      status: 'running',
      streams: streamKeys,
      rows: 0,
    });

    const worker = new ShardWorker(o, runId, label, startedAt, log, signal);
    o.progress?.start({ runId, shard: label, total: summary.total, done: summary.skipped });
    const queue: PlannedWindow[] = [...todo];
    try {
      for (let w = queue.shift(); w; w = queue.shift()) {
        if (stopping() || signal.aborted) {
          summary.status = 'interrupted';
          summary.left = queue.length + 1;
          log.warn({ left: summary.left }, 'stopping after signal; a re-run resumes the windows left');
          break;
        }
        const outcome = await worker.window(w);
        if (outcome.split) {
          queue.unshift(...outcome.split);
          summary.total += outcome.split.length - 1;
          continue;
        }
        summary.rows += outcome.event.rows;
        summary.upserted += outcome.event.upserted;
        if (outcome.event.status === 'done') summary.committed += 1;
        else
          summary.failed.push({ streamKey: w.streamKey, window: w.window, error: outcome.event.error ?? '' });
        o.progress?.window({
          ...outcome.event,
          done: summary.skipped + summary.committed,
          failed: summary.failed.length,
          total: summary.total,
          rowsSoFar: summary.rows,
        });
      }
    } finally {
      o.progress?.stop();
    }

    // bulk first loads this shard took part in end keyed (an interrupted shard leaves that to the next run)
    if (summary.status !== 'interrupted' && !signal.aborted) {
      const tables = new Map(
        mine.map((w) => [
          w.streamKey,
          tableName(
            w.selected.source.name,
            w.selected.stream.name,
            o.destination.capabilities.maxIdentifierLength,
          ),
        ]),
      );
      for (const [streamKey, table] of tables) {
        const slog = log.child({ stream: streamKey });
        await settleBulkLoad(o.destination, table, slog).catch((err: unknown) =>
          slog.warn({ err: errorMessage(err) }, 'could not settle the bulk first load; the next run will'),
        );
      }
    }
    summary.requests = worker.requests();
    summary.durationMs = now().getTime() - startedAt.getTime();
    summary.streams = worker.stats(streamKeys);
    decide(summary);
    await o.destination
      .recordRun({
        runId,
        command: 'backfill',
        startedAt: startedAt.toISOString(),
        finishedAt: now().toISOString(),
        status: summary.status,
        streams: streamKeys,
        rows: summary.rows,
        ...(summary.failed.length > 0
          ? { error: summary.failed.map((f) => `${f.streamKey} ${range(f.window)}: ${f.error}`).join('; ') }
          : {}),
        stats: summary.streams,
      })
      .catch((err) => log.warn({ err: errorMessage(err) }, 'could not record the backfill outcome'));
    return summary;
  } finally {
    for (const l of locks) await l.release().catch(() => undefined);
  }
}

/** ok · partial (some windows failed, exit 3) · failed (every attempted window failed, exit 1) · interrupted (130). */
function decide(s: BackfillSummary): void {
  if (s.status === 'interrupted') {
    s.exitCode = EXIT.interrupted;
  } else if (s.failed.length === 0) {
    s.status = 'ok';
    s.exitCode = EXIT.ok;
  } else if (s.committed > 0) {
    s.status = 'partial';
    s.exitCode = EXIT.partial;
  } else {
    s.status = 'failed';
    s.exitCode = EXIT.failed;
  }
}

/**
 * One lock per stream and shard (`scarf.events@shard:0/4`): shards of one stream run at once,
 * the same shard never twice (a Job retrying a pod whose predecessor still runs).
 */
async function lockShard(
  destination: Destination,
  streamKeys: string[],
  label: string,
  waitMs: number,
): Promise<StreamLock[]> {
  const held: StreamLock[] = [];
  try {
    for (const key of streamKeys) held.push(await destination.lock(`${key}@shard:${label}`, waitMs));
    return held;
  } catch (err) {
    for (const l of held) await l.release().catch(() => undefined);
    if (err instanceof LockedError) {
      throw new LockedError(`backfill shard ${label} is already running elsewhere (${err.message})`);
    }
    throw err;
  }
}

function warnLost(lost: Array<{ streamKey: string; window: Window; earliest: Date }>, log: Logger): void {
  const byStream = new Map<string, { from: Date; to: Date; earliest: Date }>();
  for (const l of lost) {
    const seen = byStream.get(l.streamKey);
    if (!seen) byStream.set(l.streamKey, { from: l.window.from, to: l.window.to, earliest: l.earliest });
    else if (l.window.to > seen.to) seen.to = l.window.to;
  }
  for (const [stream, l] of byStream) {
    log.warn(
      { stream, lost_from: isoDate(l.from), lost_to: isoDate(l.to), earliest: l.earliest.toISOString() },
      'range before the source retention edge skipped: the source no longer has it, warehouse rows there are kept',
    );
  }
}

type Outcome =
  | { split: PlannedWindow[]; event?: never }
  | { split?: never; event: Omit<WindowEvent, 'done' | 'failed' | 'total' | 'rowsSoFar'> };

/** Loads the windows of one shard, one at a time, and keeps per-stream figures. */
class ShardWorker {
  private readonly clients = new Map<number, HttpClient>();
  private readonly perStream = new Map<string, RunStreamStats>();
  private readonly drift = new DriftWatcher();

  constructor(
    private readonly o: BackfillOptions,
    private readonly runId: string,
    private readonly shard: string,
    private readonly startedAt: Date,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  async window(w: PlannedWindow): Promise<Outcome> {
    const { destination } = this.o;
    const s = w.selected;
    const log = this.log.child({ stream: w.streamKey });
    const started = Date.now();
    const record = (over: Partial<WindowRecord>): WindowRecord => ({
      streamKey: w.streamKey,
      window: w.window,
      backfillId: this.runId,
      shard: this.shard,
      status: 'running',
      rows: 0,
      attempts: 0,
      durationMs: Date.now() - started,
      updatedAt: new Date().toISOString(),
      ...over,
    });
    const stats = this.statsOf(w.streamKey);
    let attempts = 0;
    let staged = 0;
    const http = this.client(s.sourceIndex, s.settings.max_requests_per_run);
    const requestsBefore = http.requestCount;
    try {
      await destination.recordWindow(record({}));
      const table = tableName(s.source.name, s.stream.name, destination.capabilities.maxIdentifierLength);
      // a fresh mapper per window starts from the column map other shards may have grown meanwhile
      const mapper = new RowMapper({
        table,
        stream: s.stream,
        persisted: await destination.getColumnMap(table),
        capabilities: destination.capabilities,
        columnBudget: this.o.config.sync.column_budget,
        runId: this.runId,
        loadedAt: this.startedAt.toISOString(),
        log,
      });
      const counted = countingDestination(destination, {
        begin: () => {
          attempts += 1;
          staged = 0;
        },
        wrote: (n) => (staged += n),
      });
      const { commit } = await syncWindow(
        {
          source: s.source,
          stream: s.stream,
          destination: counted,
          http,
          runId: this.runId,
          windowAttempts: this.o.config.sync.window_attempts,
          batchRows: this.o.config.sync.batch_rows,
          csvPassThrough: this.o.config.sync.csv_pass_through,
          signal: this.signal,
          drift: this.drift,
        },
        mapper,
        w.window,
        log,
        undefined,
        (attempt) => ({ ledger: record({ status: 'done', rows: staged, attempts: attempt }) }),
      );
      const durationMs = Date.now() - started;
      stats.requests += http.requestCount - requestsBefore;
      stats.windows += 1;
      stats.staged += commit.staged;
      stats.upserted += commit.upserted;
      stats.deleted += commit.deleted;
      stats.durationMs += durationMs;
      return {
        event: {
          streamKey: w.streamKey,
          window: w.window,
          status: 'done',
          rows: commit.staged,
          upserted: commit.upserted,
          attempts,
          durationMs,
        },
      };
    } catch (err) {
      const durationMs = Date.now() - started;
      stats.durationMs += durationMs;
      stats.requests += http.requestCount - requestsBefore;
      const halves = isRangeTooLong(err) ? splitWindow(w.window) : null;
      const error = halves
        ? `the source refused the range as too long; loaded as ${halves.map(range).join(' and ')}`
        : errorMessage(err);
      await destination
        .recordWindow(record({ status: 'failed', attempts, durationMs, error }))
        .catch((e) => log.warn({ err: errorMessage(e) }, 'could not record the failed window in the ledger'));
      if (halves) {
        log.warn({ window: range(w.window) }, 'range too long, splitting window');
        return { split: halves.map((h) => ({ ...w, window: h })) };
      }
      stats.status = 'failed';
      stats.error = error;
      log.error(
        {
          window: range(w.window),
          attempts,
          kind: err instanceof ExportSyncError ? err.kind : 'internal',
          err: error,
        },
        'backfill window failed',
      );
      return {
        event: {
          streamKey: w.streamKey,
          window: w.window,
          status: 'failed',
          rows: 0,
          upserted: 0,
          attempts,
          durationMs,
          error,
        },
      };
    }
  }

  requests(): number {
    return [...this.clients.values()].reduce((n, c) => n + c.requestCount, 0);
  }

  stats(streamKeys: string[]): RunStreamStats[] {
    return streamKeys.map((k) => this.statsOf(k));
  }

  private statsOf(streamKey: string): RunStreamStats {
    let s = this.perStream.get(streamKey);
    if (!s) {
      s = {
        streamKey,
        status: 'ok',
        windows: 0,
        staged: 0,
        upserted: 0,
        deleted: 0,
        lateRows: 0,
        requests: 0,
        bytes: 0,
        durationMs: 0,
      };
      this.perStream.set(streamKey, s);
    }
    return s;
  }

  /** One HTTP client per source: its request budget (`max_requests_per_run`) covers this whole process. */
  private client(index: number, maxRequests: number): HttpClient {
    const existing = this.clients.get(index);
    if (existing) return existing;
    const { config } = this.o;
    const client = createHttpClient({
      log: this.log.child({ source: config.sources[index]?.name ?? config.sources[index]?.type }),
      retryAttempts: config.sync.retry.attempts,
      retryMinDelayMs: config.sync.retry.min_delay_ms,
      retryMaxDelayMs: config.sync.retry.max_delay_ms,
      requestTimeoutMs: config.sync.request_timeout_ms,
      maxRequests,
      userAgent: 'exportsync',
    });
    this.clients.set(index, client);
    return client;
  }
}

/**
 * The destination as `syncWindow` sees it, counting attempts (one `beginLoad` each) and staged
 * rows, so the ledger can say how many attempts a window took even when it failed.
 */
function countingDestination(
  destination: Destination,
  on: { begin(): void; wrote(rows: number): void },
): Destination {
  const beginLoad = async (request: LoadRequest): Promise<Load> => {
    on.begin();
    const load = await destination.beginLoad(request);
    return {
      write: (rows, schema) => {
        on.wrote(rows.length);
        return load.write(rows, schema);
      },
      ...(load.writeCsv && {
        writeCsv: (rows: CsvRows, schema: TableSchema) => {
          on.wrote(rows.rows);
          return (load.writeCsv as NonNullable<Load['writeCsv']>).call(load, rows, schema);
        },
      }),
      commit: (req) => load.commit(req),
      abort: () => load.abort(),
    };
  };
  return new Proxy(destination, {
    get(target, prop) {
      if (prop === 'beginLoad') return beginLoad;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
