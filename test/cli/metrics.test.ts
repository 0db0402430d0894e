/**
 * The `metrics:` section reaches the run when exportsync is started from the command line (the
 * loader once dropped it, and metrics were silently never written).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { startOfUtcDay } from '../../src/core/time.js';
import { FAST_SYNC, cli, scarfSource, tempDir, writeConfig } from './helpers.js';

let sim: ScarfSimulator;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  sim = await startScarfSimulator({ eventsPerDay: 5, now: startOfUtcDay(new Date()) });
  tmp = tempDir();
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});

test('metrics-textfile-written-by-a-cli-run', async () => {
  const prom = join(tmp.dir, 'exportsync.prom');
  const config = writeConfig(
    tmp.dir,
    'metrics.yaml',
    `destination: { type: duckdb, path: ${join(tmp.dir, 'w.duckdb')} }\n${FAST_SYNC}metrics:\n  textfile: ${prom}\nsources:\n${scarfSource({ baseUrl: sim.url, token: 'scarf-test-token' })}\n`,
  );
  const r = await cli(['run', '--config', config]);
  expect(r.code).toBe(0);
  expect(existsSync(prom)).toBe(true);
  const text = readFileSync(prom, 'utf8');
  expect(text).toMatch(
    /^exportsync_last_success_timestamp_seconds\{source="scarf",stream="scarf\.events"\} \d+/m,
  );
  expect(text).toMatch(/^exportsync_rows_total\{source="scarf",stream="scarf\.events"\} 10$/m);
});
