/**
 * Server-side cost of one first load, window by window, for the Postgres write-path variants:
 * `npx tsx bench/pg-window-probe.ts <render dir> <pg-trace.json> [rounds] [variant,...]`.
 * The render dir is bench/render-csv.ts's (one CSV per day = one window); the trace is a
 * `--profile` run's pg-trace.json (bench/trace-pg.ts), whose CREATE TABLE gives the columns.
 *
 * Each variant loads every day into a fresh schema on one connection, the way a sequential sync
 * would (no Node parsing: the day file is piped into COPY), and reports per phase the wall time,
 * the CPU time of the backend process (/proc/<pid>/stat: far less noisy than wall on a shared
 * machine) and the WAL written. A CHECKPOINT runs before each variant so full-page writes start
 * from the same point. Variants (staging / commit):
 *   limit        COPY into an unindexed table, autocommit (the benchmark's `\copy` limit)
 *   direct       COPY straight into the keyed target inside BEGIN … COMMIT
 *   current       TEMP staging with an identity column; DISTINCT ON + ON CONFLICT merge
 *   current8      the same with temp_buffers = 8MB (the server default) instead of 128MB
 *   cache         identity column with CACHE 100000; same merge as current
 *   noseq         no identity column; same merge ordered by ctid instead of the identity
 *   currentC      cache; the merge's DISTINCT ON on `id COLLATE "C"`
 *   insert        identity staging; plain INSERT … SELECT under a savepoint (no dedupe, no ON CONFLICT)
 *   insertcache   cache staging; plain INSERT … SELECT under a savepoint
 *   dupcheck      cache staging; a duplicate-key check, then the plain insert
 *   sorted        dupcheck, the plain insert in key order (ORDER BY id COLLATE "C")
 *   sortednocheck the sorted plain insert without the check (the check's cost)
 *   distinct      cache staging; DISTINCT ON as now, then a plain insert under a savepoint
 *   distinctC     the same with DISTINCT ON on `id COLLATE "C"` (what the load runs since then)
 *   textstage     distinctC with every staging column text, cast by the insert
 *   keyC          distinctC with the target's key column `text COLLATE "C"` (btree compares bytes)
 *   bulk          the deferred-key first load: target without its key; every window distinctC and
 *                 a plain INSERT (no savepoint, no sample); then one "settle" transaction: lock,
 *                 ADD PRIMARY KEY (maintenance_work_mem 256MB), in the phase "settle"
 *   bulkdedupe    bulk, and settle first deletes repeated keys (window function over the table):
 *                 the path a source that repeats keys takes (none does here: the price of the scan)
 *   bulk1g        bulk with maintenance_work_mem 1GB for the key build
 * Parallel index-build workers are other processes: the probe sets max_parallel_maintenance_workers
 * = 0 so the whole build is in the backend's CPU (the destination allows them; wall only).
 * After the load, each keyed variant re-merges the last day (a lookback re-read: every key in the
 * target, no row changed) through the sample probe and ON CONFLICT, reported as "daily".
 */
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';

const [dir, traceFile, rounds = '1', list] = process.argv.slice(2);
if (!dir || !traceFile) {
  throw new Error('usage: pg-window-probe.ts <render dir> <pg-trace.json> [rounds] [variant,...]');
}
const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Record<string, { sample: string }>;
const createTarget = Object.values(trace).find((t) =>
  /^CREATE TABLE "[^"]+"\."scarf_events"/.test(t.sample),
)?.sample;
if (!createTarget) throw new Error(`no CREATE TABLE of scarf_events in ${traceFile}`);
const defs = /\((.*), PRIMARY KEY \("id"\)\)$/s.exec(createTarget)?.[1];
if (!defs) throw new Error('unexpected CREATE TABLE shape');
const columns = defs.split(/, (?=")/).map((d) => {
  const m = /^"([^"]+)" (.+)$/.exec(d);
  if (!m) throw new Error(`column definition ${d}`);
  return { name: m[1] as string, type: m[2] as string };
});
const days = readdirSync(dir)
  .filter((f) => /^\d{4}-\d{2}-\d{2}\.csv$/.test(f))
  .sort()
  .map((f) => join(dir, f));
