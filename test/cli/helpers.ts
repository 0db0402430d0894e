/**
 * Runs the real CLI (`node bin/exportsync.js`) as a child process, the way a data engineer or a
 * scheduler does. Spawned asynchronously: the Scarf simulator runs in the test process, and a
 * synchronous spawn would block the event loop it answers on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'exportsync.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Each chunk of stderr as it arrives (to act on what the run logs while it runs). */
  onStderr?: (chunk: string) => void;
}

export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    EXPORTSYNC_LOG_LEVEL: 'warn',
    EXPORTSYNC_LOG_FORMAT: 'json',
    EXPORTSYNC_CONFIG: undefined,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onStderr?.(d);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exportsync ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A temp directory for configs and DuckDB files; `cleanup()` removes it. */
export function tempDir(prefix = 'exportsync-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeConfig(dir: string, name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

/** A Scarf source entry (YAML, list item indented under `sources:`). */
export function scarfSource(o: {
  baseUrl: string;
  token: string;
  name?: string;
  owner?: string;
  extra?: string;
}): string {
  return [
    `  - type: scarf`,
    ...(o.name ? [`    name: ${o.name}`] : []),
    `    owner: ${o.owner ?? 'acme'}`,
    `    token: ${o.token}`,
    `    base_url: ${o.baseUrl}`,
    ...(o.extra ? [o.extra] : []),
  ].join('\n');
}

/** Fast retries so failure paths stay quick. */
export const FAST_SYNC = `sync:
  backfill_days: 3
  lookback_days: 1
  retry: { attempts: 2, min_delay_ms: 10, max_delay_ms: 20 }
`;

/** Every stderr line parsed as JSON (throws on a line that is not). */
export function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`stderr line is not JSON: ${l}`);
      }
    });
}

/** `YYYY-MM-DD` of today minus `days` (UTC). */
export function utcDay(daysAgo: number): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - daysAgo);
  return d.toISOString().slice(0, 10);
}
