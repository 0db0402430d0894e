import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { vi } from 'vitest';
import { parseConfig, type Config } from '../../src/config/load.js';
import { checkCommand } from '../../src/commands/check.js';
import type { StreamReport } from '../../src/commands/check-contract.js';

export const SCARF_TOKEN = 'scarf-test-token';

/** A logger whose JSON lines are kept in `lines`. */
export function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'exportsync-contract-'));

/** A config with one source entry (`source` lines under `- type: …`) and a DuckDB file destination. */
export function configWith(dir: string, sourceLines: string[], sync: Record<string, unknown> = {}): Config {
  const yaml = [
    `destination: { type: duckdb, path: "${join(dir, 'w.duckdb')}" }`,
    `sync: ${JSON.stringify({ retry: { attempts: 2, min_delay_ms: 1, max_delay_ms: 5 }, ...sync })}`,
    'sources:',
    ...sourceLines.map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)),
    '',
  ].join('\n');
  return parseConfig(yaml, '<contract-test>', {});
}

export function scarfLines(url: string, more: string[] = []): string[] {
  return ['type: scarf', 'owner: acme', `token: ${SCARF_TOKEN}`, `base_url: ${url}`, ...more];
}

export interface CheckResult {
  code: number;
  stdout: string;
  streams: StreamReport[];
  file: string;
}

/** Runs `check --contract` in-process; stdout captured, the saved file parsed. */
export async function runContractCheck(
  config: Config,
  dir: string,
  options: { streams?: string[]; now?: () => Date } = {},
): Promise<CheckResult> {
  const out = join(dir, `observed-${Math.random().toString(36).slice(2)}.json`);
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  let code: number;
  try {
    code = await checkCommand({ config, log: capturingLogger().log }, { contract: true, out, ...options });
  } finally {
    spy.mockRestore();
  }
  const file = readFileSync(out, 'utf8');
  return { code, stdout, streams: (JSON.parse(file) as { streams: StreamReport[] }).streams, file };
}

/** The verdict lines of one stream's report whose point starts with `point`. */
export function verdictOf(result: CheckResult, stream: string, point: string) {
  const report = result.streams.find((s) => s.stream === stream);
  if (!report) throw new Error(`no report for ${stream}`);
  const v = report.verdicts.find((x) => x.point.startsWith(point));
  if (!v)
    throw new Error(`no verdict ${point} for ${stream}: ${report.verdicts.map((x) => x.point).join(', ')}`);
  return v;
}
