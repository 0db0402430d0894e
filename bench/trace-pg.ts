/**
 * Preload for the profiled sync child (`node --import tsx --import ./bench/trace-pg.ts ...`):
 * times every pg query by kind (COPY, merge INSERT, DDL, transaction control) from submit to
 * completion, and writes the totals as JSON to $EXPORTSYNC_BENCH_PG_TRACE at exit. It tells the
 * time the sync waits on the server (merge, staging) apart from its own CPU in the CPU profile.
 * Patches only the pg module instance of the child; nothing in src/ is changed.
 *
 * It also samples the CPU time (utime + stime, /proc/<pid>/stat; the server must run on this
 * machine) of every backend the child's clients talk to, every 50 ms until the backend exits, and
 * writes the sum as the kind "server CPU (backends)" (count = backends, ms = CPU ms): the server's
 * share of the sync, which moves far less with the machine's load than wall time does. Up to
 * 50 ms per backend (its last statements and its exit) are not seen. Parallel workers of those
 * backends (found by their command line) are counted with them, up to their last 50 ms.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Last seen CPU seconds per backend pid (and per parallel worker of one of them). */
const backendCpu = new Map<number, number>();
/**
 * Adds the parallel workers of the tracked backends (an index build, a parallel scan): separate
 * processes, `postgres: parallel worker for PID <leader>`, whose CPU the leader's stat omits.
 */
function findWorkers(): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((f) => /^\d+$/.test(f));
  } catch {
    return;
  }
  for (const p of pids) {
    const pid = Number(p);
    if (backendCpu.has(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const leader = /parallel worker for PID (\d+)/.exec(cmd)?.[1];
      if (leader && backendCpu.has(Number(leader))) backendCpu.set(pid, 0);
    } catch {
      // gone
    }
  }
}
function sampleBackends(): void {
  findWorkers();
  for (const pid of backendCpu.keys()) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      backendCpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the backend has exited: its last sample stands
    }
  }
}
setInterval(sampleBackends, 50).unref();

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
const proto = pg.Client.prototype as unknown as { query: QueryFn };
const original = proto.query;
proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const first = args[0] as { text?: string } | string;
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const kind = kindOf(text);
  const pid = (this as unknown as { processID?: number | null }).processID;
  if (pid && !backendCpu.has(pid)) backendCpu.set(pid, 0);
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
  sampleBackends();
  let cpu = 0;
  for (const seconds of backendCpu.values()) cpu += seconds;
  totals.set('server CPU (backends)', { count: backendCpu.size, ms: cpu * 1000, sample: '' });
  writeFileSync(file, JSON.stringify(Object.fromEntries(totals), null, 2));
});
