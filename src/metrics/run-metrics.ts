/**
 * The metrics of a run, computed from `_exportsync_runs` (the run log in the destination) plus the
 * run that just ended. The run log is the one source of truth, so the counters and the last-success
 * time survive pod restarts and come out the same for a textfile and a Pushgateway:
 * - `*_total` counters are sums over every recorded run's per-stream stats (run and backfill).
 *   Deleting old rows of `_exportsync_runs` lowers them, which Prometheus reads as a counter
 *   reset (rate() and increase() handle it).
 * - `exportsync_last_success_timestamp_seconds` is the end of the latest `run` (not backfill: a
 *   backfill does not move the daily mark, so its success must not hide a failing daily job) in
 *   which the stream ended `ok`. A stream that never succeeded has no such series.
 * - everything else describes the run that just ended (gauges).
 * When the run log cannot be read, the previous exposition (the textfile) stands in for the
 * history, so a database hiccup does not reset the counters or forget the last success.
 */
import type { RunRecord, RunStreamStats } from '../core/contracts.js';
import type { Labels, MetricFamily, Sample } from './prometheus.js';

export const RUN_STATUSES = ['ok', 'partial', 'failed', 'interrupted'] as const;
export const STREAM_STATUSES = ['ok', 'failed', 'locked', 'interrupted'] as const;

/** HTTP attempts and retries of one source in the run that just ended. */
export interface SourceHttpFigures {
  source: string;
  attempts: number;
  retries: number;
}

export interface RunMetricsInput {
  /** The run that just ended (finishedAt and stats set). */
  run: RunRecord;
  /** Recorded runs (any order; the current one may be among them), or null if unreadable. */
  history: RunRecord[] | null;
  /** Samples of the previous exposition: the fallback when `history` is null. */
  previous?: Array<{ name: string; labels: Labels; value: number }>;
  sources: SourceHttpFigures[];
}

/** Counters summed over the run log: metric name → the stats field it sums. */
const COUNTERS: Array<{ name: string; field: keyof RunStreamStats; help: string }> = [
  { name: 'exportsync_rows_total', field: 'staged', help: 'Rows read from the source and staged, all runs.' },
  {
    name: 'exportsync_rows_written_total',
    field: 'upserted',
    help: 'Rows inserted or changed in the warehouse, all runs.',
  },
  {
    name: 'exportsync_late_rows_total',
    field: 'lateRows',
    help: 'Rows inserted or changed by lookback windows (data that arrived late), all runs.',
  },
  {
    name: 'exportsync_requests_total',
    field: 'requests',
    help: 'HTTP requests issued by the stream (retries not included), all runs.',
  },
  { name: 'exportsync_bytes_total', field: 'bytes', help: 'Response body bytes read, all runs.' },
];

export const LAST_SUCCESS = 'exportsync_last_success_timestamp_seconds';

/** `scarf.events` → labels `{source="scarf", stream="scarf.events"}`. */
export function streamLabels(streamKey: string): Labels {
  const dot = streamKey.indexOf('.');
  return { source: dot > 0 ? streamKey.slice(0, dot) : streamKey, stream: streamKey };
}

const seconds = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : Date.parse(iso) / 1000;

export function runMetrics(input: RunMetricsInput): MetricFamily[] {
  const { run } = input;
  const stats = run.stats ?? [];
  const totals = new Map<string, Map<string, number>>(COUNTERS.map((c) => [c.name, new Map()]));
  const lastSuccess = new Map<string, number>();
  const add = (metric: string, stream: string, value: number): void => {
    const m = totals.get(metric) as Map<string, number>;
    m.set(stream, (m.get(stream) ?? 0) + value);
  };
  const succeeded = (stream: string, at: number | undefined): void => {
    if (at !== undefined && !Number.isNaN(at) && at > (lastSuccess.get(stream) ?? -Infinity))
      lastSuccess.set(stream, at);
  };

  const runs = input.history ? [...input.history.filter((r) => r.runId !== run.runId), run] : [run];
  for (const r of runs) {
    for (const s of r.stats ?? []) {
      for (const c of COUNTERS) add(c.name, s.streamKey, Number(s[c.field]) || 0);
      if (s.status === 'ok' && r.command === 'run') succeeded(s.streamKey, seconds(r.finishedAt));
    }
  }
  if (!input.history) {
    // the run log was unreadable: continue from the previous exposition
    for (const p of input.previous ?? []) {
      const stream = p.labels.stream;
      if (stream === undefined) continue;
      if (totals.has(p.name)) add(p.name, stream, p.value);
      if (p.name === LAST_SUCCESS) succeeded(stream, p.value);
    }
  }

  const perStream = (values: Map<string, number>): Sample[] =>
    [...values.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([stream, value]) => ({ labels: streamLabels(stream), value }));

  const finished = seconds(run.finishedAt) ?? Date.now() / 1000;
  const started = seconds(run.startedAt) ?? finished;
  const families: MetricFamily[] = [
    {
      name: 'exportsync_run_status',
      help: 'Outcome of the last run: 1 for its status, 0 for the others.',
      type: 'gauge',
      samples: RUN_STATUSES.map((status) => ({ labels: { status }, value: run.status === status ? 1 : 0 })),
    },
    {
      name: 'exportsync_run_timestamp_seconds',
      help: 'When the last run ended (Unix seconds), whatever its outcome.',
      type: 'gauge',
      samples: [{ labels: {}, value: finished }],
    },
    {
      name: 'exportsync_run_duration_seconds',
      help: 'Wall time of the last run.',
      type: 'gauge',
      samples: [{ labels: {}, value: Math.max(0, finished - started) }],
    },
    {
      name: LAST_SUCCESS,
      help: 'When a daily run last ended with this stream ok (Unix seconds). Alert on its age.',
      type: 'gauge',
      samples: perStream(lastSuccess),
    },
    {
      name: 'exportsync_stream_status',
      help: "The stream's outcome in the last run: 1 for its status, 0 for the others.",
      type: 'gauge',
      samples: [...stats]
        .sort((a, b) => a.streamKey.localeCompare(b.streamKey))
        .flatMap((s) =>
          STREAM_STATUSES.map((status) => ({
            labels: { ...streamLabels(s.streamKey), status },
            value: s.status === status ? 1 : 0,
          })),
        ),
    },
    {
      name: 'exportsync_duration_seconds',
      help: 'Time the stream took in the last run (lock, fetch, load, commit).',
      type: 'gauge',
      samples: perStream(new Map(stats.map((s) => [s.streamKey, s.durationMs / 1000]))),
    },
    ...COUNTERS.map((c): MetricFamily => ({
      name: c.name,
      help: c.help,
      type: 'counter',
      samples: perStream(totals.get(c.name) as Map<string, number>),
    })),
    {
      name: 'exportsync_run_http_attempts',
      help: 'HTTP attempts of the source in the last run, retries included (what the request budget counts).',
      type: 'gauge',
      samples: sourceSamples(input.sources, (s) => s.attempts),
    },
    {
      name: 'exportsync_run_retries',
      help: 'HTTP retries of the source in the last run (429, 5xx, resets, timeouts).',
      type: 'gauge',
      samples: sourceSamples(input.sources, (s) => s.retries),
    },
  ];
  return families;
}

function sourceSamples(sources: SourceHttpFigures[], value: (s: SourceHttpFigures) => number): Sample[] {
  return [...sources]
    .sort((a, b) => a.source.localeCompare(b.source))
    .map((s) => ({ labels: { source: s.source }, value: value(s) }));
}
