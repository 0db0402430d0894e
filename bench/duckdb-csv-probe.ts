/**
 * What DuckDB's CSV pass-through costs, without HTTP, CSV parsing or the mapper:
 * `npx tsx bench/duckdb-csv-probe.ts [--rows 1000000] [--days 10] [--batch 10000] [--one-window]
 * [--no-limit]` (`--one-window`: every day in ONE load, a 1M-row spool; `--no-limit`: skip read_csv;
 * PROBE_SETTINGS="checkpoint_threshold='1GB'" runs SET GLOBALs on the sync's database first).
 *
 * Takes the first-load benchmark's Scarf CSV (bench/render-csv.ts, cached), turns each day's body
 * once into `CsvRows` lines (24 data fields + 3 NULL audit fields, batch boundaries indexed; cached
 * next to it), then runs two child processes under `/usr/bin/time -v`, one after the other:
 *  - `csv`: the real DuckDB destination, one load per day (= a 100k-row window at 1M/10), each
 *    batch read from disk into a fresh buffer (as the reader hands over its ByteBuffer) and staged
 *    with `writeCsv`, then `commit` (merge, first load: the insert-only path); `close` checkpoints;
 *  - `limit`: `CREATE TABLE AS SELECT * FROM read_csv(all.csv)` + CHECKPOINT (bench/limits.ts).
 * Prints wall seconds, the time inside writeCsv and commit, peak RSS (kernel max RSS of the
 * child) and the load average.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCARF_EVENT_COLUMNS } from '../connectors/scarf/dictionary.js';
import type { TableSchema } from '../src/core/contracts.js';
import { AUDIT_COLUMNS } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { acquireDatabase, releaseDatabase } from '../src/destinations/duckdb/duckdb-database.js';
import { createDuckDbDestination } from '../src/destinations/duckdb/index.js';
import { duckdbReadCsvLimit } from './limits.js';
import { renderDays } from './render-csv.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    batch: { type: 'string', default: '10000' },
    child: { type: 'string' },
    dir: { type: 'string' },
    db: { type: 'string' },
    'one-window': { type: 'boolean', default: false },
    'no-limit': { type: 'boolean', default: false },
  },
});
const AUDIT = [',', ',', ','].join(''); // loaded_at, run_id, _extra: NULL (filled at commit)

const schema: TableSchema = {
  table: 'scarf_events',
  columns: [
    ...SCARF_EVENT_COLUMNS.map((c) => ({
      name: c.name,
      source: c.name,
      type: c.type,
      origin: 'dictionary' as const,
    })),
    { name: AUDIT_COLUMNS.loadedAt, source: AUDIT_COLUMNS.loadedAt, type: 'timestamp', origin: 'audit' },
    { name: AUDIT_COLUMNS.runId, source: AUDIT_COLUMNS.runId, type: 'string', origin: 'audit' },
    { name: AUDIT_COLUMNS.extra, source: AUDIT_COLUMNS.extra, type: 'json', origin: 'audit' },
  ],
  primaryKey: ['id'],
  cursorColumn: 'time',
};

interface Batch {
  offset: number;
  length: number;
  rows: number;
}
interface DayIndex {
  day: string;
  file: string;
  batches: Batch[];
}

/**
 * The day's body as CsvRows lines (header dropped, audit fields appended), cut every `batch`
 * rows; a quote-aware byte scan, since quoted values may hold line breaks.
 */
