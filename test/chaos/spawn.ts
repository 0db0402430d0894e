/**
 * The CLI as a child process with the environment a suite needs (test/e2e/child.ts pins the log
 * level to info; the secrets suite needs debug, the full-disk scenario a file size limit).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `exportsync <args>` to completion; `limitKb` runs it under `ulimit -f` (writes past it fail with EFBIG). */
export function runExportsync(
  args: string[],
  options: { env?: Record<string, string>; limitKb?: number } = {},
): Promise<CliResult> {
  const bin = join(ROOT, 'bin', 'exportsync.js');
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const command = `${options.limitKb ? `ulimit -f ${options.limitKb}; ` : ''}exec ${quoted}`;
  const env: NodeJS.ProcessEnv = { ...process.env, EXPORTSYNC_LOG_FORMAT: 'json', ...options.env };
  delete env.EXPORTSYNC_CONFIG;
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Config files of one suite in its own temp directory (child.ts's removeConfigs is process-wide). */
export function configFiles(): { write(yaml: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-chaos-cfg-'));
  let n = 0;
  return {
    write(yaml) {
      const path = join(dir, `config-${++n}.yaml`);
      writeFileSync(path, yaml);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
