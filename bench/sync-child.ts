/**
 * Runs `exportsync run` (the real CLI) in a child process under `/usr/bin/time -v`, so the peak
 * RSS is the sync's own (not the benchmark's, which holds the file server and DuckDB). Wall time
 * is measured around the child; the CLI's own "in N s" (the run, without process start-up and
 * module loading) is parsed from its summary line.
 *
 * The CLI runs as the image runs it: compiled (`npm run build`, once per benchmark process, then
 * `node dist/src/cli.js`). `EXPORTSYNC_BENCH_CLI=tsx` runs src/cli.ts through tsx instead, as
 * sessions 1–3 measured it (tsx transpiles at start-up: ~0.5 s and ~35 MB more here).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SyncDestination {
  type: 'postgres' | 'duckdb';
  /** Postgres URL or DuckDB file. */
  target: string;
  schema: string;
}

export interface SyncResult {
  wallSeconds: number;
  /** The run as the CLI reports it (after start-up). */
  runSeconds: number;
  rowsRead: number;
  peakRssMb: number;
  /** User + system CPU seconds of the child. */
  cpuSeconds: number;
  /** The split of cpuSeconds, and the child's minor page faults (`/usr/bin/time -v`). */
  userSeconds: number;
  systemSeconds: number;
  minorFaults: number;
  stdout: string;
}

export interface SyncOptions {
  baseUrl: string;
  owner: string;
  token: string;
  days: number;
  destination: SyncDestination;
  /** Directory for `node --cpu-prof` output; no profile when absent. */
  cpuProfDir?: string;
  /** File for the pg query timings of bench/trace-pg.ts; no tracing when absent. */
  pgTraceFile?: string;
}

export function configYaml(o: SyncOptions): string {
  const d = o.destination;
  const dest =
    d.type === 'postgres'
      ? `destination: { type: postgres, url: "${d.target}", schema: ${d.schema} }`
      : `destination: { type: duckdb, path: "${d.target}", schema: ${d.schema} }`;
  return [
    dest,
    `sync: { backfill_days: ${o.days} }`,
    'sources:',
    `  - { type: scarf, owner: ${o.owner}, token: ${o.token}, base_url: "${o.baseUrl}" }`,
    '',
  ].join('\n');
}

let built = false;

/** The CLI entry: the compiled dist (built once per process) unless EXPORTSYNC_BENCH_CLI=tsx. */
export function cliEntry(): string {
  if (process.env.EXPORTSYNC_BENCH_CLI === 'tsx') return 'src/cli.ts';
  if (!built) {
    const res = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`npm run build failed:\n${res.stdout}${res.stderr}`);
    built = true;
  }
  return 'dist/src/cli.js';
}

/** The node arguments that start the CLI (tsx's loader only for src/cli.ts). */
export function cliArgs(): string[] {
  const entry = cliEntry();
  return entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
}

export async function runSyncChild(o: SyncOptions): Promise<SyncResult> {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-bench-cfg-'));
  const config = join(dir, 'exportsync.yaml');
  writeFileSync(config, configYaml(o));
  const prof = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [];
  const trace = o.pgTraceFile ? ['--import', './bench/trace-pg.ts'] : [];
  const args = [
    '-v',
    process.execPath,
    ...prof,
    ...(o.pgTraceFile ? ['--import', 'tsx'] : []),
    ...trace,
    ...cliArgs(),
    'run',
    '--config',
    config,
  ];
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      EXPORTSYNC_LOG_LEVEL: 'warn',
      EXPORTSYNC_LOG_FORMAT: 'json',
      ...(o.pgTraceFile ? { EXPORTSYNC_BENCH_PG_TRACE: o.pgTraceFile } : {}),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() =>
    rmSync(dir, { recursive: true, force: true }),
  );
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`exportsync run exited ${code}\n${stdout}\n${stderr.slice(-4000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const run = /: ok in ([\d.]+) s/.exec(stdout);
  const rows = /([\d,]+) rows read/.exec(stdout);
  if (!rss || !run || !rows)
    throw new Error(`could not parse the run's output:\n${stdout}\n${stderr.slice(-2000)}`);
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  const system = Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  return {
    wallSeconds,
    runSeconds: Number(run[1]),
    rowsRead: Number((rows[1] as string).replace(/,/g, '')),
    peakRssMb: Number(rss[1]) / 1024,
    cpuSeconds: user + system,
    userSeconds: user,
    systemSeconds: system,
    minorFaults: Number(/Minor \(reclaiming a frame\) page faults: (\d+)/.exec(stderr)?.[1] ?? NaN),
    stdout,
  };
}
