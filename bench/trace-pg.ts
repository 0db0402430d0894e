/**
 * Preload for the profiled sync child (`node --import tsx --import ./bench/trace-pg.ts ...`):
 * times every pg query by kind (COPY, merge INSERT, DDL, transaction control) from submit to
 * completion, and writes the totals as JSON to $EXPORTSYNC_BENCH_PG_TRACE at exit. It tells the
 * time the sync waits on the server (merge, staging) apart from its own CPU in the CPU profile.
 * Patches only the pg module instance of the child; nothing in src/ is changed.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

interface Totals {
  count: number;
  ms: number;
  /** The first statement of this kind, for replaying it (bench/merge-probe.ts). */
  sample: string;
}
const totals = new Map<string, Totals>();
const add = (kind: string, ms: number, text: string): void => {
  const t = totals.get(kind) ?? { count: 0, ms: 0, sample: text.slice(0, 20_000) };
  t.count++;
  t.ms += ms;
  totals.set(kind, t);
};

function kindOf(text: string): string {
  const t = text.trimStart().slice(0, 200).toUpperCase();
  if (t.startsWith('COPY')) return 'COPY staging';
  if (t.startsWith('INSERT') && / SELECT .* FROM \(SELECT DISTINCT ON/is.test(text)) {
    return / ON CONFLICT /.test(text) ? 'merge INSERT…SELECT ON CONFLICT' : 'merge INSERT…SELECT (new table)';
  }
  if (t.startsWith('INSERT')) return 'INSERT (state, columns, runs)';
  return t
    .split(/\s+/)
    .slice(0, t.startsWith('CREATE TABLE') ? 3 : 2)
    .join(' ');
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
const proto = pg.Client.prototype as unknown as { query: QueryFn };
const original = proto.query;
proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const first = args[0] as { text?: string } | string;
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const kind = kindOf(text);
  const started = performance.now();
  const done = (): void => add(kind, performance.now() - started, text);
  const result = original.apply(this, args) as { then?: unknown; on?: unknown } | undefined;
  if (result && typeof result.then === 'function') {
    (result as Promise<unknown>).then(done, done);
  } else if (result && typeof result.on === 'function') {
    const stream = result as NodeJS.EventEmitter;
    stream.once('finish', done);
    stream.once('error', done);
  }
  return result;
};

process.on('exit', () => {
  const file = process.env.EXPORTSYNC_BENCH_PG_TRACE;
  if (!file) return;
  writeFileSync(file, JSON.stringify(Object.fromEntries(totals), null, 2));
});
