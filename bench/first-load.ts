/**
 * First-load benchmark: `npm run bench -- [--rows 1000000] [--days 10] [--dest postgres|duckdb|both]
 * [--repeat 2] [--profile DIR] [--no-append] [--check]`. --check exits 1 when a run misses a target
 * of bench/targets.ts (the `bench:check` script). --profile adds one sync into the first --dest (not in
 * the table) under `node --cpu-prof` (and bench/trace-pg.ts for Postgres), summarised into DIR/summary.md.
 *
 * Pre-renders the Scarf simulator's rows to per-day CSV files, serves them on 127.0.0.1 with the
 * simulator's path and auth, runs `exportsync run` (real CLI, child process) with backfill_days
 * covering those days into a fresh Postgres schema / DuckDB file, checks every row landed, then
 * measures the raw-load limit on the same bytes. Prints the table and appends it to BENCHMARKS.md.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { duckdbReadCsvLimit, postgresCopyLimit } from './limits.js';
import { renderDays } from './render-csv.js';
import { summariseProfile } from './profile-summary.js';
import { appendSection, machine, table, type Measurement } from './report.js';
import { serveDayFiles } from './serve-files.js';
import { runSyncChild } from './sync-child.js';
import { missedTargets } from './targets.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    dest: { type: 'string', default: 'both' },
    repeat: { type: 'string', default: '2' },
    profile: { type: 'string' },
    'no-append': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OWNER = 'acme';
const TOKEN = 'bench-token';
const TABLE = 'scarf_events';
const dests =
  values.dest === 'both' ? (['postgres', 'duckdb'] as const) : [values.dest as 'postgres' | 'duckdb'];
const days = Number(values.days);
const machineText = machine();
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();

async function countPostgres(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${TABLE}"`);
    return Number(r.rows[0]?.n);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
}

async function countDuckdb(path: string): Promise<number> {
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT count(*) FROM main."${TABLE}"`);
    return Number(r.getRows()[0]?.[0]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** One extra sync (not in the table) under --cpu-prof (and the pg query trace for Postgres). */
async function profileRun(dir: string, dest: 'postgres' | 'duckdb'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const schema = `bench_${process.pid}_prof`;
  const duckPath = join(tmpdir(), `exportsync-bench-${process.pid}-prof.duckdb`);
  const pgTraceFile = dest === 'postgres' ? join(dir, 'pg-trace.json') : undefined;
  try {
    const sync = await runSyncChild({
      baseUrl: server.url,
      owner: OWNER,
      token: TOKEN,
      days,
      destination:
        dest === 'postgres'
          ? { type: 'postgres', target: PG_URL, schema }
          : { type: 'duckdb', target: duckPath, schema: 'main' },
      cpuProfDir: dir,
      ...(pgTraceFile ? { pgTraceFile } : {}),
    });
    // The main thread's profile is the largest (tsx's loader thread writes a second, small one).
    const prof = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const text = [
      `profiled run: ${sync.wallSeconds.toFixed(2)} s wall, ${sync.peakRssMb.toFixed(0)} MB peak RSS`,
      prof ? summariseProfile(prof) : '(no profile written)',
      '',
      ...(pgTraceFile ? ['pg query time (submit → completion, ms):', readFileSync(pgTraceFile, 'utf8')] : []),
    ].join('\n');
    writeFileSync(join(dir, 'summary.md'), text);
    process.stdout.write(`${text}\n`);
  } finally {
    if (dest === 'postgres') await dropSchema(schema);
    for (const f of [duckPath, `${duckPath}.wal`]) rmSync(f, { force: true });
  }
}

const rendered = await renderDays(Number(values.rows), days);
process.stderr.write(
  `rendered ${rendered.rows} rows (${(rendered.bytes / 1e6).toFixed(0)} MB) in ${rendered.dir}\n`,
);
const server = await serveDayFiles(rendered.files, OWNER, TOKEN);
const results: Measurement[] = [];
try {
  for (const dest of dests) {
    for (let attempt = 1; attempt <= Number(values.repeat); attempt++) {
      const schema = `bench_${process.pid}_${attempt}`;
      const duckPath = join(tmpdir(), `exportsync-bench-${process.pid}-${attempt}.duckdb`);
      const target = dest === 'postgres' ? PG_URL : duckPath;
      try {
        const sync = await runSyncChild({
          baseUrl: server.url,
          owner: OWNER,
          token: TOKEN,
          days,
          destination: { type: dest, target, schema: dest === 'postgres' ? schema : 'main' },
        });
        const landed = dest === 'postgres' ? await countPostgres(schema) : await countDuckdb(duckPath);
        if (sync.rowsRead !== rendered.rows || landed !== rendered.rows) {
          throw new Error(`expected ${rendered.rows} rows, read ${sync.rowsRead}, landed ${landed}`);
        }
        const limitSeconds =
          dest === 'postgres'
            ? await postgresCopyLimit(PG_URL, schema, TABLE, rendered.combined, rendered.header)
            : await duckdbReadCsvLimit(`${duckPath}.limit`, rendered.combined);
        const m: Measurement = { dest, rows: rendered.rows, attempt, ...sync, limitSeconds };
        results.push(m);
        process.stderr.write(`${table([m]).split('\n')[2]}\n`);
      } finally {
        if (dest === 'postgres') await dropSchema(schema);
        for (const f of [duckPath, `${duckPath}.wal`, `${duckPath}.limit`, `${duckPath}.limit.wal`]) {
          rmSync(f, { force: true });
        }
      }
    }
  }
  if (values.profile) await profileRun(values.profile, dests[0]!);
} finally {
  await server.close();
}
process.stdout.write(`${machineText}\n\n${table(results)}\n`);
if (!values['no-append']) appendSection(join(process.cwd(), 'BENCHMARKS.md'), command, machineText, results);
if (values.check) {
  const missed = missedTargets(results);
  process.stdout.write(
    missed.length === 0 ? 'every target met\n' : `targets missed:\n- ${missed.join('\n- ')}\n`,
  );
  if (missed.length > 0) process.exitCode = 1;
}