async function toCsvRows(src: string, dst: string, batch: number): Promise<Batch[]> {
  const out = createWriteStream(`${dst}.part`);
  const tail = Buffer.from(`${AUDIT}\n`);
  const batches: Batch[] = [];
  let header = true;
  let quoted = false;
  let written = 0;
  let start = 0;
  let rows = 0;
  for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x22) quoted = !quoted;
      else if (b === 0x0a && !quoted) {
        if (header) header = false;
        else {
          parts.push(chunk.subarray(from, i), tail);
          written += i - from + tail.length;
          if (++rows === batch) {
            batches.push({ offset: start, length: written - start, rows });
            start = written;
            rows = 0;
          }
        }
        from = i + 1;
      }
    }
    if (!header && from < chunk.length) {
      parts.push(chunk.subarray(from));
      written += chunk.length - from;
    }
    if (!out.write(Buffer.concat(parts))) await once(out, 'drain');
  }
  if (rows > 0) batches.push({ offset: start, length: written - start, rows });
  out.end();
  await once(out, 'finish');
  renameSync(`${dst}.part`, dst);
  return batches;
}

/**
 * One load per day (or one for all days with `oneWindow`: a 1M-row spool). Samples the RSS every
 * 50 ms, split into staging and commit, and the JS heap after each load's staging (a spool that
 * kept rows in JS memory would show there).
 */
async function childCsv(dir: string, dbPath: string, oneWindow: boolean): Promise<void> {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as DayIndex[];
  const started = process.hrtime.bigint();
  const dest = createDuckDbDestination({ path: dbPath, schema: 'main', log: silentLogger });
  await dest.open();
  const settings = process.env.PROBE_SETTINGS; // e.g. "checkpoint_threshold='1GB'; threads=1"
  if (settings) {
    const db = await acquireDatabase(dbPath, silentLogger);
    const c = await db.instance.connect();
    for (const set of settings.split(';').filter((x) => x.trim())) await c.run(`SET GLOBAL ${set}`);
    c.closeSync();
    await releaseDatabase(db, silentLogger);
  }
  let phase: 'staging' | 'commit' = 'staging';
  const peak = { staging: 0, commit: 0 };
  const sample = () => (peak[phase] = Math.max(peak[phase], process.memoryUsage.rss()));
  const sampler = setInterval(sample, 50);
  let inWrite = 0n;
  let inCommit = 0n;
  let rows = 0;
  let heapAfterStaging = 0;
  const groups = oneWindow ? [index] : index.map((d) => [d]);
  for (const days of groups) {
    const from = new Date(`${days[0]!.day}T00:00:00Z`);
    const to = new Date(new Date(`${days[days.length - 1]!.day}T00:00:00Z`).getTime() + 86_400_000);
    const load = await dest.beginLoad({ streamKey: 'probe.scarf_events', schema, runId: 'probe' });
    phase = 'staging';
    for (const day of days) {
      const fh = await open(day.file, 'r');
      try {
        for (const b of day.batches) {
          const text = Buffer.allocUnsafe(b.length);
          await fh.read(text, 0, b.length, b.offset);
          const t = process.hrtime.bigint();
          await load.writeCsv!({ text, rows: b.rows, width: schema.columns.length }, schema);
          inWrite += process.hrtime.bigint() - t;
          rows += b.rows;
        }
      } finally {
        await fh.close();
      }
    }
    heapAfterStaging = Math.max(heapAfterStaging, process.memoryUsage().heapUsed);
    sample();
    phase = 'commit';
    const t = process.hrtime.bigint();
    await load.commit({ schema, mode: 'merge', window: { from, to } });
    inCommit += process.hrtime.bigint() - t;
    sample();
  }
  clearInterval(sampler);
  const landed = (await dest.describeTable(schema.table))?.rowCount ?? 0;
  await dest.close();
  const seconds = (n: bigint) => Number(n) / 1e9;
  const mb = (n: number) => Math.round(n / 1048576);
  process.stdout.write(
    `${JSON.stringify({
      rows,
      landed,
      seconds: seconds(process.hrtime.bigint() - started),
      writeCsv: seconds(inWrite),
      commit: seconds(inCommit),
      rssStagingMb: mb(peak.staging),
      rssCommitMb: mb(peak.commit),
      heapAfterStagingMb: mb(heapAfterStaging),
    })}\n`,
  );
}

