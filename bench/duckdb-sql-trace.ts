/**
 * Times every DuckDB statement of a process: `node --import tsx --import ./bench/duckdb-sql-trace.ts
 * <script>` (e.g. `bench/duckdb-csv-probe.ts --child csv …`). Wraps DuckDBConnection.run and
 * runAndReadAll; at exit prints, per statement text (first 90 characters), the calls, wall ms and
 * process CPU ms (user + system of all threads while it ran: with nothing else running in the
 * process, DuckDB's work), largest first. TRACE_EACH=1 also prints each call as it ends with RSS.
 */
import { DuckDBConnection } from '@duckdb/node-api';

const stats = new Map<string, { n: number; ms: number; cpu: number }>();
const key = (sql: string) => sql.replace(/\s+/g, ' ').slice(0, 90);
/** Per connection: runAndReadAll may call run, count the outer call only. */
const depth = new WeakMap<object, number>();

for (const m of ['run', 'runAndReadAll'] as const) {
  const proto = DuckDBConnection.prototype as unknown as Record<
    string,
    (...a: unknown[]) => Promise<unknown>
  >;
  const orig = proto[m]!;
  proto[m] = async function (this: object, sql: unknown, ...rest: unknown[]) {
    if ((depth.get(this) ?? 0) > 0) return orig.call(this, sql, ...rest);
    depth.set(this, 1);
    const t = performance.now();
    const u = process.cpuUsage();
    try {
      return await orig.call(this, sql, ...rest);
    } finally {
      depth.set(this, 0);
      const ms = performance.now() - t;
      const d = process.cpuUsage(u);
      const k = key(String(sql));
      const s = stats.get(k) ?? { n: 0, ms: 0, cpu: 0 };
      s.n++;
      s.ms += ms;
      s.cpu += (d.user + d.system) / 1000;
      stats.set(k, s);
      if (process.env.TRACE_EACH)
        process.stderr.write(
          `${ms.toFixed(0).padStart(6)} ms ${((d.user + d.system) / 1000).toFixed(0).padStart(6)} cpu rss ${Math.round(process.memoryUsage.rss() / 1048576)} ${k}\n`,
        );
    }
  };
}

process.on('exit', () => {
  const rows = [...stats.entries()].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, 25);
  process.stderr.write('   wall ms     CPU ms calls statement\n');
  for (const [k, s] of rows)
    process.stderr.write(
      `${s.ms.toFixed(0).padStart(10)} ${s.cpu.toFixed(0).padStart(10)} ${String(s.n).padStart(5)} ${k}\n`,
    );
});
