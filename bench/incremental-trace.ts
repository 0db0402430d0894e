/**
 * Preload for a benchmarked CLI child (`node --import tsx --import ./bench/incremental-trace.ts
 * src/cli.ts ...`), shared by bench/incremental.ts, bench/dynamic-columns.ts and
 * bench/backfill-latency.ts. It records a timeline, written as JSON to $EXPORTSYNC_BENCH_TRACE at
 * exit:
 *  - every HTTP request made through the global `fetch`: the wait for the headers (latency) and
 *    the time until its body was read to the end (read → parse → map → stage, which run
 *    interleaved while the body streams);
 *  - every Postgres query (pg.Client#query) and DuckDB statement (DuckDBConnection#run), from
 *    submit to completion, classified by what it does (incremental-phases.ts).
 * It patches only the module instances of the child; nothing in src/ is changed. The overhead is a
 * few microseconds per statement and one TransformStream per response body.
 */
import { writeFileSync } from 'node:fs';
import { DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { kindOf, type TraceEvent, type TraceFile } from './incremental-phases.js';

const events: TraceEvent[] = [];
const samples: Record<string, string> = {};
const started = performance.now();
const now = (): number => performance.now() - started;

function record(kind: string, s: number, text?: string): void {
  events.push({ k: kind, s, e: now() });
  if (text !== undefined && !(kind in samples)) samples[kind] = text.slice(0, 600);
}

// ── HTTP (Node's fetch, which src/http/client.ts uses) ──
const originalFetch = globalThis.fetch;
globalThis.fetch = async (...args: Parameters<typeof fetch>): Promise<Response> => {
  const s = now();
  const res = await originalFetch(...args);
  const h = now();
  events.push({ k: 'http wait', s, e: h });
  if (res.body) {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      events.push({ k: 'http body', s: h, e: now() });
    };
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => controller.enqueue(chunk),
        flush: end,
      }),
    );
    // `body` is a getter on Response.prototype: an own property shadows it for this response
    Object.defineProperty(res, 'body', { value: body, configurable: true });
  }
  return res;
};

// ── Postgres ──
type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
const pgProto = pg.Client.prototype as unknown as { query: QueryFn };
const pgQuery = pgProto.query;
pgProto.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const first = args[0] as { text?: string } | string;
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const kind = kindOf(text);
  const s = now();
  const done = (): void => record(kind, s, text);
  const result = pgQuery.apply(this, args) as { then?: unknown; on?: unknown } | undefined;
  if (result && typeof result.then === 'function') {
    (result as Promise<unknown>).then(done, done);
  } else if (result && typeof result.on === 'function') {
    const stream = result as NodeJS.EventEmitter;
    stream.once('finish', done);
    stream.once('error', done);
  }
  return result;
};

// ── DuckDB (runAndReadAll and runAndRead go through run) ──
type RunFn = (this: DuckDBConnection, sql: string, ...rest: unknown[]) => Promise<unknown>;
const duckProto = DuckDBConnection.prototype as unknown as { run: RunFn };
const duckRun = duckProto.run;
duckProto.run = async function (this: DuckDBConnection, sql: string, ...rest: unknown[]): Promise<unknown> {
  const kind = kindOf(sql);
  const s = now();
  try {
    return await duckRun.call(this, sql, ...rest);
  } finally {
    record(kind, s, sql);
  }
};

process.on('exit', () => {
  const file = process.env.EXPORTSYNC_BENCH_TRACE;
  if (!file) return;
  const out: TraceFile = { totalMs: now(), events, samples };
  writeFileSync(file, JSON.stringify(out));
});