const header = (readFileSync(days[0] as string, 'utf8').split('\n', 1)[0] as string).split(',');
const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;
const csvCols = header.map(q).join(', ');
const allCols = columns.map((c) => q(c.name)).join(', ');
const dataCols = columns.filter((c) => c.name !== 'id' && !c.name.startsWith('_exportsync_'));
/** `text`: staging holds every column as text and the insert casts (parsing moves to the insert). */
const selectList = (text: boolean): string =>
  columns
    .map((c) => {
      const ref = text && c.type !== 'text' ? `s.${q(c.name)}::${c.type}` : `s.${q(c.name)}`;
      if (c.name === '_exportsync_loaded_at') return `COALESCE(${ref}, now())`;
      if (c.name === '_exportsync_run_id') return `COALESCE(${ref}, $1::text)`;
      return ref;
    })
    .join(', ');

type Seq = 'identity' | 'cache' | 'none';
interface Variant {
  staging?: Seq;
  commit: 'limit' | 'direct' | 'stage';
  /**
   * How staging is deduplicated: `distinct` DISTINCT ON (the key's own collation), `distinctC`
   * DISTINCT ON with the text key `COLLATE "C"` (abbreviated keys), `check` a duplicate-key
   * check and no dedupe when it finds none, `none` no dedupe at all (measurement only).
   */
  dedupe?: 'distinct' | 'distinctC' | 'check' | 'none';
  /** Plain INSERT under a savepoint instead of ON CONFLICT … DO UPDATE (windows ≥ 2). */
  plain?: boolean;
  /** Without DISTINCT ON: insert in key order (`COLLATE "C"`), for btree locality. */
  sorted?: boolean;
  tempBuffers?: string;
  /** Staging columns all text, cast by the insert. */
  text?: boolean;
  /** The target's key column in the "C" collation. */
  keyC?: boolean;
  /** Target without its key until one settle at the end (`dedupe`: delete repeats first). */
  bulk?: 'plain' | 'dedupe';
  /** maintenance_work_mem of the settle's key build (default 256MB). */
  buildMem?: string;
}
const VARIANTS: Record<string, Variant> = {
  limit: { commit: 'limit' },
  direct: { commit: 'direct' },
  current: { staging: 'identity', commit: 'stage', dedupe: 'distinct' },
  current8: { staging: 'identity', commit: 'stage', dedupe: 'distinct', tempBuffers: '8MB' },
  cache: { staging: 'cache', commit: 'stage', dedupe: 'distinct' },
  noseq: { staging: 'none', commit: 'stage', dedupe: 'distinct' },
  currentC: { staging: 'cache', commit: 'stage', dedupe: 'distinctC' },
  insert: { staging: 'identity', commit: 'stage', dedupe: 'none', plain: true },
  insertcache: { staging: 'cache', commit: 'stage', dedupe: 'none', plain: true },
  dupcheck: { staging: 'cache', commit: 'stage', dedupe: 'check', plain: true },
  sorted: { staging: 'cache', commit: 'stage', dedupe: 'check', plain: true, sorted: true },
  sortednocheck: { staging: 'cache', commit: 'stage', dedupe: 'none', plain: true, sorted: true },
  distinct: { staging: 'cache', commit: 'stage', dedupe: 'distinct', plain: true },
  distinctC: { staging: 'cache', commit: 'stage', dedupe: 'distinctC', plain: true },
  textstage: { staging: 'cache', commit: 'stage', dedupe: 'distinctC', plain: true, text: true },
  keyC: { staging: 'cache', commit: 'stage', dedupe: 'distinctC', plain: true, keyC: true },
  bulk: { staging: 'cache', commit: 'stage', dedupe: 'distinctC', plain: true, bulk: 'plain' },
  bulkdedupe: { staging: 'cache', commit: 'stage', dedupe: 'distinctC', plain: true, bulk: 'dedupe' },
  bulk1g: {
    staging: 'cache',
    commit: 'stage',
    dedupe: 'distinctC',
    plain: true,
    bulk: 'plain',
    buildMem: '1GB',
  },
};

