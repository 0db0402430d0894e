/**
 * The CLI killed at awkward instants: SIGKILL after committed windows, before a response's
 * headers, in the middle of a body; SIGTERM once. After each, the mark never passes committed
 * data and no id is doubled; a rerun ends equal, column for column, to a clean run.
 *
 * The child runs on the real clock, so the simulator's `now` is the real now (fixed at start);
 * a test that straddles midnight UTC would plan different days than its clean run.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { EXIT } from '../../src/core/errors.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { removeConfigs, runCli, startCli, until, writeYaml, type Child } from './child.js';
import {
  BACKENDS,
  type Backend,
  type Target,
  configYaml,
  counts,
  digest,
  incompleteDaysBefore,
  makeConfig,
  runOnce,
  runs,
  state,
  tableIds,
  truthIds,
} from './harness.js';

const BACKFILL = 6;
const SYNC = {
  backfill_days: BACKFILL,
  batch_rows: 5,
  retry: { attempts: 3, min_delay_ms: 1, max_delay_ms: 50 },
};

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  let clean: Awaited<ReturnType<typeof digest>>;
  const today = startOfUtcDay(new Date());
  const firstDay = isoDate(addDays(today, -(BACKFILL - 1)));
  const lastDay = isoDate(today);

  beforeAll(async () => {
    backend = makeBackend();
    sim = await startScarfSimulator({
      seed: 'crash',
      eventsPerDay: 40,
      duplicateRate: 0.05,
      now: new Date(),
    });
    const reference = backend.target();
    const summary = await runOnce(makeConfig(reference, sim.url, SYNC));
    expect(summary.status).toBe('ok');
    clean = await digest(reference);
    expect(clean.rows).toBe(truthIds(sim, firstDay, lastDay).size);
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
    removeConfigs();
  });

  const runIdOf = (child: Child) => child.logs.find((l) => typeof l.run === 'string')?.run as string;

  /** What must hold after any crash: no id twice, nothing beyond the source, nothing missing before the mark. */
  async function expectConsistent(t: Target): Promise<string | null> {
    const ids = await tableIds(t);
    const present = new Set(ids);
    expect(ids.length).toBe(present.size);
    const truth = truthIds(sim, firstDay, lastDay);
    expect(ids.filter((id) => !truth.has(id))).toEqual([]);
    const mark = (await state(t))?.highWaterMark ?? null;
    if (mark) expect(incompleteDaysBefore(sim, mark, firstDay, present)).toEqual([]);
    return mark;
  }

  async function expectKilledRunStillRunning(t: Target, child: Child): Promise<void> {
    const runId = runIdOf(child);
    expect(runId).toBeTruthy();
    const row = (await runs(t)).find((r) => r.run_id === runId);
    expect(row?.status).toBe('running');
  }

  test('a-run-killed-with-sigkill-mid-window-then-rerun-equals-a-clean-run', async () => {
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url, SYNC));
    sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(200)] });
    try {
      // 1. Right after the second committed window.
      const a = startCli(['run', '--config', config]);
      await a.waitForLog(() => a.committed() >= 2);
      a.process.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
      const markA = await expectConsistent(t);
      expect(markA).not.toBeNull();
      expect(markA! >= addDays(new Date(`${firstDay}T00:00:00Z`), 2).toISOString()).toBe(true);
      await expectKilledRunStillRunning(t, a);

      // 2. While a request is in flight (the simulator is holding its headers back).
      const fromB = sim.requests.length;
      const b = startCli(['run', '--config', config]);
      await until(() => sim.requests.length > fromB + 1, 30_000, 'a second request of run b');
      b.process.kill('SIGKILL');
      expect((await b.exited).signal).toBe('SIGKILL');
      const markB = await expectConsistent(t);
      expect(markB! >= markA!).toBe(true);
      await expectKilledRunStillRunning(t, b);

      // 3. In the middle of a body, rows already staged (the body stalls after 20 rows).
      sim.setFaults({ faultKinds: [faults.stall(20, 1000)] });
      const fromC = sim.requests.length;
      const c = startCli(['run', '--config', config]);
      await until(
        () => sim.requests.slice(fromC).some((r) => r.rows >= 20 && !r.completed),
        30_000,
        'a body of run c to stall midway',
      );
      await new Promise((r) => setTimeout(r, 100));
      c.process.kill('SIGKILL');
      expect((await c.exited).signal).toBe('SIGKILL');
      const markC = await expectConsistent(t);
      expect(markC! >= markB!).toBe(true);
      await expectKilledRunStillRunning(t, c);
    } finally {
      sim.setFaults({ faultRate: 0 });
    }

    // The rerun completes and equals the clean run.
    const final = await runCli(['run', '--config', config]);
    expect(final.code, final.stderr).toBe(EXIT.ok);
    await expectConsistent(t);
    expect(await digest(t)).toEqual(clean);
    const statuses = (await runs(t)).map((r) => r.status);
    expect(statuses).toEqual(['running', 'running', 'running', 'ok']);
  });

  test('sigterm-stops-after-the-window-in-flight-commits', async () => {
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url, SYNC));
    sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(300)] });
    let child: Child;
    try {
      child = startCli(['run', '--config', config]);
      await child.waitForLog(() => child.committed() >= 1);
      // Signal while the next window's request is held by the simulator.
      child.process.kill('SIGTERM');
      const { code } = await child.exited;
      expect(code, child.stderr()).toBe(EXIT.interrupted);
    } finally {
      sim.setFaults({ faultRate: 0 });
    }
    const committed = child.committed();
    // The window in flight at the signal was finished and committed, then the run stopped.
    expect(committed).toBeGreaterThanOrEqual(2);
    expect(committed).toBeLessThan(BACKFILL);
    const mark = await expectConsistent(t);
    expect(mark).toBe(addDays(new Date(`${firstDay}T00:00:00Z`), committed).toISOString());
    expect((await counts(t)).rows).toBe(truthIds(sim, firstDay, isoDate(addDays(new Date(mark!), -1))).size);
    expect((await runs(t)).map((r) => r.status)).toEqual(['interrupted']);

    const rerun = await runCli(['run', '--config', config]);
    expect(rerun.code, rerun.stderr).toBe(EXIT.ok);
    expect(await digest(t)).toEqual(clean);
  });
});
