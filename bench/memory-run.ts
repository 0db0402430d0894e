/**
 * Where a sync's memory goes (issue 10, item 2): one `exportsync run` child per measurement under
 * `/usr/bin/time -v` with the sampler preload bench/memory-trace.ts, into a fresh Postgres schema /
 * DuckDB file, with optional node flags, environment and batch size. Prints one line per run and
 * appends it as JSON to --out (default /tmp/exportsync-memory-runs.jsonl); bench/memory-summary.ts
 * turns a trace into a table.
 *
 *   npx tsx bench/memory-run.ts --case first-load [--rows 1000000] [--days 10]
 *   npx tsx bench/memory-run.ts --case dynamic [--rows 100000] [--dynamic 200] [--format csv|json]
 *     [--dest postgres|duckdb] [--batch-rows N] [--node-flags "--max-semi-space-size=16"]
 *     [--env MALLOC_ARENA_MAX=2] [--repeat 1] [--label text] [--snapshot-mb 600] [--keep-trace DIR]
 *     [--compiled] [--child-stdout FILE]
 *
 * --compiled runs dist/src/cli.js (`npm run build` first) as the production image does, instead
 * of src/cli.ts through tsx: tsx's loader thread and compile cache add ~35 MB of RSS (`--help`:
 * 109 MB through tsx, 75 MB compiled). The preload is then bundled to dist/bench/ with esbuild
 * (tsx's own dependency).
 * The first-load case is bench/first-load.ts's (Scarf events, per-day CSV files); the dynamic case
 * is bench/dynamic-columns.ts's first load (Replicated customer_instances, 200 dynamic columns).
 */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { APP_ID, TOKEN, renderExport, serveExport } from './dynamic-columns-export.js';
import { ROOT } from './incremental-child.js';
import { countRows, destinationYaml, dropSchema, type Target } from './incremental-db.js';
import type { MemoryTrace } from './memory-trace.js';
import { renderDays } from './render-csv.js';
import { serveDayFiles } from './serve-files.js';
import { summarise } from './memory-summary.js';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'first-load' },
    rows: { type: 'string' },
    days: { type: 'string', default: '10' },
    dynamic: { type: 'string', default: '200' },
    format: { type: 'string', default: 'csv' },
    dest: { type: 'string', default: 'postgres' },
    'batch-rows': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    env: { type: 'string', multiple: true, default: [] },
    repeat: { type: 'string', default: '1' },
    label: { type: 'string', default: '' },
    'snapshot-mb': { type: 'string' },
    interval: { type: 'string', default: '50' },
    'keep-trace': { type: 'string' },
    compiled: { type: 'boolean', default: false },
    'child-stdout': { type: 'string' },
    out: { type: 'string', default: join(tmpdir(), 'exportsync-memory-runs.jsonl') },
  },
});
const dynamic = values.case === 'dynamic';
const dest = values.dest as 'postgres' | 'duckdb';
const rows = Number(values.rows ?? (dynamic ? 100_000 : 1_000_000));
const days = Number(values.days);
const table = dynamic ? 'replicated_customer_instances' : 'scarf_events';
const nodeFlags = values['node-flags'].split(/\s+/).filter(Boolean);
const extraEnv = Object.fromEntries(values.env.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));

let expected: number;
let sourceYaml: string;
let closeServer: () => Promise<void>;
if (dynamic) {
  const exp = await renderExport(rows, Number(values.dynamic), values.format as 'csv' | 'json');
  const server = await serveExport();
  server.serve(exp);
  expected = exp.rows;
  sourceYaml = `  - { type: replicated, app_id: ${APP_ID}, token: ${TOKEN}, base_url: "${server.url}", format: ${values.format}, streams: [customer_instances] }`;
  closeServer = () => server.close();
} else {
  const rendered = await renderDays(rows, days);
  const server = await serveDayFiles(rendered.files, 'acme', 'bench-token');
  expected = rendered.rows;
  sourceYaml = `  - { type: scarf, owner: acme, token: bench-token, base_url: "${server.url}" }`;
  closeServer = () => server.close();
}

function config(t: Target): string {
  const sync = [
    dynamic ? 'column_budget: 500' : `backfill_days: ${days}`,
    ...(values['batch-rows'] ? [`batch_rows: ${values['batch-rows']}`] : []),
  ];
  return [destinationYaml(t), `sync: { ${sync.join(', ')} }`, 'sources:', sourceYaml, ''].join('\n');
}