function windowSql(stage: string, target: string, v: Variant, dedupe: boolean, onConflict: boolean): string {
  const seq = v.staging === 'none' ? 'ctid' : q('_exportsync_seq');
  const key = v.dedupe === 'distinctC' ? '"id" COLLATE "C"' : '"id"';
  const source = dedupe
    ? `(SELECT DISTINCT ON (${key}) * FROM ${stage} ORDER BY ${key}, "time"${v.text ? '::timestamptz' : ''} DESC NULLS LAST, ${seq} DESC) s`
    : `${stage} s${v.sorted ? ' ORDER BY s."id" COLLATE "C"' : ''}`;
  let sql = `INSERT INTO ${target} AS t (${allCols}) SELECT ${selectList(v.text === true)} FROM ${source}`;
  if (onConflict) {
    const nonKey = columns.filter((c) => c.name !== 'id');
    sql += ` ON CONFLICT ("id") DO UPDATE SET ${nonKey.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')}`;
    sql += ` WHERE (${dataCols.map((c) => `t.${q(c.name)}`).join(', ')}) IS DISTINCT FROM (${dataCols.map((c) => `EXCLUDED.${q(c.name)}`).join(', ')})`;
  }
  return sql;
}

/** utime + stime of a process in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Phase {
  wall: number;
  cpu: number;
  walMb: number;
}
const zero = (): Phase => ({ wall: 0, cpu: 0, walMb: 0 });

async function run(
  name: string,
  v: Variant,
): Promise<{ copy: Phase; commit: Phase; settle: Phase; daily: Phase; rows: number }> {
  const client = new pg.Client({
    connectionString: url,
    options: `-c TimeZone=UTC -c temp_buffers=${v.tempBuffers ?? '128MB'}`,
  });
  await client.connect();
  const pid = Number((await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p);
  const lsn = async (): Promise<string> =>
    (await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
  const schema = `probe_${process.pid}_${name}`;
  const phases = { copy: zero(), commit: zero(), settle: zero(), daily: zero() };
  const timed = async (phase: Phase, fn: () => Promise<unknown>): Promise<void> => {
    const [w0, c0, l0] = [performance.now(), cpuSeconds(pid), await lsn()];
    await fn();
    const l1 = await lsn();
    phase.wall += (performance.now() - w0) / 1000;
    phase.cpu += cpuSeconds(pid) - c0;
    const d = await client.query<{ d: string }>('SELECT pg_wal_lsn_diff($1, $2) AS d', [l1, l0]);
    phase.walMb += Number(d.rows[0]?.d) / 1e6;
  };
  const copyFile = (table: string, file: string): Promise<void> =>
    pipeline(
      createReadStream(file),
      client.query(pgCopy.from(`COPY ${table} (${csvCols}) FROM STDIN WITH (FORMAT csv, HEADER true)`)),
    );
  try {
    await client.query(`CREATE SCHEMA ${q(schema)}`);
    const target = `${q(schema)}."scarf_events"`;
    const colDefs = columns.map((c) => `${q(c.name)} ${c.type}`).join(', ');
    const targetDefs = columns
      .map((c) => `${q(c.name)} ${c.type}${v.keyC && c.name === 'id' ? ' COLLATE "C"' : ''}`)
      .join(', ');
    await client.query(
      `CREATE TABLE ${target} (${targetDefs}${v.commit === 'limit' || v.bulk ? '' : ', PRIMARY KEY ("id")'})`,
    );
    await client.query('CHECKPOINT');
    for (const [i, file] of days.entries()) {
      if (v.commit === 'limit') {
        await timed(phases.copy, () => copyFile(target, file));
        continue;
      }
      if (v.commit === 'direct') {
        await timed(phases.copy, async () => {
          await client.query('BEGIN');
          await copyFile(target, file);
          await client.query('COMMIT');
        });
        continue;
      }
      const stage = 'pg_temp."stage"';
      const seq =
        v.staging === 'none'
          ? ''
          : `, "_exportsync_seq" bigint GENERATED ALWAYS AS IDENTITY${v.staging === 'cache' ? ' (CACHE 100000)' : ''}`;
      const stageDefs = v.text ? columns.map((c) => `${q(c.name)} text`).join(', ') : colDefs;
      await client.query(`CREATE TEMP TABLE ${stage} (${stageDefs}${seq})`);
      await timed(phases.copy, () => copyFile(stage, file));
      await timed(phases.commit, async () => {
        await client.query('BEGIN');
        await client.query(`SET LOCAL work_mem = '128MB'`);
        let dedupe = v.dedupe === 'distinct' || v.dedupe === 'distinctC';
        if (v.dedupe === 'check') {
          const r = await client.query<{ dup: boolean }>(
            `SELECT EXISTS (SELECT FROM ${stage} GROUP BY "id" HAVING count(*) > 1) AS dup`,
          );
          dedupe = r.rows[0]?.dup !== false;
        }
        if (v.bulk) {
          await client.query(windowSql(stage, target, v, dedupe, false), ['probe']);
        } else if (v.plain || i === 0) {
          await client.query('SAVEPOINT plain');
          await client.query(windowSql(stage, target, v, dedupe, false), ['probe']);
          await client.query('RELEASE SAVEPOINT plain');
        } else {
          await client.query(windowSql(stage, target, v, dedupe, true), ['probe']);
        }
        await client.query('COMMIT');
      });
      await client.query(`DROP TABLE ${stage}`);
    }
    if (v.bulk) {
      await timed(phases.settle, async () => {
        await client.query('BEGIN');
        await client.query(`LOCK TABLE ${target} IN ACCESS EXCLUSIVE MODE`);
        await client.query(`SET LOCAL maintenance_work_mem = '${v.buildMem ?? '256MB'}'`);
        await client.query(`SET LOCAL max_parallel_maintenance_workers = 0`);
        if (v.bulk === 'dedupe') {
          await client.query(`SET LOCAL work_mem = '128MB'`);
          await client.query(
            `DELETE FROM ${target} WHERE ctid = ANY (ARRAY (SELECT c FROM (SELECT ctid AS c, row_number() OVER (PARTITION BY "id" COLLATE "C" ORDER BY "time" DESC NULLS LAST, "_exportsync_loaded_at" DESC NULLS LAST, age(xmin), ctid DESC) AS n FROM ${target}) d WHERE n > 1))`,
          );
        }
        await client.query(`ALTER TABLE ${target} ADD PRIMARY KEY ("id")`);
        await client.query('COMMIT');
      });
    }
    if (v.commit === 'stage') {
      const stage = 'pg_temp."stage"';
      await client.query(
        `CREATE TEMP TABLE ${stage} (${colDefs}, "_exportsync_seq" bigint GENERATED ALWAYS AS IDENTITY (CACHE 100000))`,
      );
      await copyFile(stage, days[days.length - 1] as string);
      await timed(phases.daily, async () => {
        await client.query('BEGIN');
        await client.query(`SET LOCAL work_mem = '128MB'`);
        await client.query(
          `SELECT EXISTS (SELECT FROM (SELECT "id" FROM ${stage} LIMIT 100) s JOIN ${target} t ON t."id" = s."id")`,
        );
        await client.query(windowSql(stage, target, v, true, true), ['probe']);
        await client.query('COMMIT');
      });
      await client.query(`DROP TABLE ${stage}`);
    }
    const n = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${target}`);
    return { ...phases, rows: Number(n.rows[0]?.n) };
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`).catch(() => undefined);
    await client.end();
  }
}

const names = list?.split(',') ?? Object.keys(VARIANTS);
const f = (x: number): string => x.toFixed(2);
process.stdout.write(
  '| round | variant | total wall s | server CPU s (COPY + commit + settle) | daily re-merge: wall · CPU s | WAL MB | load avg |\n| --- | --- | --- | --- | --- | --- | --- |\n',
);
for (let r = 1; r <= Number(rounds); r++) {
  for (const name of names) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant ${name}`);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    const t = await run(name, v);
    process.stdout.write(
      `| ${r} | ${name} | ${f(t.copy.wall + t.commit.wall + t.settle.wall)} (${f(t.copy.wall)} + ${f(t.commit.wall)} + ${f(t.settle.wall)}) | ${f(t.copy.cpu + t.commit.cpu + t.settle.cpu)} (${f(t.copy.cpu)} + ${f(t.commit.cpu)} + ${f(t.settle.cpu)}) | ${f(t.daily.wall)} · ${f(t.daily.cpu)} | ${(t.copy.walMb + t.commit.walMb + t.settle.walMb).toFixed(0)} | ${load} | rows ${t.rows}\n`,
    );
  }
}
