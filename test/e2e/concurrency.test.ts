/**
 * Two runs of one stream at once (a cron overlapping a manual run): one holds the stream, the
 * other waits for it or fails with LockedError (CLI exit code 4); rows are never doubled.
 * In-process: two destination objects (Postgres: two connection pools; DuckDB: the shared
 * instance). Across processes: two CLI children.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { EXIT } from '../../src/core/errors.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { removeConfigs, runCli, startCli, writeYaml } from './child.js';
import {
  BACKENDS,
  type Backend,
  type Target,
  configYaml,
  counts,
  makeConfig,
  runOnce,
  sorted,
  tableIds,
  truthIds,
} from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const at = (d: Date) => () => d;

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  beforeAll(async () => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await sim?.close();
    await backend.cleanup();
    removeConfigs();
  });

  async function expectExact(t: Target, first: string, last: string): Promise<void> {
    const truth = truthIds(sim, first, last);
    expect(await counts(t)).toEqual({ rows: truth.size, distinct: truth.size });
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
  }

  test('two-runs-at-once-never-interleave (in process: one fails with LockedError, or waits)', async () => {
    sim = await startScarfSimulator({ seed: 'two', eventsPerDay: 30, duplicateRate: 0.1, now: NOW });
    sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(100)] });
    const t = backend.target();

    const failFast = makeConfig(t, sim.url, { backfill_days: 4 });
    const [a, b] = await Promise.all([
      runOnce(failFast, { now: at(NOW) }),
      runOnce(failFast, { now: at(NOW) }),
    ]);
    const byStatus = [a, b].map((s) => `${s.status}/${s.exitCode}/${s.streams[0]?.status}`).sort();
    expect(byStatus).toEqual(['failed/4/locked', 'ok/0/ok']);
    expect(sim.requests).toHaveLength(4); // only the holder fetched
    await expectExact(t, '2026-11-22', '2026-11-25');

    // With a lock wait, the second run waits for the first and then re-reads only the lookback.
    const waiting = makeConfig(t, sim.url, { backfill_days: 4, lock_wait_ms: 30_000 });
    const from = sim.requests.length;
    const [c, d] = await Promise.all([
      runOnce(waiting, { now: at(NOW) }),
      runOnce(waiting, { now: at(NOW) }),
    ]);
    expect([c.status, d.status]).toEqual(['ok', 'ok']);
    // One after the other (lookback 11-24 and 11-25 each), never interleaved.
    expect(sim.requests.slice(from).map((r) => r.query.start_date)).toEqual([
      '2026-11-24',
      '2026-11-25',
      '2026-11-24',
      '2026-11-25',
    ]);
    await expectExact(t, '2026-11-22', '2026-11-25');
  });

  test('two-runs-at-once-never-interleave (two CLI processes: the second exits 4)', async () => {
    const today = startOfUtcDay(new Date());
    await sim?.close();
    sim = await startScarfSimulator({ seed: 'two-cli', eventsPerDay: 30, now: new Date() });
    // Each request takes 1.5 s, so the first run holds the lock for ≥ 6 s: far longer than a second
    // CLI needs to start on a loaded 2-core machine (a 250 ms delay let the first run finish first).
    sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(1500)] });
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url, { backfill_days: 4 }));

    const first = startCli(['run', '--config', config]);
    await first.waitForLog((l) => l.msg === 'sync start'); // the first run holds the stream (and the file)
    const second = await runCli(['run', '--config', config]);
    expect(second.code, second.stderr).toBe(EXIT.locked);
    const { code } = await first.exited;
    expect(code, first.stderr()).toBe(EXIT.ok);
    sim.setFaults({ faultRate: 0 });
    await expectExact(t, isoDate(addDays(today, -3)), isoDate(today));
  });
});
