/** The benchmark's table, the machine it ran on, and the section appended to BENCHMARKS.md. */
import { execSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface Measurement {
  dest: 'postgres' | 'duckdb';
  rows: number;
  attempt: number;
  /** Whole sync process, start-up included. */
  wallSeconds: number;
  /** The run as the CLI reports it. */
  runSeconds: number;
  limitSeconds: number;
  peakRssMb: number;
  /** User + system CPU seconds of the sync process (less sensitive to a loaded machine than wall time). */
  cpuSeconds?: number;
}

const sh = (cmd: string): string => execSync(cmd, { encoding: 'utf8' }).trim();

export function machine(): string {
  const mem = sh('free -g').split('\n')[1]?.replace(/\s+/g, ' ') ?? '?';
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return [
    `- nproc: ${sh('nproc')}; \`free -g\` ${mem}; kernel ${sh('uname -r')}; node ${process.version}`,
    `- load average at start (1/5/15 min): ${load} — the machine is shared, numbers move with it`,
  ].join('\n');
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function table(ms: Measurement[]): string {
  const head = [
    'dest',
    'rows',
    'run',
    'seconds',
    'rows/s',
    'limit s',
    'limit rows/s',
    'ratio',
    'peak RSS MB',
    'sync CPU s',
  ];
  const body = ms.map((m) => [
    m.dest,
    fmt(m.rows),
    `#${m.attempt}`,
    `${m.wallSeconds.toFixed(2)} (run ${m.runSeconds.toFixed(1)})`,
    fmt(m.rows / m.wallSeconds),
    m.limitSeconds.toFixed(2),
    fmt(m.rows / m.limitSeconds),
    (m.limitSeconds / m.wallSeconds).toFixed(2),
    m.peakRssMb.toFixed(0),
    m.cpuSeconds === undefined ? '' : m.cpuSeconds.toFixed(1),
  ]);
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export function appendSection(file: string, command: string, machineText: string, ms: Measurement[]): void {
  if (!existsSync(file)) {
    writeFileSync(
      file,
      '# Benchmarks\n\nAppended by `npm run bench` (bench/first-load.ts). Newest section last.\n',
    );
  }
  const section = [
    '',
    `## First load, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `\`${command}\``,
    '',
    machineText,
    '',
    'seconds = the whole `exportsync run` child process, start-up included ("run" = the run as the CLI reports it);',
    'rows/s = rows / seconds; limit = raw load of the same CSV (Postgres `psql \\copy` into an unindexed',
    'table with the same columns, DuckDB `CREATE TABLE AS SELECT * FROM read_csv`); ratio = limit s / seconds',
    '(1.0 = as fast as the raw load); peak RSS = `/usr/bin/time -v` max RSS of the sync process;',
    'sync CPU s = its user + system CPU time (Node and the DuckDB threads; not the Postgres server).',
    '',
    table(ms),
    '',
  ].join('\n');
  appendFileSync(file, section);
}
