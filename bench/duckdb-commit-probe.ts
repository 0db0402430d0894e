/**
 * What one DuckDB window commit costs, step by step, in raw SQL (no destination, no Node staging):
 * `npx tsx bench/duckdb-commit-probe.ts --variant stage|direct|typed [--rows 1000000] [--days 10]
 * [--settings "threads=1; checkpoint_threshold='1GB'"] [--repeat-check]`.
 *
 * Uses the spool-format day files of bench/duckdb-csv-probe.ts (run it once first: it caches them).
 * For each day (one 100k-row window at 1M/10) it runs, in a fresh database file:
 *  - `stage`: what the destination did before (read_csv of VARCHAR columns into a TEMP staging
 *    table numbered by row_number(), decimal sizing over the stage, key-existence check, deduped
 *    insert with the casts from text, state row, COMMIT);
 *  - `direct`: one profile scan of the spool (row count, distinct keys, decimal sizing), the key
 *    check reading the key column of the spool, `INSERT … SELECT casts FROM read_csv(VARCHAR)`,
 *    state, COMMIT;
 *  - `direct-dedupe`: as `direct`, the insert deduplicated per key (row_number() OVER () as seq);
 *  - `typed`: as `direct` but read_csv parses into the native types itself (no casts).
 * Prints per-step wall ms and the process's CPU ms, RSS after COMMIT and duckdb_memory() total.
 * Run it as a child of `/usr/bin/time -v` to get the peak RSS.
 */
import { readFileSync } from 'node:fs';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { SCARF_EVENT_COLUMNS } from '../connectors/scarf/dictionary.js';
import { AUDIT_COLUMNS, type LogicalType } from '../src/core/contracts.js';
import { castFromText, nativeFor, type NativeType } from '../src/destinations/duckdb/duckdb-types.js';
import { renderDays } from './render-csv.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    variant: { type: 'string', default: 'direct' },
    settings: { type: 'string', default: '' },
    db: { type: 'string' },
  },
});

const columns: Array<{ name: string; type: LogicalType }> = [
  ...SCARF_EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
  { name: AUDIT_COLUMNS.loadedAt, type: 'timestamp' },
  { name: AUDIT_COLUMNS.runId, type: 'string' },
  { name: AUDIT_COLUMNS.extra, type: 'json' },
];
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const KEY = 'id';
const CURSOR = 'time';

function readCsv(path: string, types: string[]): string {
  const cols = types.map((t, i) => `'c${i}': '${t}'`).join(', ');
  return (
    `read_csv(${lit(path)}, columns = {${cols}}, header = false, auto_detect = false, delim = ',', ` +
    `quote = '"', escape = '"', new_line = '\\n', nullstr = '', allow_quoted_nulls = false, strict_mode = true)`
  );
}

