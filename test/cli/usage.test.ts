/**
 * The command line before any sync: help, unknown commands, and every config problem exits 2
 * with the field path on stderr, without contacting the source or creating a destination.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { cli, scarfSource, tempDir, writeConfig } from './helpers.js';

let sim: ScarfSimulator;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  sim = await startScarfSimulator();
  tmp = tempDir();
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});

/** A DuckDB config whose file must not appear when the command exits 2. */
function duckConfig(name: string, sourceExtra = ''): { path: string; db: string } {
  const db = join(tmp.dir, `${name}.duckdb`);
  const path = writeConfig(
    tmp.dir,
    `${name}.yaml`,
    `destination: { type: duckdb, path: ${db} }\nsources:\n${scarfSource({ baseUrl: sim.url, token: 'scarf-test-token', extra: sourceExtra })}\n`,
  );
  return { path, db };
}

describe.concurrent('usage', () => {
  test('--help lists every command and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['run', 'check', 'plan', 'state'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(r.stdout).toContain('--config');
  });

  test('state --help describes show and reset', async () => {
    const r = await cli(['state', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/show \[options\]\s+print the high-water mark/);
    expect(r.stdout).toMatch(/reset \[options\]\s+forget one stream's mark/);
  });

  test('an unknown command exits 2 with a hint, not a page of help', async () => {
    const r = await cli(['sync']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'sync'");
    expect(r.stderr).toContain("(run 'exportsync --help' for the commands and options)");
    expect(r.stderr).not.toContain('Usage:');
  });

  test('an unknown option exits 2', async () => {
    const r = await cli(['run', '--dry-run', '--config', duckConfig('opt').path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--dry-run'");
  });

  test('a missing config file exits 2 naming the path', async () => {
    const missing = join(tmp.dir, 'nope.yaml');
    const r = await cli(['run', '--config', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: file not found`);
  });

  test('no --config and no ./exportsync.yaml: says how to point at a config', async () => {
    const r = await cli(['run'], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'exportsync.yaml: file not found; no --config was given (pass --config <file> or set EXPORTSYNC_CONFIG)',
    );
  });

  test('$EXPORTSYNC_CONFIG is used when --config is absent', async () => {
    const { path } = duckConfig('envcfg', '    streams: [clicks]');
    const r = await cli(['plan'], { env: { EXPORTSYNC_CONFIG: path } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`exportsync: invalid configuration (${path})`);
  });

  test('every problem of a file is reported at once, each with its field path', async () => {
    const path = writeConfig(
      tmp.dir,
      'many.yaml',
      `destination: { type: postgres }\nsync: { backfil_days: 3 }\nsources:\n  - type: scarff\n    owner: acme\n    token: x\n`,
    );
    const r = await cli(['run', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `exportsync: invalid configuration (${path})\n` +
        '  - destination.url: required\n' +
        '  - sync.backfil_days: unknown key (did you mean backfill_days?)\n' +
        '  - sources[0].type: must be one of: scarf, replicated, marketplace\n',
    );
  });

  test('an unknown stream exits 2 naming sources[0].streams[i], before the destination is created', async () => {
    const { path, db } = duckConfig('stream', '    streams: [events, clicks]');
    for (const command of ['run', 'plan', 'check']) {
      const r = await cli([command, '--config', path]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain(
        "  - sources[0].streams[1]: unknown stream 'clicks' (scarf has: events, aggregates, company_rollup, company_events, pixel_events)",
      );
    }
    expect(existsSync(db)).toBe(false);
  });

  test('an unset environment variable exits 2 naming the field and the variable, not the value', async () => {
    const db = join(tmp.dir, 'env.duckdb');
    const path = writeConfig(
      tmp.dir,
      'env.yaml',
      `destination: { type: duckdb, path: ${db} }\nsources:\n${scarfSource({ baseUrl: sim.url, token: '${SCARF_API_TOKEN_UNSET_X}' })}\n`,
    );
    const r = await cli(['run', '--config', path], { env: { SCARF_API_TOKEN_UNSET_X: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '  - sources[0].token: environment variable SCARF_API_TOKEN_UNSET_X is not set',
    );
    expect(existsSync(db)).toBe(false);
  });

  test('--streams matching nothing exits 2 before any request or destination', async () => {
    const { path, db } = duckConfig('only');
    const before = sim.requests.length;
    for (const command of ['run', 'plan']) {
      const r = await cli([command, '--config', path, '--streams', 'scarf.evnts']);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toBe(
        'exportsync: invalid command line\n  - --streams: no configured stream matches scarf.evnts\n',
      );
    }
    expect(existsSync(db)).toBe(false);
    expect(sim.requests.length).toBe(before);
  });
});
