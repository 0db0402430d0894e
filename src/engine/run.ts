/**
 * One run: open the destination, record the run, sync the selected streams (p-limit across
 * streams, windows in order within each), record the outcome, and decide the exit code.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Destination, HttpClient, Logger, Window } from '../core/contracts.js';
import { EXIT, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { createHttpClient } from '../http/client.js';
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
  const selected = selectStreams(config, options.streams);
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
  const results = await Promise.all(
    selected.map((s) =>
      limit(() =>
        syncStream({
          source: s.source,
          stream: s.stream,
          table: tableName(s.source.name, s.stream.name, destination.capabilities.maxIdentifierLength),
          destination,
          http: clientFor(s.sourceIndex, s.settings.max_requests_per_run),
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
          lockWaitMs: config.sync.lock_wait_ms,
          columnBudget: config.sync.column_budget,
          log,
          stopping,
          signal,
          drift,
        }),
      ),
    ),
  );

  const summary = summarise(runId, results, [...clients.values()], now().getTime() - startedAt.getTime());
  const failed = results.filter((r) => r.status !== 'ok' && r.status !== 'interrupted');
  await destination
    .recordRun({
      runId,
      command: options.command ?? 'run',
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      status: summary.status,
      streams: streamKeys,
      rows: results.reduce((n, r) => n + r.staged, 0),
      error: failed.length > 0 ? failed.map((r) => `${r.streamKey}: ${r.error}`).join('; ') : undefined,
    })
    .catch((err) => log.warn({ err: errorMessage(err) }, 'could not record the run outcome'));
  return summary;
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
