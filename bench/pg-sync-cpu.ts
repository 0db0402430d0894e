/**
 * Where a first load's CPU goes, sync vs Postgres server, from this checkout:
 * `npx tsx bench/pg-sync-cpu.ts [--rows 1000000] [--days 10] [--repeat 1]`. Runs the real CLI (as
 * bench/first-load.ts does, same rendered days and file server) with bench/trace-pg.ts preloaded,
 * into a fresh schema, and prints per run the wall time, the sync's CPU (`/usr/bin/time`), the CPU
 * of the Postgres backends it used (sampled from /proc by trace-pg.ts) and its pg time per
 * statement kind. Server CPU is the figure to compare across checkouts on a shared machine: wall
 * time there moves 2–3× with the load, the backends' CPU by a few per cent.
 * To compare two commits, run it from a `git archive` of each, interleaved.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { renderDays } from './render-csv.js';
import { serveDayFiles } from './serve-files.js';
import { runSyncChild } from './sync-child.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
  },
});
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rendered = await renderDays(Number(values.rows), Number(values.days));
const server = await serveDayFiles(rendered.files, 'acme', 'bench-token');
const dir = mkdtempSync(join(tmpdir(), 'exportsync-pgcpu-'));
const s = (ms = 0): string => (ms / 1000).toFixed(2);
try {
  for (let r = 1; r <= Number(values.repeat); r++) {
    const schema = `bench_${process.pid}_cpu${r}`;
    const traceFile = join(dir, `trace-${r}.json`);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    try {
      const sync = await runSyncChild({
        baseUrl: server.url,
        owner: 'acme',
        token: 'bench-token',
        days: Number(values.days),
        destination: { type: 'postgres', target: PG_URL, schema },
        pgTraceFile: traceFile,
      });
      if (sync.rowsRead !== rendered.rows) throw new Error(`read ${sync.rowsRead} of ${rendered.rows} rows`);
      const t = JSON.parse(readFileSync(traceFile, 'utf8')) as Record<string, { count: number; ms: number }>;
      const merge = Object.entries(t)
        .filter(([k]) => k.startsWith('merge'))
        .reduce((sum, [, v]) => sum + v.ms, 0);
      process.stdout.write(
        `#${r} load ${load} · wall ${sync.wallSeconds.toFixed(2)} s · sync CPU ${sync.cpuSeconds.toFixed(2)} s (user ${sync.userSeconds.toFixed(2)}, sys ${sync.systemSeconds.toFixed(2)}, ${sync.minorFaults} minor faults) · ` +
          `server CPU ${s(t['server CPU (backends)']?.ms)} s (${t['server CPU (backends)']?.count} backends) · ` +
          `pg time: COPY ${s(t['COPY staging']?.ms)} s, merge ${s(merge)} s · peak RSS ${sync.peakRssMb.toFixed(0)} MB\n`,
      );
      const kinds = Object.entries(t)
        .filter(([k]) => k !== 'server CPU (backends)')
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([k, v]) => `${k} ×${v.count} ${s(v.ms)}`);
      process.stdout.write(`   pg time by kind (s): ${kinds.join(' · ')}\n`);
    } finally {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
    }
  }
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
