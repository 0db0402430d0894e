/**
 * The daily merge against a large target, text key in the database default collation vs
 * `COLLATE "C"`: `npx tsx bench/pg-key-collation-probe.ts <render dir> <pg-trace.json> [repeats]`.
 * Loads every day of the render into two keyed targets that differ only in the key's collation,
 * then, per repeat and interleaved, stages the last day (a lookback re-read: every key present,
 * no row changed) and runs the load's commit (key sample + DISTINCT ON in "C" + ON CONFLICT …
 * DO UPDATE … WHERE changed), rolled back so both targets stay identical. Reports the backend's
 * CPU (/proc/<pid>/stat) and wall per merge. Same column source as bench/pg-window-probe.ts.
 */
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';

const [dir, traceFile, repeats = '3'] = process.argv.slice(2);
if (!dir || !traceFile)
  throw new Error('usage: pg-key-collation-probe.ts <render dir> <pg-trace.json> [repeats]');
const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Record<string, { sample: string }>;
const create = Object.values(trace).find((t) =>
  /^CREATE TABLE "[^"]+"\."scarf_events"/.test(t.sample),
)?.sample;
const defs = create && /\((.*), PRIMARY KEY \("id"\)\)$/s.exec(create)?.[1];
if (!defs) throw new Error(`no CREATE TABLE of scarf_events in ${traceFile}`);
const columns = defs.split(/, (?=")/).map((d) => {
  const m = /^"([^"]+)" (.+)$/.exec(d);
  if (!m) throw new Error(`column definition ${d}`);
  return { name: m[1] as string, type: m[2] as string };
});
const days = readdirSync(dir)
  .filter((f) => /^\d{4}-\d{2}-\d{2}\.csv$/.test(f))
  .sort()
  .map((f) => join(dir, f));
const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;
const header = (readFileSync(days[0] as string, 'utf8').split('\n', 1)[0] as string).split(',');
const csvCols = header.map(q).join(', ');
const allCols = columns.map((c) => q(c.name)).join(', ');
const colDefs = (keyC: boolean): string =>
  columns.map((c) => `${q(c.name)} ${c.type}${keyC && c.name === 'id' ? ' COLLATE "C"' : ''}`).join(', ');
const nonKey = columns.filter((c) => c.name !== 'id');
const data = nonKey.filter((c) => !c.name.startsWith('_exportsync_'));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC -c temp_buffers=128MB' });
await client.connect();
const pid = Number((await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p);
const schema = `probe_${process.pid}_keycoll`;
const copyFile = (table: string, file: string): Promise<void> =>
  pipeline(
    createReadStream(file),
    client.query(pgCopy.from(`COPY ${table} (${csvCols}) FROM STDIN WITH (FORMAT csv, HEADER true)`)),
  );
try {
  await client.query(`CREATE SCHEMA ${q(schema)}`);
  const src = `${q(schema)}."src"`;
  await client.query(`CREATE UNLOGGED TABLE ${src} (${colDefs(false)})`);
  for (const file of days) await copyFile(src, file);
  const targets = { default: `${q(schema)}."t_default"`, C: `${q(schema)}."t_c"` };
  for (const [name, t] of Object.entries(targets)) {
    await client.query(`CREATE TABLE ${t} (${colDefs(name === 'C')}, PRIMARY KEY ("id"))`);
    await client.query(
      `INSERT INTO ${t} SELECT DISTINCT ON ("id" COLLATE "C") * FROM ${src} ORDER BY "id" COLLATE "C", "time" DESC`,
    );
    await client.query(`VACUUM ANALYZE ${t}`);
  }
  const stage = 'pg_temp."stage"';
  await client.query(
    `CREATE TEMP TABLE ${stage} (${colDefs(false)}, "_exportsync_seq" bigint GENERATED ALWAYS AS IDENTITY (CACHE 100000))`,
  );
  await copyFile(stage, days[days.length - 1] as string);
  await client.query(`ANALYZE ${stage}`);
  const staged = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${stage}`)).rows[0]?.n;
  process.stdout.write(
    `target rows per table: ${(await client.query(`SELECT count(*) AS n FROM ${targets.C}`)).rows[0].n}, staged ${staged}\n`,
  );
  for (let r = 1; r <= Number(repeats); r++) {
    for (const [name, t] of Object.entries(targets)) {
      const sql =
        `INSERT INTO ${t} AS t (${allCols}) SELECT ${allCols.replace(/"([^"]+)"/g, 's."$1"')} FROM ` +
        `(SELECT DISTINCT ON ("id" COLLATE "C") * FROM ${stage} ORDER BY "id" COLLATE "C", "time" DESC NULLS LAST, "_exportsync_seq" DESC) s ` +
        `ON CONFLICT ("id") DO UPDATE SET ${nonKey.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')} ` +
        `WHERE (${data.map((c) => `t.${q(c.name)}`).join(', ')}) IS DISTINCT FROM (${data.map((c) => `EXCLUDED.${q(c.name)}`).join(', ')})`;
      const [w0, c0] = [performance.now(), cpuSeconds(pid)];
      await client.query('BEGIN');
      await client.query(`SET LOCAL work_mem = '128MB'`);
      await client.query(
        `SELECT EXISTS (SELECT FROM (SELECT "id" FROM ${stage} LIMIT 100) s JOIN ${t} t ON t."id" = s."id")`,
      );
      const res = await client.query(sql);
      await client.query('ROLLBACK');
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      process.stdout.write(
        `| ${r} | key ${name} | ${((performance.now() - w0) / 1000).toFixed(2)} | ${(cpuSeconds(pid) - c0).toFixed(2)} | updated ${res.rowCount} | load ${load}\n`,
      );
    }
  }
} finally {
  await client.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`).catch(() => undefined);
  await client.end();
}
