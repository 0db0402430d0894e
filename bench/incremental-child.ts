/**
 * Runs one exportsync CLI command (compiled, see cliEntry in sync-child.ts; tsx loads the trace) in a child process under
 * `/usr/bin/time -v`, with the timeline preload bench/incremental-trace.ts, and writes a bench's
 * results file. Shared by bench/incremental.ts, bench/dynamic-columns.ts and
 * bench/backfill-latency.ts (bench/sync-child.ts only knows `run` of a Scarf source).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './report.js';
import { cliEntry } from './sync-child.js';
import { phasesOf, type Phases, type TraceFile } from './incremental-phases.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface CliResult {
  code: number;
  /** Whole child process, start-up included. */
  wallSeconds: number;
  /** The run as the CLI reports it (`… in N s`), NaN when not printed. */
  runSeconds: number;
  /** `N request(s)` of the CLI's summary, NaN when not printed. */
  requests: number;
  peakRssMb: number;
  stdout: string;
  stderr: string;
  trace: TraceFile;
  phases: Phases;
}

export interface CliOptions {
  /** e.g. ['run'] or ['backfill', '--from', …]; `--config` is appended. */
  args: string[];
  config: string;
  /** Exit codes that are not a failure (default [0]). */
  okCodes?: number[];
}

/** Spawns the CLI; resolves with its figures, rejects on an exit code not in `okCodes`. */
export function startCli(o: CliOptions): Promise<CliResult> {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-bench-cli-'));
  const config = join(dir, 'exportsync.yaml');
  const traceFile = join(dir, 'trace.json');
  writeFileSync(config, o.config);
  const args = [
    '-v',
    process.execPath,
    '--import',
    'tsx',
    '--import',
    './bench/incremental-trace.ts',
    cliEntry(),
    ...o.args,
    '--config',
    config,
  ];
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      EXPORTSYNC_LOG_LEVEL: 'warn',
      EXPORTSYNC_LOG_FORMAT: 'json',
      EXPORTSYNC_BENCH_TRACE: traceFile,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise<CliResult>((resolve, reject) => {
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        if (!(o.okCodes ?? [0]).includes(code ?? -1)) {
          throw new Error(`exportsync ${o.args.join(' ')} exited ${code}\n${stdout}\n${stderr.slice(-4000)}`);
        }
        const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as TraceFile;
        const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        const summary = /: \w+ in ([\d.]+) s, ([\d,]+) request\(s\)/.exec(stdout);
        resolve({
          code: code ?? -1,
          wallSeconds,
          runSeconds: summary ? Number(summary[1]) : NaN,
          requests: summary ? Number((summary[2] as string).replace(/,/g, '')) : NaN,
          peakRssMb: rss ? Number(rss[1]) / 1024 : NaN,
          stdout,
          stderr,
          trace,
          phases: phasesOf(trace),
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/**
 * Writes bench/results/<name>.md: title, the command, the machine (from bench/report.ts), the date,
 * then the sections (markdown). Overwrites: the file holds the latest run of that bench.
 */
export function writeResults(name: string, title: string, command: string, sections: string[]): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.md`);
  const text = [
    `# ${title}`,
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · \`${command}\``,
    '',
    machine(),
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  writeFileSync(file, text);
  return file;
}
