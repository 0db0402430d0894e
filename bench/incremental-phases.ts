/**
 * What the timeline of bench/incremental-trace.ts says about a CLI child: each SQL statement
 * classified by its job, and the child's time cut into phases. Shared by bench/incremental.ts,
 * bench/dynamic-columns.ts and bench/backfill-latency.ts.
 *
 * Phases are sums over the process (one sync or one backfill shard), not a critical path:
 *  - `http wait` — request sent → response headers (the source's latency);
 *  - `stream` — headers → body read to the end: read, parse, map and stage run interleaved then;
 *  - every statement class except `copy` (which stays open while the body streams, so it overlaps
 *    `stream`) — one column each;
 *  - `other` — the child's lifetime minus all of the above: module loading, config, Node CPU
 *    outside the body loop, waits between statements.
 */

export interface TraceEvent {
  /** Kind (a statement class, or `http wait` / `http body`). */
  k: string;
  /** Start and end, ms since the preload ran. */
  s: number;
  e: number;
}

export interface TraceFile {
  totalMs: number;
  events: TraceEvent[];
  /** The first statement of each class, for checking the classification. */
  samples: Record<string, string>;
}

/** Statement classes, in the order tables show them. */
export const STATEMENT_KINDS = [
  'copy',
  'staging ddl',
  'staging checks',
  'commit lock wait',
  'merge',
  'history',
  'mark vanished',
  'target ddl',
  'catalog read',
  'column map',
  'state',
  'ledger',
  'runs',
  'stream lock',
  'tx',
  'bootstrap',
  'other sql',
] as const;

/** The classes that are schema work (evolution): DDL, catalog reads, the column map. */
export const SCHEMA_KINDS = new Set(['staging ddl', 'target ddl', 'catalog read', 'column map']);

export function kindOf(sql: string): string {
  const text = sql.trimStart();
  const u = text.slice(0, 600).toUpperCase();
  if (/^(BEGIN|COMMIT|ROLLBACK|SET |START TRANSACTION|CHECKPOINT)/.test(u)) return 'tx';
  if (u.includes('PG_ADVISORY_XACT_LOCK')) return 'commit lock wait';
  if (/PG_(TRY_)?ADVISORY_(UN)?LOCK|PG_LOCKS/.test(u)) return 'stream lock';
  if (u.startsWith('COPY')) return 'copy';
  if (/^(CREATE SCHEMA|CREATE TABLE IF NOT EXISTS|ALTER TABLE \S+ ADD COLUMN IF NOT EXISTS)/.test(u))
    return 'bootstrap';
  if (u.includes('_EXPORTSYNC_COLUMNS')) return 'column map';
  if (u.includes('_EXPORTSYNC_WINDOWS')) return 'ledger';
  if (u.includes('_EXPORTSYNC_STATE')) return 'state';
  if (u.includes('_EXPORTSYNC_RUNS')) return 'runs';
  if (/INFORMATION_SCHEMA|DUCKDB_COLUMNS|DUCKDB_TABLES|PG_NAMESPACE|PG_CLASS|PG_ATTRIBUTE/.test(u))
    return 'catalog read';
  const staging = /PG_TEMP\.|TEMP\.MAIN\.|CREATE TEMP/.test(u);
  if (staging && /^(CREATE|ALTER|DROP)/.test(u)) return 'staging ddl';
  if (/^(CREATE|ALTER|DROP)/.test(u)) return 'target ddl';
  if (/^UPDATE .*_DELETED_AT/s.test(u)) return 'mark vanished';
  if (/^(INSERT INTO|MERGE INTO|DELETE FROM)\s+\S*_HISTORY"/.test(u)) return 'history';
  if (/^(INSERT|MERGE|DELETE|UPDATE)/.test(u)) return 'merge';
  if (staging || u.includes('_EXPORTSYNC_STAGE')) return 'staging checks';
  return 'other sql';
}

export interface Phases {
  /** The child's lifetime as the preload saw it (module loading before the preload excluded). */
  totalMs: number;
  httpWaitMs: number;
  streamMs: number;
  requests: number;
  /** Statement class → [count, ms]. */
  statements: Map<string, { count: number; ms: number }>;
  /** totalMs minus http wait, stream and every statement class but copy. */
  otherMs: number;
}

export function phasesOf(trace: TraceFile): Phases {
  const statements = new Map<string, { count: number; ms: number }>();
  let httpWaitMs = 0;
  let streamMs = 0;
  let requests = 0;
  for (const ev of trace.events) {
    const ms = ev.e - ev.s;
    if (ev.k === 'http wait') {
      httpWaitMs += ms;
      requests++;
    } else if (ev.k === 'http body') streamMs += ms;
    else {
      const t = statements.get(ev.k) ?? { count: 0, ms: 0 };
      t.count++;
      t.ms += ms;
      statements.set(ev.k, t);
    }
  }
  let accounted = httpWaitMs + streamMs;
  for (const [k, t] of statements) if (k !== 'copy') accounted += t.ms;
  return {
    totalMs: trace.totalMs,
    httpWaitMs,
    streamMs,
    requests,
    statements,
    otherMs: Math.max(0, trace.totalMs - accounted),
  };
}

/** Adds several processes' phases (the shards of one backfill). */
export function addPhases(list: Phases[]): Phases {
  const statements = new Map<string, { count: number; ms: number }>();
  for (const p of list) {
    for (const [k, t] of p.statements) {
      const sum = statements.get(k) ?? { count: 0, ms: 0 };
      sum.count += t.count;
      sum.ms += t.ms;
      statements.set(k, sum);
    }
  }
  const sum = (f: (p: Phases) => number): number => list.reduce((n, p) => n + f(p), 0);
  return {
    totalMs: sum((p) => p.totalMs),
    httpWaitMs: sum((p) => p.httpWaitMs),
    streamMs: sum((p) => p.streamMs),
    requests: sum((p) => p.requests),
    statements,
    otherMs: sum((p) => p.otherMs),
  };
}

export const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** Statement time of the classes in `kinds` (ms). */
export function statementMs(p: Phases, kinds: Iterable<string>): number {
  let ms = 0;
  for (const k of kinds) ms += p.statements.get(k)?.ms ?? 0;
  return ms;
}

/** A markdown table of phases: one row per labelled run, one column per phase with time in it. */
export function phaseTable(rows: Array<{ label: string; phases: Phases }>): string {
  const kinds = STATEMENT_KINDS.filter((k) => rows.some((r) => (r.phases.statements.get(k)?.ms ?? 0) >= 5));
  const head = ['run', 'total s', 'http wait', 'stream (read+parse+stage)', ...kinds.map(label), 'other'];
  const body = rows.map(({ label: name, phases: p }) => [
    name,
    seconds(p.totalMs),
    seconds(p.httpWaitMs),
    seconds(p.streamMs),
    ...kinds.map((k) => {
      const t = p.statements.get(k);
      return t ? `${seconds(t.ms)} (${t.count})` : '0';
    }),
    seconds(p.otherMs),
  ]);
  return markdownTable(head, body);
}

const label = (k: string): string => (k === 'copy' ? 'copy (overlaps stream)' : k);

export function markdownTable(head: string[], body: string[][]): string {
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}
