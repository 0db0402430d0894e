/**
 * One run: open the destination, record the run, sync the selected streams (p-limit across
 * streams, windows in order within each), record the outcome with per-stream stats, publish the
 * metrics (if configured), and decide the exit code.
 *
 * The run row is written twice: 'running' at the start (a run killed mid-way stays visible as
 * such) and its outcome at the end, with `stats` for every selected stream whatever the outcome —
 * failed and interrupted runs are the ones an operator most needs figures for.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import type {
  Destination,
  HttpClient,
  Logger,
  RunRecord,
  RunStreamStats,
  Window,
} from '../core/contracts.js';
import { EXIT, ExportSyncError, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { createHttpClient } from '../http/client.js';
import {
  countingHttpClient,
  metricsSettingsOf,
  publishRunMetrics,
  sourceRetries,
  type CountingHttpClient,
  type SourceHttpFigures,
} from '../metrics/index.js';
import { DriftWatcher } from '../contract/drift.js';
import { tableName } from '../schema/identifiers.js';
import { selectStreams } from './sources.js';
import { syncStream, type StreamResult } from './stream-sync.js';

export interface RunOptions {
  config: Config;
  destination: Destination;
  log: Logger;
  command?: string;
  /** `source.stream` or bare stream names from `--streams`. */
  streams?: string[];
  /** Explicit windows instead of planning from the mark (backfill). */
  windows?: Window[];
  now?: () => Date;
  /** Becomes true on SIGTERM/SIGINT: streams stop after the window in flight commits. */
  stopping?: () => boolean;
  signal?: AbortSignal;
}

export interface RunSummary {
  runId: string;
  status: 'ok' | 'partial' | 'failed' | 'interrupted';
  exitCode: number;
  streams: StreamResult[];
  requests: number;
  durationMs: number;
}

export async function runSync(options: RunOptions): Promise<RunSummary> {
  const { config, destination } = options;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  const log = options.log.child({ run: runId });
  const selected = selectStreams(config, options.streams, { now }); // connectors on the engine clock
  for (const source of new Set(selected.map((s) => s.source))) {
    for (const notice of source.notices ?? []) log.warn({ source: source.name }, notice);
  }
  const signal = options.signal ?? new AbortController().signal;
  const stopping = options.stopping ?? (() => false);

  const streamKeys = selected.map((s) => `${s.source.name}.${s.stream.name}`);
  await destination.recordRun({
    runId,
    command: options.command ?? 'run',
    startedAt: startedAt.toISOString(),
    status: 'running',
    streams: streamKeys,
    rows: 0,
  });

  // One HTTP client per source: the request budget and its count are per source.
  const clients = new Map<number, HttpClient>();
  const clientFor = (index: number, maxRequests: number): HttpClient => {
    const existing = clients.get(index);
    if (existing) return existing;
    const client = createHttpClient({
      log: log.child({ source: config.sources[index]?.name ?? config.sources[index]?.type }),
      retryAttempts: config.sync.retry.attempts,
      retryMinDelayMs: config.sync.retry.min_delay_ms,
      retryMaxDelayMs: config.sync.retry.max_delay_ms,
      requestTimeoutMs: config.sync.request_timeout_ms,
      maxRequests,
      userAgent: 'exportsync',
    });
    clients.set(index, client);
    return client;
  };

  const drift = new DriftWatcher();
  const limit = pLimit(config.sync.concurrency);
  // Per stream: a counting view of its source's client (budget shared) and the time it took.
  const views = selected.map((s) =>
    countingHttpClient(clientFor(s.sourceIndex, s.settings.max_requests_per_run)),
  );
  const durations = selected.map(() => 0);
  const tables = selected.map((s) =>
    tableName(s.source.name, s.stream.name, destination.capabilities.maxIdentifierLength),
  );
  const settled = await Promise.allSettled(
    selected.map((s, i) =>
      limit(async () => {
        const t0 = performance.now();
        try {
          return await syncStream({
            source: s.source,
            stream: s.stream,
            table: tables[i] as string,
            destination,
            http: views[i] as CountingHttpClient,
            policy: {
              backfillDays: s.settings.backfill_days,
              lookbackDays: s.settings.lookback_days,
              windowDays: s.stream.windowDays,
            },
            windows: options.windows,
            runId,
            startedAt,
            now,
            windowAttempts: config.sync.window_attempts,
            batchRows: config.sync.batch_rows,
            csvPassThrough: config.sync.csv_pass_through,
            lockWaitMs: config.sync.lock_wait_ms,
            columnBudget: config.sync.column_budget,
            log,
            stopping,
            signal,
            drift,
          });
        } finally {
          durations[i] = Math.round(performance.now() - t0);
        }
      }),
    ),
  );
  // syncStream reports its own failures; anything that still escapes is a bug, kept as that
  // stream's failure so the other streams' outcomes and the run's stats are not lost with it.
  const results = settled.map((r, i) =>
    r.status === 'fulfilled' ? r.value : crashed(streamKeys[i] as string, tables[i] as string, r.reason, log),
  );

  const summary = summarise(runId, results, [...clients.values()], now().getTime() - startedAt.getTime());
  const failed = results.filter((r) => r.status !== 'ok' && r.status !== 'interrupted');
  const record: RunRecord = {
    runId,
    command: options.command ?? 'run',
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    status: summary.status,
    streams: streamKeys,
    rows: results.reduce((n, r) => n + r.staged, 0),
    error: failed.length > 0 ? failed.map((r) => `${r.streamKey}: ${r.error}`).join('; ') : undefined,
    stats: results.map((r, i) => streamStats(r, views[i] as CountingHttpClient, durations[i] ?? 0)),
  };
  await destination
    .recordRun(record)
    .catch((err) => log.warn({ err: errorMessage(err) }, 'could not record the run outcome'));

  const metrics = metricsSettingsOf(config);
  if (metrics) {
    const sources: SourceHttpFigures[] = [];
    for (const [index, client] of clients) {
      const name = config.sources[index]?.name ?? String(index);
      const own = views.filter((_, i) => selected[i]?.sourceIndex === index);
      sources.push({ source: name, attempts: client.requestCount, retries: sourceRetries(client, own) });
    }
    await publishRunMetrics({ settings: metrics, run: record, destination, sources, log });
  }
  return summary;
}

