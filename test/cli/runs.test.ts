/**
 * `exportsync runs`: real runs against the Scarf simulator into Postgres and DuckDB, then the
 * command reads them back from `_exportsync_runs`. Checked: newest first, the figures of each
 * column (from the simulator, not from the run), a failed run's truncated error, `--limit`,
 * `--json`, and that the command is registered on a commander program with the global --config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { formatDuration, parseRunsLimit, registerRunsCommand, runsCommand } from '../../src/commands/runs.js';
import type { CommandContext } from '../../src/commands/context.js';
import type { RunRecord } from '../../src/core/contracts.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import {
  BACKENDS,
  configYaml,
  makeConfig,
  runOnce,
  truthRows,
  type Backend,
  type Target,
} from '../e2e/harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const NEXT = new Date('2026-11-26T12:00:00Z');

/** Runs `fn` and returns what it wrote to stdout. */
async function stdoutOf(fn: () => Promise<unknown>): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  let t: Target;
  let ctx: CommandContext;
  let firstRows = 0;
  beforeAll(async () => {
    backend = makeBackend();
    sim = await startScarfSimulator({
      seed: 'runs',
      eventsPerDay: 12,
      lateEvents: 3,
      lateEventDelayDays: 2,
      now: NOW,
    });
    t = backend.target();
    ctx = { config: makeConfig(t, sim.url, { backfill_days: 2 }), log: silentLogger };
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
  });

  test('no-runs-yet', async () => {
    expect(await stdoutOf(() => runsCommand(ctx, {}))).toBe('no runs recorded yet\n');
  });

  test('table-newest-first-with-rows-late-rows-requests-and-a-truncated-error', async () => {
    expect((await runOnce(ctx.config, { now: () => NOW })).status).toBe('ok');
    firstRows = truthRows(sim, '2026-11-24', '2026-11-25').rows.length;
    sim.setNow(NEXT);
    const secondRows = truthRows(sim, '2026-11-24', '2026-11-26').rows.length;
    expect((await runOnce(ctx.config, { now: () => NEXT })).status).toBe('ok');
    const long = `bad request ${'x'.repeat(200)}`;
    sim.queueFaults([{ kind: 'status', status: 400, body: JSON.stringify({ message: long, code: 'bad' }) }]);
    expect((await runOnce(ctx.config, { now: () => new Date(NEXT.getTime() + 1000) })).status).toBe('failed');

    const lines = (await stdoutOf(() => runsCommand(ctx, {}))).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^started\s+duration\s+status\s+rows\s+late rows\s+requests\s+streams\s+error$/);
    expect(lines).toHaveLength(4);
    const cells = (line: string | undefined) => (line ?? '').split(/\s{2,}/);
    // newest first: the failed run, then the second, then the first
    const [failed, second, first] = [cells(lines[1]), cells(lines[2]), cells(lines[3])];
    expect(failed.slice(0, 7)).toEqual(['2026-11-26T12:00:01Z', '0.0 s', 'failed', '0', '0', '1', '0/1 ok']);
    expect(failed[7]).toMatch(/^scarf\.events: Scarf rejected GET .*…$/);
    expect(failed[7]?.length).toBe(60);
    // 11-24's 3 late events surfaced on 11-26 in the lookback window
    expect(second).toEqual(['2026-11-26T12:00:00Z', '0.0 s', 'ok', String(secondRows), '3', '3', '1']);
    expect(first).toEqual(['2026-11-25T12:00:00Z', '0.0 s', 'ok', String(firstRows), '0', '2', '1']);
  });

  test('json-prints-the-run-records-and-limit-cuts', async () => {
    const runs = JSON.parse(
      await stdoutOf(() => runsCommand(ctx, { json: true, limit: '2' })),
    ) as RunRecord[];
    expect(runs.map((r) => r.status)).toEqual(['failed', 'ok']);
    expect(runs[0]?.stats?.[0]).toMatchObject({ streamKey: 'scarf.events', status: 'failed', requests: 1 });
    expect(runs[1]?.stats?.[0]).toMatchObject({ status: 'ok', lateRows: 3, requests: 3, windows: 3 });
    expect(runs[1]?.stats?.[0]?.bytes).toBeGreaterThan(0);
  });

  test('registered-on-a-program-with-the-global-config-option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exportsync-runs-'));
    try {
      const path = join(dir, 'c.yaml');
      writeFileSync(path, configYaml(t, sim.url, { backfill_days: 2 }));
      let code = -1;
      const program = new Command('exportsync').option('-c, --config <path>').exitOverride();
      registerRunsCommand(program, (c) => (code = c));
      const out = await stdoutOf(() =>
        program.parseAsync(['runs', '--limit', '1', '--config', path], { from: 'user' }),
      );
      expect(code).toBe(0);
      expect(out.trimEnd().split('\n')).toHaveLength(2);
      await expect(program.parseAsync(['runs', '--limit', '0'], { from: 'user' })).rejects.toThrow(
        ConfigError,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('flags and formatting', () => {
  test('limit-must-be-a-whole-number-from-1-to-10000', () => {
    expect(parseRunsLimit(undefined)).toBe(20);
    expect(parseRunsLimit('5')).toBe(5);
    for (const bad of ['0', '-1', '2.5', 'ten', '10001']) {
      expect(() => parseRunsLimit(bad)).toThrow(ConfigError);
      try {
        parseRunsLimit(bad);
      } catch (err) {
        expect((err as ConfigError).issues).toEqual(['--limit: must be a whole number from 1 to 10000']);
      }
    }
  });

  test('durations', () => {
    expect(formatDuration(3456)).toBe('3.5 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(-5)).toBe('-');
  });
});
