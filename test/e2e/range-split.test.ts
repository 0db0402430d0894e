/**
 * `range-too-long`: when Scarf refuses a window's date range, the engine splits the window on a day
 * boundary and fetches the halves (recursively), instead of failing the run.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { splitWindow } from '../../src/engine/stream-sync.js';
import { BACKENDS, makeConfig, counts, runOnce, sorted, tableIds, truthIds } from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');

describe('splitWindow', () => {
  test('cuts-on-a-whole-day-boundary-and-refuses-a-single-day', () => {
    const w = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-06T00:00:00Z') };
    expect(
      splitWindow(w)?.map((h) => [h.from.toISOString().slice(0, 10), h.to.toISOString().slice(0, 10)]),
    ).toEqual([
      ['2026-11-01', '2026-11-03'],
      ['2026-11-03', '2026-11-06'],
    ]);
    expect(splitWindow({ from: w.from, to: new Date('2026-11-02T00:00:00Z') })).toBeNull();
  });
});

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  const backend = makeBackend();
  let sim: ScarfSimulator;
  afterAll(async () => {
    await sim?.close();
    await backend.cleanup();
  });

  test('range-too-long-splits-the-window-and-loads-every-day-once', async () => {
    // The simulator refuses ranges of more than 2 days; the source asks for 8 days per request.
    sim = await startScarfSimulator({ seed: 'split', eventsPerDay: 15, maxRangeDays: 2, now: NOW });
    const t = backend.target();
    const config = makeConfig(t, sim.url, { backfill_days: 8 }, ['window_days: 8']);
    const summary = await runOnce(config, { now: () => NOW });
    expect(summary.status).toBe('ok');
    // 8 days refused → 4+4 refused → 2+2+2+2 accepted.
    const ranges = sim.requests.map((r) => `${r.query.start_date}..${r.query.end_date}:${r.status}`);
    expect(ranges).toEqual([
      '2026-11-18..2026-11-25:400',
      '2026-11-18..2026-11-21:400',
      '2026-11-18..2026-11-19:200',
      '2026-11-20..2026-11-21:200',
      '2026-11-22..2026-11-25:400',
      '2026-11-22..2026-11-23:200',
      '2026-11-24..2026-11-25:200',
    ]);
    const truth = truthIds(sim, '2026-11-18', '2026-11-25');
    expect(await counts(t)).toEqual({ rows: truth.size, distinct: truth.size });
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
    expect(summary.streams[0]?.windows).toBe(4);
  });
});
