/**
 * The embedded default: run and state against a real DuckDB temp file, and the file held open by
 * another process (DuckDB's single-writer lock) exits 4 like a held Postgres stream lock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { startOfUtcDay } from '../../src/core/time.js';
import { FAST_SYNC, cli, jsonLines, scarfSource, tempDir, writeConfig } from './helpers.js';

let sim: ScarfSimulator;
let tmp: ReturnType<typeof tempDir>;
let config: string;
let dbPath: string;

beforeAll(async () => {
  sim = await startScarfSimulator({ eventsPerDay: 15, now: startOfUtcDay(new Date()) });
  tmp = tempDir();
  dbPath = join(tmp.dir, 'warehouse.duckdb');
  config = writeConfig(
    tmp.dir,
    'duck.yaml',
    `destination: { type: duckdb, path: ${dbPath} }\n${FAST_SYNC}sources:\n${scarfSource({ baseUrl: sim.url, token: 'scarf-test-token' })}\n`,
  );
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});

describe('DuckDB file', () => {
  test('run loads, a second run says nothing new, state show has the mark', async () => {
    const first = await cli(['run', '--config', config], { env: { EXPORTSYNC_LOG_LEVEL: 'info' } });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/scarf\.events +3\/3 window\(s\), 30 rows read, 30 new or changed;/);
    const logs = jsonLines(first.stderr);
    expect(logs.find((l) => l.msg === 'run finished')).toMatchObject({ status: 'ok', requests: 3, rows: 30 });

    const second = await cli(['run', '--config', config]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/2\/2 window\(s\), 15 rows read, 0 new or changed \(nothing new\)/);

    const state = await cli(['state', 'show', '--json', '--config', config]);
    expect(JSON.parse(state.stdout)).toEqual([
      { streamKey: 'scarf.events', state: expect.objectContaining({ schemaVersion: 1 }) },
    ]);
  });

  test('runs lists the runs newest first, through the real command line', async () => {
    const r = await cli(['runs', '--limit', '2', '--json', '--config', config]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.stdout) as Array<{ command: string; status: string; rows: number }>;
    expect(runs.map((x) => [x.command, x.status, x.rows])).toEqual([
      ['run', 'ok', 15],
      ['run', 'ok', 30],
    ]);
    const bad = await cli(['runs', '--limit', 'many', '--config', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit');
  });

  test('check --contract through the real command line: a verdict per point, shape saved, exit 0', async () => {
    const out = join(tmp.dir, 'observed.json');
    const r = await cli(['check', '--contract', '--out', out, '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scarf\.events +GET \{base_url\}\/v2\/packages\/\{owner\}\/events/);
    expect(r.stdout).not.toMatch(/\bdiffers\b/);
    expect(r.stdout).toContain(`observed shape (no data values) saved to ${out}`);
    const observed = JSON.parse(readFileSync(out, 'utf8')) as { streams: Array<{ stream: string }> };
    expect(observed.streams.map((s) => s.stream)).toEqual(['scarf.events']);
  });

  test('check with the default source name: one ok line each, exit 0', async () => {
    const r = await cli(['check', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok {4}destination duckdb \S+warehouse\.duckdb schema main: DuckDB v[\d.]+ opened read-write\n/,
    );
    expect(r.stdout).toContain('\nok    source scarf (acme): events export reachable (24 columns)\n');
  });

  test('with lock_wait_ms the run waits for the other process to release the file, then runs', async () => {
    const waiting = writeConfig(
      tmp.dir,
      'duck-wait.yaml',
      `destination: { type: duckdb, path: ${dbPath} }\n${FAST_SYNC}  lock_wait_ms: 20000\nsources:\n${scarfSource({ baseUrl: sim.url, token: 'scarf-test-token' })}\n`,
    );
    const other = await DuckDBInstance.create(dbPath);
    // released once the run says it waits (a fixed sleep lost the race to a slow start-up under load)
    let seen = '';
    let release = () => {};
    const waitingLogged = new Promise<void>((r) => (release = r));
    const child = cli(['run', '--config', waiting], {
      env: { EXPORTSYNC_LOG_LEVEL: 'warn' },
      onStderr: (chunk) => {
        seen += chunk;
        if (seen.includes('database file open in another process; waiting')) release();
      },
    });
    await Promise.race([waitingLogged, child]);
    other.closeSync();
    const r = await child;
    expect(r.code).toBe(0);
    expect(jsonLines(r.stderr).map((l) => l.msg)).toContain('database file open in another process; waiting');
  });

  test('the database file open in another process: exit 4 with the reason on stderr', async () => {
    const other = await DuckDBInstance.create(dbPath);
    try {
      const before = sim.requests.length;
      const r = await cli(['run', '--config', config]);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(
        /^exportsync: warehouse\.duckdb is open in another process \(pid \d+\); DuckDB allows one process per database file, so wait for it to finish or stop it\n$/,
      );
      expect(sim.requests.length).toBe(before);
    } finally {
      other.closeSync();
    }
  });
});