/** One stream's line in the run record. */
function streamStats(r: StreamResult, http: CountingHttpClient, durationMs: number): RunStreamStats {
  return {
    streamKey: r.streamKey,
    status: r.status,
    windows: r.windows,
    staged: r.staged,
    upserted: r.upserted,
    deleted: r.deleted,
    lateRows: r.lateRows,
    requests: http.requests,
    bytes: http.bytes,
    durationMs,
    ...(r.error === undefined ? {} : { error: r.error }),
  };
}

function crashed(streamKey: string, table: string, err: unknown, log: Logger): StreamResult {
  const error = errorMessage(err);
  log.error({ stream: streamKey, err: error }, 'stream failed unexpectedly');
  return {
    streamKey,
    table,
    status: 'failed',
    windows: 0,
    windowsPlanned: 0,
    staged: 0,
    encoded: 0,
    upserted: 0,
    deleted: 0,
    lateRows: 0,
    highWaterMark: null,
    error,
    errorKind: err instanceof ExportSyncError ? err.kind : 'internal',
  };
}

function summarise(
  runId: string,
  results: StreamResult[],
  clients: HttpClient[],
  durationMs: number,
): RunSummary {
  const requests = clients.reduce((n, c) => n + c.requestCount, 0);
  const bad = results.filter((r) => r.status === 'failed' || r.status === 'locked');
  let status: RunSummary['status'];
  let exitCode: number;
  if (results.some((r) => r.status === 'interrupted')) {
    status = 'interrupted';
    exitCode = EXIT.interrupted;
  } else if (bad.length === 0) {
    status = 'ok';
    exitCode = EXIT.ok;
  } else if (bad.length < results.length) {
    status = 'partial';
    exitCode = EXIT.partial;
  } else {
    status = 'failed';
    exitCode = bad.every((r) => r.status === 'locked') ? EXIT.locked : EXIT.failed;
  }
  return { runId, status, exitCode, streams: results, requests, durationMs };
}