/** Runs this file as a child under /usr/bin/time -v; returns its JSON line and max RSS (MB). */
async function runChild(
  args: string[],
): Promise<{ out: Record<string, number>; rssMb: number; cpu: number }> {
  const child = spawn(
    '/usr/bin/time',
    ['-v', process.execPath, '--import', 'tsx', 'bench/duckdb-csv-probe.ts', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`probe child exited ${code}\n${stdout}\n${stderr.slice(-3000)}`);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1024;
  const cpu =
    Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1]) +
    Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1]);
  return { out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>, rssMb: rss, cpu };
}

if (values.child === 'csv') {
  await childCsv(values.dir!, values.db!, values['one-window']);
} else if (values.child === 'limit') {
  const seconds = await duckdbReadCsvLimit(values.db!, join(values.dir!, 'all.csv'));
  process.stdout.write(`${JSON.stringify({ seconds })}\n`);
} else {
  const batch = Number(values.batch);
  const rendered = await renderDays(Number(values.rows), Number(values.days));
  const dir = join(rendered.dir, `csvrows-${batch}`);
  const indexFile = join(dir, 'index.json');
  if (!existsSync(indexFile)) {
    mkdirSync(dir, { recursive: true });
    const index: DayIndex[] = [];
    for (const [day, file] of rendered.files) {
      const out = join(dir, `${day}.csv`);
      index.push({ day, file: out, batches: await toCsvRows(file, out, batch) });
    }
    writeFileSync(indexFile, JSON.stringify(index));
  }
  const db = join(tmpdir(), `exportsync-csvprobe-${process.pid}.duckdb`);
  const clean = () => {
    for (const f of [db, `${db}.wal`, `${db}.limit`, `${db}.limit.wal`]) rmSync(f, { force: true });
    rmSync(`${db}.spool`, { recursive: true, force: true });
  };
  try {
    const load = loadavg().map((l) => l.toFixed(2));
    const one = values['one-window'] ? ['--one-window'] : [];
    const csv = await runChild(['--child', 'csv', '--dir', dir, '--db', db, ...one]);
    const loadMid = loadavg().map((l) => l.toFixed(2));
    const limit = values['no-limit']
      ? undefined
      : await runChild(['--child', 'limit', '--dir', rendered.dir, '--db', `${db}.limit`]);
    if (csv.out.rows !== rendered.rows || csv.out.landed !== rendered.rows)
      throw new Error(`staged ${csv.out.rows} rows, ${csv.out.landed} landed, expected ${rendered.rows}`);
    const f = (n: number | undefined) => (n ?? NaN).toFixed(2);
    const o = csv.out;
    const windows = values['one-window'] ? 1 : Number(values.days);
    process.stdout.write(
      [
        `rows ${rendered.rows} in ${windows} window(s), writeCsv batches of ${batch}; load average ${load.join(' ')} before, ${loadMid.join(' ')} between`,
        `| path | seconds | in writeCsv s | in commit s | CPU s | peak RSS MB (staging · commit) | JS heap after staging MB |`,
        `| --- | --- | --- | --- | --- | --- | --- |`,
        `| writeCsv + commit, incl. open/close | ${f(o.seconds)} | ${f(o.writeCsv)} | ${f(o.commit)} | ${f(csv.cpu)} | ${csv.rssMb.toFixed(0)} (${o.rssStagingMb} · ${o.rssCommitMb}) | ${o.heapAfterStagingMb} |`,
        ...(limit
          ? [
              `| read_csv limit (CTAS + CHECKPOINT) | ${f(limit.out.seconds)} | | | ${f(limit.cpu)} | ${limit.rssMb.toFixed(0)} | |`,
              `ratio (limit / writeCsv path): ${((limit.out.seconds ?? NaN) / (o.seconds ?? NaN)).toFixed(2)}`,
            ]
          : []),
      ].join('\n') + '\n',
    );
  } finally {
    clean();
  }
}
