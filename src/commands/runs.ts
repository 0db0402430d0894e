/**
 * `exportsync runs [--limit N] [--json]`: the last N runs from `_exportsync_runs`, newest first.
 * The table is for a person checking on the job (did last night's run work, how long, how much
 * arrived late); `--json` prints the RunRecords as stored, per-stream stats included, for scripts.
 * Runs recorded before per-stream stats existed show `-` where a figure needs them.
 */
import type { Command } from 'commander';
import type { RunRecord } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import { type CommandContext, loadContext, withDestination } from './context.js';
import { table } from './output.js';

export interface RunsFlags {
  limit?: string;
  json?: boolean;
}

export const DEFAULT_RUNS_LIMIT = 20;
const MAX_RUNS_LIMIT = 10_000;
/** Characters of the error column; the full text is in `--json`. */
const ERROR_WIDTH = 60;

/** `--limit`: a whole number from 1 to 10000 (exit 2 otherwise, naming the flag). */
export function parseRunsLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_RUNS_LIMIT;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_RUNS_LIMIT) {
    throw new ConfigError('invalid command line', [
      `--limit: must be a whole number from 1 to ${MAX_RUNS_LIMIT}`,
    ]);
  }
  return n;
}

export async function runsCommand(ctx: CommandContext, flags: RunsFlags): Promise<number> {
  const limit = parseRunsLimit(flags.limit);
  const runs = await withDestination(ctx, (d) => d.listRuns(limit));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${runs.length === 0 ? 'no runs recorded yet' : formatRuns(runs)}\n`);
  return 0;
}

const fmt = new Intl.NumberFormat('en-US');

/** The runs as a table: started, duration, status, rows, late rows, requests, streams, error. */
export function formatRuns(runs: RunRecord[]): string {
  const rows = [['started', 'duration', 'status', 'rows', 'late rows', 'requests', 'streams', 'error']];
  for (const r of runs) {
    const stats = r.stats;
    const sum = (field: 'lateRows' | 'requests'): string =>
      stats ? fmt.format(stats.reduce((n, s) => n + (Number(s[field]) || 0), 0)) : '-';
    rows.push([
      r.startedAt.replace(/\.\d{3}Z$/, 'Z'),
      r.finishedAt ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '-',
      r.command === 'run' ? r.status : `${r.status} (${r.command})`,
      fmt.format(r.rows),
      sum('lateRows'),
      sum('requests'),
      streamsCell(r),
      truncate(r.error ?? '', ERROR_WIDTH),
    ]);
  }
  return table(rows);
}

/** `1 s`, `2m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `3` streams, or `2/3 ok` when some did not end ok. */
function streamsCell(r: RunRecord): string {
  const total = r.streams.length;
  if (!r.stats) return String(total);
  const ok = r.stats.filter((s) => s.status === 'ok').length;
  return ok === total ? String(total) : `${ok}/${total} ok`;
}

function truncate(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/**
 * Adds `runs` to the command line. `done` receives the exit code (cli.ts: `(code) => (exitCode = code)`);
 * errors propagate to the CLI's own handler, which maps them to messages and exit codes.
 */
export function registerRunsCommand(program: Command, done: (code: number) => void): void {
  program
    .command('runs')
    .description('the last runs: start, duration, status, rows, late rows, requests, streams, error')
    .option('--limit <n>', `how many runs, newest first (default ${DEFAULT_RUNS_LIMIT})`)
    .option('--json', 'print the run records as JSON, per-stream stats included')
    .action(async (flags: RunsFlags) => {
      parseRunsLimit(flags.limit); // a bad --limit exits 2 before the config is read
      done(await runsCommand(await loadContext(program.opts<{ config?: string }>().config), flags));
    });
}
