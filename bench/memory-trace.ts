/**
 * Preload for a benchmarked CLI child (`node --import tsx --import ./bench/memory-trace.ts
 * src/cli.ts run ...`, see bench/memory-run.ts): samples the process's memory every
 * $EXPORTSYNC_MEMORY_INTERVAL_MS (default 50 ms) and writes the timeline as JSON to
 * $EXPORTSYNC_MEMORY_TRACE at exit:
 *  - `process.memoryUsage()` (rss, heapTotal, heapUsed, external, arrayBuffers) and the used and
 *    committed size of each V8 heap space (new, old, large object, code, …);
 *  - `VmHWM` (the kernel's peak RSS) at exit, the exact peak the samples may miss;
 *  - phase marks: every Postgres query and DuckDB statement taking ≥ 20 ms (kind from
 *    incremental-phases.ts) and the HTTP response bodies, so a peak can be placed in the run.
 * With $EXPORTSYNC_MEMORY_SNAPSHOT_MB set, one heap snapshot is written (next to the trace) the
 * first time heapUsed passes that many MB; it stops the process for seconds, so the timeline of
 * such a run is not a clean one.
 * Sampling runs on the main thread: a long synchronous stretch (a batch mapped) delays a sample,
 * so the sampled peak can be below VmHWM; both are reported.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { kindOf } from './incremental-phases.js';

export interface MemorySample {
  /** ms since the preload started */
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** space name → [used, committed] bytes */
  spaces: Record<string, [number, number]>;
}

export interface MemoryTrace {
  samples: MemorySample[];
  /** kind, start, end (ms), and the statement's first 120 characters */
  marks: Array<{ k: string; s: number; e: number; q?: string }>;
  /** kernel's peak RSS (VmHWM) at exit, bytes */
  hwm: number;
  snapshot?: { file: string; t: number };
}

const out = process.env.EXPORTSYNC_MEMORY_TRACE;
const interval = Number(process.env.EXPORTSYNC_MEMORY_INTERVAL_MS ?? 50);
const snapshotMb = Number(process.env.EXPORTSYNC_MEMORY_SNAPSHOT_MB ?? 0);
const started = performance.now();
const now = (): number => performance.now() - started;
const trace: MemoryTrace = { samples: [], marks: [], hwm: 0 };

function sample(): void {
  const m = process.memoryUsage();
  const spaces: MemorySample['spaces'] = {};
  for (const s of v8.getHeapSpaceStatistics())
    spaces[s.space_name.replace(/_space$/, '')] = [s.space_used_size, s.space_size];
  trace.samples.push({ t: now(), ...m, spaces });
  if (snapshotMb > 0 && !trace.snapshot && m.heapUsed > snapshotMb * 1024 * 1024 && out) {
    const t = now();
    const file = v8.writeHeapSnapshot(`${out}.heapsnapshot`);
    trace.snapshot = { file, t };
  }
}

function hwmBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const mark = (k: string, s: number, sql?: string): void => {
  const e = now();
  if (e - s >= 20) trace.marks.push({ k, s, e, ...(sql === undefined ? {} : { q: sql.slice(0, 120) }) });
};

const originalFetch = globalThis.fetch;
globalThis.fetch = async (...args: Parameters<typeof fetch>): Promise<Response> => {
  const res = await originalFetch(...args);
  const s = now();
  if (res.body) {
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => controller.enqueue(chunk),
        flush: () => mark('http body', s),
      }),
    );
    Object.defineProperty(res, 'body', { value: body, configurable: true });
  }
  return res;
};

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
const pgProto = pg.Client.prototype as unknown as { query: QueryFn };
const pgQuery = pgProto.query;
pgProto.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const first = args[0] as { text?: string } | string;
  const sql = typeof first === 'string' ? first : (first?.text ?? '');
  const s = now();
  const done = (): void => mark(kindOf(sql), s, sql);
  const result = pgQuery.apply(this, args) as { then?: unknown; on?: unknown } | undefined;
  if (result && typeof result.then === 'function') (result as Promise<unknown>).then(done, done);
  else if (result && typeof result.on === 'function') {
    (result as NodeJS.EventEmitter).once('finish', done);
    (result as NodeJS.EventEmitter).once('error', done);
  }
  return result;
};

type RunFn = (this: DuckDBConnection, sql: string, ...rest: unknown[]) => Promise<unknown>;
const duckProto = DuckDBConnection.prototype as unknown as { run: RunFn };
const duckRun = duckProto.run;
duckProto.run = async function (this: DuckDBConnection, sql: string, ...rest: unknown[]): Promise<unknown> {
  const s = now();
  try {
    return await duckRun.call(this, sql, ...rest);
  } finally {
    mark(kindOf(sql), s, sql);
  }
};

if (out) {
  sample();
  setInterval(sample, interval).unref();
  process.on('exit', () => {
    sample();
    trace.hwm = hwmBytes();
    writeFileSync(out, JSON.stringify(trace));
  });
}