interface Child {
  wall: number;
  user: number;
  sys: number;
  maxRssKb: number;
  stdout: string;
}

/** node arguments before `run`: the CLI through tsx, or the build with the preload bundled. */
async function entry(): Promise<string[]> {
  if (!values.compiled) return ['--import', 'tsx', '--import', './bench/memory-trace.ts', 'src/cli.ts'];
  const cli = join(ROOT, 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: run npm run build first`);
  const outfile = join(ROOT, 'dist', 'bench', 'memory-trace.mjs');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'bench', 'memory-trace.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return ['--import', pathToFileURL(outfile).href, cli];
}
const entryArgs = await entry();
if (values['keep-trace']) mkdirSync(values['keep-trace'], { recursive: true });

function runChild(cfg: string, traceFile: string): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-memory-'));
  const file = join(dir, 'exportsync.yaml');
  writeFileSync(file, cfg);
  const args = ['-v', process.execPath, ...nodeFlags, ...entryArgs, 'run', '--config', file];
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...extraEnv,
      EXPORTSYNC_LOG_LEVEL: 'warn',
      EXPORTSYNC_LOG_FORMAT: 'json',
      EXPORTSYNC_MEMORY_TRACE: traceFile,
      EXPORTSYNC_MEMORY_INTERVAL_MS: values.interval,
      ...(values['snapshot-mb'] ? { EXPORTSYNC_MEMORY_SNAPSHOT_MB: values['snapshot-mb'] } : {}),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (values['child-stdout']) writeFileSync(values['child-stdout'], stdout);
      if (code !== 0)
        return reject(new Error(`exportsync run exited ${code}\n${stdout}\n${stderr.slice(-3000)}`));
      const num = (re: RegExp): number => Number(re.exec(stderr)?.[1] ?? NaN);
      resolve({
        wall: Number(process.hrtime.bigint() - started) / 1e9,
        user: num(/User time \(seconds\): ([\d.]+)/),
        sys: num(/System time \(seconds\): ([\d.]+)/),
        maxRssKb: num(/Maximum resident set size \(kbytes\): (\d+)/),
        stdout,
      });
    }),
  );
}

try {
  for (let i = 1; i <= Number(values.repeat); i++) {
    const name = `${process.pid}_${i}`;
    const t: Target =
      dest === 'postgres'
        ? { type: 'postgres', schema: `bench_mem_${name}` }
        : { type: 'duckdb', path: join(tmpdir(), `bench-mem-${name}.duckdb`) };
    const traceFile = join(values['keep-trace'] ?? tmpdir(), `memory-trace-${name}.json`);
    const load = loadavg()[0]!.toFixed(2);
    try {
      const c = await runChild(config(t), traceFile);
      const landed = await countRows(t, table);
      if (landed !== expected) throw new Error(`${landed} rows landed, expected ${expected}`);
      const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as MemoryTrace;
      const s = summarise(trace);
      const record = {
        at: new Date().toISOString(),
        case: values.case,
        dest,
        rows: expected,
        label: values.label,
        compiled: values.compiled,
        nodeFlags: nodeFlags.join(' '),
        env: values.env.join(' '),
        batchRows: values['batch-rows'] ?? 'default',
        load,
        wall: c.wall,
        cpu: c.user + c.sys,
        user: c.user,
        sys: c.sys,
        maxRssMb: c.maxRssKb / 1024,
        ...s,
        trace: values['keep-trace'] ? traceFile : undefined,
      };
      appendFileSync(values.out, `${JSON.stringify(record)}\n`);
      process.stdout.write(
        `${values.label || '-'} load ${load}: wall ${c.wall.toFixed(1)} s, cpu ${record.cpu.toFixed(1)} s, ` +
          `peak RSS ${record.maxRssMb.toFixed(0)} MB; at the sampled peak: ${s.atPeak}; maxima: ${s.maxima}\n`,
      );
    } finally {
      if (!values['keep-trace']) rmSync(traceFile, { force: true });
      if (t.type === 'postgres') await dropSchema(t.schema);
      else
        for (const f of [t.path, `${t.path}.wal`, `${t.path}.spool`])
          rmSync(f, { recursive: true, force: true });
    }
  }
} finally {
  await closeServer();
}
