/**
 * Server-side cost of the Postgres load path, replayed from the statements a traced sync sent
 * (bench/trace-pg.ts samples), over the benchmark's per-day CSV files piped straight into COPY
 * (no Node encoding): `npx tsx bench/merge-probe.ts <render dir> <pg-trace.json> [repeats]`.
 * Variants, each into a fresh schema, one day per window as the sync does:
 *   limit   COPY into an unindexed table (the benchmark's limit, per day)
 *   current COPY into the TEMP staging table, then the merge INSERT…SELECT DISTINCT ON (+ ON CONFLICT)
 *   nosort  the same merge without DISTINCT ON (what a window with no duplicate keys could run)
 *   checked the duplicate-key check, then nosort when it finds none (counted in merge; measured,
 *           never shipped: the load keeps DISTINCT ON and sorts it in the "C" collation instead)
 *   direct  COPY straight into the target (primary key and all) inside the window's transaction
 * bench/pg-window-probe.ts measures the same per phase with the backends' CPU and WAL, and the
 * variants the load runs now (bench/results/postgres-load.md).
 */
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';

const [dir, traceFile, repeats = '2'] = process.argv.slice(2);
if (!dir || !traceFile) throw new Error('usage: merge-probe.ts <render dir> <pg-trace.json> [repeats]');
const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Record<string, { sample: string }>;
const sample = (re: RegExp): string => {
  const s = Object.values(trace).find((t) => re.test(t.sample))?.sample;
  if (!s) throw new Error(`no statement matching ${re} in ${traceFile}`);
  return s;
};
const createTarget = sample(/^CREATE TABLE "[^"]+"\."scarf_events"/);
const createStage = sample(/^CREATE TEMP TABLE/);
const mergeNew = sample(/^INSERT INTO .* DISTINCT ON (?!.* ON CONFLICT )/s);
const mergeUpsert = sample(/^INSERT INTO .* DISTINCT ON .* ON CONFLICT /s);
const days = readdirSync(dir)
  .filter((f) => /^\d{4}-\d{2}-\d{2}\.csv$/.test(f))
  .sort()
  .map((f) => join(dir, f));
const header = readFileSync(days[0] as string, 'utf8').split('\n', 1)[0] as string;
const cols = header
  .split(',')
  .map((c) => `"${c}"`)
  .join(', ');

/** Rewrites a traced statement onto the probe's schema and staging table. */
const onto = (sql: string, schema: string): string =>
  sql.replace(/"bench_[^"]+"\./g, `"${schema}".`).replace(/"_exportsync_stage_[0-9a-f]+"/g, '"stage"');
const noSort = (sql: string): string =>
  sql.replace(/FROM \(SELECT DISTINCT ON .*? DESC\) s/s, 'FROM pg_temp."stage" s');

async function copyFile(client: pg.Client, table: string, file: string): Promise<void> {
  await pipeline(
    createReadStream(file),
    client.query(pgCopy.from(`COPY ${table} (${cols}) FROM STDIN WITH (FORMAT csv, HEADER true)`)),
  );
}

type Variant = 'limit' | 'current' | 'nosort' | 'checked' | 'direct';
async function run(variant: Variant): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const schema = `probe_${process.pid}_${variant}`;
  const t: Record<string, number> = { copy: 0, merge: 0, total: 0 };
  const timed = async (key: string, fn: () => Promise<unknown>): Promise<void> => {
    const s = performance.now();
    await fn();
    t[key] = (t[key] ?? 0) + performance.now() - s;
  };
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    const target = onto(createTarget, schema);
    await client.query(variant === 'limit' ? target.replace(/, PRIMARY KEY \("id"\)/, '') : target);
    const table = `"${schema}"."scarf_events"`;
    const started = performance.now();
    for (const [i, file] of days.entries()) {
      if (variant === 'limit') {
        await timed('copy', () => copyFile(client, table, file));
      } else if (variant === 'direct') {
        await client.query('BEGIN');
        await timed('copy', () => copyFile(client, table, file));
        await client.query('COMMIT');
      } else {
        await client.query(onto(createStage, schema).replace(/pg_temp\."[^"]+"/, 'pg_temp."stage"'));
        await timed('copy', () => copyFile(client, 'pg_temp."stage"', file));
        const merge = onto(i === 0 ? mergeNew : mergeUpsert, schema);
        await client.query('BEGIN');
        await client.query(`SET LOCAL work_mem = '128MB'`);
        await timed('merge', async () => {
          let sql = variant === 'nosort' ? noSort(merge) : merge;
          if (variant === 'checked') {
            const r = await client.query<{ dup: boolean }>(
              'SELECT EXISTS (SELECT 1 FROM pg_temp."stage" GROUP BY "id" HAVING count(*) > 1) AS dup',
            );
            if (r.rows[0]?.dup === false) sql = noSort(merge);
          }
          await client.query(sql, ['probe']);
        });
        await client.query('COMMIT');
        await client.query('DROP TABLE pg_temp."stage"');
      }
    }
    t.total = performance.now() - started;
    const n = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    t.rows = Number(n.rows[0]?.n);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await client.end();
  }
  return t;
}

const s = (ms = 0): string => (ms / 1000).toFixed(2);
for (let r = 1; r <= Number(repeats); r++) {
  for (const v of (process.env.PROBE_VARIANTS?.split(',') ?? [
    'limit',
    'current',
    'nosort',
    'checked',
    'direct',
  ]) as Variant[]) {
    const t = await run(v);
    process.stdout.write(
      `#${r} ${v.padEnd(8)} total ${s(t.total)} s (COPY ${s(t.copy)}, merge ${s(t.merge)}) rows ${t.rows}\n`,
    );
  }
}