async function main(): Promise<void> {
  const rendered = await renderDays(Number(values.rows), Number(values.days));
  const index = JSON.parse(readFileSync(join(rendered.dir, 'csvrows-10000', 'index.json'), 'utf8')) as Array<{
    day: string;
    file: string;
  }>;
  const dbPath = values.db ?? join(tmpdir(), `exportsync-commitprobe-${process.pid}.duckdb`);
  for (const f of [dbPath, `${dbPath}.wal`]) rmSync(f, { force: true });
  const db = await DuckDBInstance.create(dbPath, {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const c = await db.connect();
  await c.run(`SET TimeZone = 'UTC'`);
  for (const s of values.settings.split(';').filter((x) => x.trim())) await c.run(`SET GLOBAL ${s}`);
  await c.run(`CREATE TABLE state (k VARCHAR PRIMARY KEY, v JSON)`);
  const target = 't';
  let natives: NativeType[] | undefined;
  const steps = new Map<string, { ms: number; cpu: number }>();
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const u = process.cpuUsage();
    try {
      return await fn();
    } finally {
      const d = process.cpuUsage(u);
      const s = steps.get(name) ?? { ms: 0, cpu: 0 };
      s.ms += performance.now() - t;
      s.cpu += (d.user + d.system) / 1000;
      steps.set(name, s);
    }
  };
  const scalar = async (sql: string) => (await c.runAndReadAll(sql)).getRowsJson()[0] as unknown[];
  const decimals = columns.map((col, i) => ({ ...col, i })).filter((col) => col.type === 'decimal');
  const needsSql = (ref: (i: number, name: string) => string) =>
    decimals.flatMap((d) => {
      const v = ref(d.i, d.name);
      const ok = `regexp_full_match(${v}, '-?[0-9]+(\\.[0-9]+)?')`;
      return [
        `coalesce(max(CASE WHEN ${ok} THEN length(ltrim(split_part(ltrim(${v}, '-'), '.', 1), '0')) END), 0)`,
        `coalesce(max(CASE WHEN ${ok} THEN length(split_part(${v}, '.', 2)) END), 0)`,
      ];
    });
  const ensureTarget = async (needs: unknown[]) => {
    if (natives) return;
    natives = columns.map((col) => {
      const d = decimals.findIndex((x) => x.name === col.name);
      if (d < 0) return nativeFor(col.type);
      return nativeFor('decimal', { intDigits: Number(needs[2 * d]), scale: Number(needs[2 * d + 1]) });
    });
    await c.run(
      `CREATE TABLE ${target} (${columns.map((col, i) => `${q(col.name)} ${natives![i]!.native}${col.name === KEY ? ' NOT NULL' : ''}`).join(', ')})`,
    );
  };
  const casts = (ref: (i: number, name: string) => string) =>
    columns.map((col, i) => {
      let e = castFromText(ref(i, col.name), natives![i]!, new Set([col.type]));
      if (col.name === AUDIT_COLUMNS.loadedAt) e = `COALESCE(${e}, now())`;
      if (col.name === AUDIT_COLUMNS.runId) e = `COALESCE(${e}, 'probe')`;
      return `${e} AS ${q(col.name)}`;
    });
  const varchar = columns.map(() => 'VARCHAR');
  const keyIdx = columns.findIndex((col) => col.name === KEY);
  const lines: string[] = [];
  for (const [w, day] of index.entries()) {
    const before = new Map([...steps].map(([k, v]) => [k, { ...v }]));
    if (values.variant === 'stage') {
      const stage = 'temp.main.stage';
      await c.run(
        `CREATE TEMP TABLE stage (seq BIGINT, ${columns.map((col) => `${q(col.name)} VARCHAR`).join(', ')})`,
      );
      await step('spool→stage', () =>
        c.run(
          `INSERT INTO ${stage} SELECT row_number() OVER (), ${columns.map((_, i) => `c${i}`).join(', ')} FROM ${readCsv(day.file, varchar)}`,
        ),
      );
      const needs = await step('decimal sizing', () =>
        scalar(`SELECT ${needsSql((_, n) => q(n)).join(', ')} FROM ${stage}`),
      );
      await c.run('BEGIN');
      await ensureTarget(needs);
      const source = `SELECT s.seq, ${casts((_, n) => `s.${q(n)}`).join(', ')} FROM ${stage} AS s`;
      await step('key check', () =>
        scalar(
          `SELECT EXISTS (SELECT 1 FROM ${target} AS t SEMI JOIN (${source}) AS s ON t.${q(KEY)} = s.${q(KEY)})`,
        ),
      );
      await step('insert', () =>
        c.run(
          `INSERT INTO ${target} SELECT ${columns.map((col) => `s.${q(col.name)}`).join(', ')} FROM (SELECT * FROM (${source}) QUALIFY row_number() OVER (PARTITION BY ${q(KEY)} ORDER BY ${q(CURSOR)} DESC NULLS LAST, seq DESC) = 1) AS s`,
        ),
      );
    } else {
      const profile = await step('profile scan', () =>
        scalar(
          `SELECT count(*), count(DISTINCT c${keyIdx}), ${needsSql((i) => `c${i}`).join(', ')} FROM ${readCsv(day.file, varchar)}`,
        ),
      );
      await c.run('BEGIN');
      await ensureTarget(profile.slice(2));
      await step('key check', () =>
        scalar(
          `SELECT EXISTS (SELECT 1 FROM ${target} AS t SEMI JOIN ${readCsv(day.file, varchar)} AS s ON t.${q(KEY)} = s.c${keyIdx})`,
        ),
      );
      if (values.variant === 'typed') {
        const types = natives!.map((n) => n.native);
        await step('insert', () =>
          c.run(
            `INSERT INTO ${target} SELECT ${columns.map((col, i) => (col.name === AUDIT_COLUMNS.loadedAt ? `COALESCE(c${i}, now())` : col.name === AUDIT_COLUMNS.runId ? `COALESCE(c${i}, 'probe')` : `c${i}`)).join(', ')} FROM ${readCsv(day.file, types)}`,
          ),
        );
      } else if (values.variant === 'direct-dedupe') {
        const source = `SELECT seq, ${casts((i) => `s.c${i}`).join(', ')} FROM (SELECT row_number() OVER () AS seq, * FROM ${readCsv(day.file, varchar)}) AS s`;
        await step('insert', () =>
          c.run(
            `INSERT INTO ${target} SELECT ${columns.map((col) => `s.${q(col.name)}`).join(', ')} FROM (SELECT * FROM (${source}) QUALIFY row_number() OVER (PARTITION BY ${q(KEY)} ORDER BY ${q(CURSOR)} DESC NULLS LAST, seq DESC) = 1) AS s`,
          ),
        );
      } else {
        await step('insert', () =>
          c.run(
            `INSERT INTO ${target} SELECT ${casts((i) => `c${i}`).join(', ')} FROM ${readCsv(day.file, varchar)}`,
          ),
        );
      }
    }
    await c.run(`INSERT OR REPLACE INTO state VALUES ('k', '{"w": ${w}}')`);
    await step('COMMIT', () => c.run('COMMIT'));
    if (values.variant === 'stage') await c.run('DROP TABLE temp.main.stage');
    const mem = await scalar(`SELECT CAST(sum(memory_usage_bytes) AS VARCHAR) FROM duckdb_memory()`);
    const wal = await scalar(
      `SELECT CAST(wal_size AS VARCHAR) FROM pragma_database_size() WHERE database_name = current_database()`,
    );
    const parts = [...steps].map(([k, v]) => {
      const b = before.get(k) ?? { ms: 0, cpu: 0 };
      return `${k} ${(v.ms - b.ms).toFixed(0)}/${(v.cpu - b.cpu).toFixed(0)}`;
    });
    lines.push(
      `w${w + 1}: ${parts.join(' · ')} | rss ${Math.round(process.memoryUsage.rss() / 1048576)} MB, duckdb ${Math.round(Number(mem[0]) / 1048576)} MB, wal ${wal[0]}`,
    );
  }
  const closeT = performance.now();
  await c.run('CHECKPOINT');
  const closeMs = performance.now() - closeT;
  const n = (await scalar(`SELECT count(*) FROM ${target}`))[0];
  c.closeSync();
  db.closeSync();
  for (const f of [dbPath, `${dbPath}.wal`]) rmSync(f, { force: true });
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(
    `variant ${values.variant} settings [${values.settings}] rows ${n}; totals (wall ms / CPU ms): ${[
      ...steps,
    ]
      .map(([k, v]) => `${k} ${v.ms.toFixed(0)}/${v.cpu.toFixed(0)}`)
      .join(' · ')} · final CHECKPOINT ${closeMs.toFixed(0)}\n`,
  );
}

await main();
