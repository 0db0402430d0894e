/**
 * The real CLI as a child process that a test can watch and kill: JSON log lines from stderr are
 * parsed as they arrive, so a test can act at an exact moment ("after the 3rd committed window").
 * Spawned asynchronously: the simulator answers from this process's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'exportsync.js');

export interface Child {
  process: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first log line matching, or rejects when the child exits first. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  committed(): number;
}

const configDirs: string[] = [];

/** Writes a config file into a fresh temp directory (removed by `removeConfigs`). */
export function writeYaml(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-e2e-cfg-'));
  configDirs.push(dir);
  const path = join(dir, 'exportsync.yaml');
  writeFileSync(path, yaml);
  return path;
}

export function startCli(args: string[]): Child {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EXPORTSYNC_LOG_LEVEL: 'info',
    EXPORTSYNC_LOG_FORMAT: 'json',
  };
  delete env.EXPORTSYNC_CONFIG;
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });

  return {
    process: child,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    committed: () => logs.filter((l) => l.msg === 'window committed').length,
    waitForLog(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no matching log line in ${timeoutMs} ms\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          const hit = logs.find(match);
          if (hit) finish(undefined, hit);
          else if (done) finish(new Error(`exportsync exited before the expected log line\n${out}\n${err}`));
        };
        const finish = (e?: Error, hit?: Record<string, unknown>) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve(hit as Record<string, unknown>);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export function removeConfigs(): void {
  for (const dir of configDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = startCli(args);
  const { code } = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** Polls until `cond()` holds (e.g. a request is in flight at the simulator). */
export async function until(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
