/**
 * Transport faults: retried ones must leave a result identical to a clean run, row for row; a
 * source that keeps failing must leave only whole committed days behind, with the mark not past
 * them, and a run outcome that names the stream.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { EXIT } from '../../src/core/errors.js';
import {
  BACKENDS,
  type Backend,
  STREAM,
  counts,
  digest,
  makeConfig,
  runOnce,
  runs,
  sorted,
  state,
  tableIds,
  truthIds,
} from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const at = (d: Date) => () => d;
const FAST_RETRY = { attempts: 4, min_delay_ms: 1, max_delay_ms: 50 };

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  beforeAll(async () => {
    backend = makeBackend();
    sim = await startScarfSimulator({ seed: 'faults', eventsPerDay: 80, duplicateRate: 0.05, now: NOW });
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
  });

  test('retried-faults-leave-an-exact-result', async () => {
    const sync = { backfill_days: 6, batch_rows: 25, retry: FAST_RETRY };
    const clean = backend.target();
    expect((await runOnce(makeConfig(clean, sim.url, sync), { now: at(NOW) })).status).toBe('ok');

    const faulted = backend.target();
    const from = sim.requests.length;
    sim.queueFaults([
      faults.tooManyRequests('1'),
      faults.tooManyRequests(),
      null,
      faults.serverError(500),
      faults.serverError(502),
      null,
      faults.reset(),
      null,
      faults.truncate(30),
      null,
      faults.slow(300),
      faults.truncate(0),
      null,
    ]);
    const summary = await runOnce(makeConfig(faulted, sim.url, sync), { now: at(NOW) });
    expect(summary.status).toBe('ok');
    // Every queued fault was served (the scenario is not vacuous).
    expect(
      sim.requests
        .slice(from)
        .map((r) => r.fault)
        .filter(Boolean),
    ).toEqual([
      'status 429 retry-after 1',
      'status 429',
      'status 500',
      'status 502',
      'reset',
      'truncate after 30 rows',
      'slow 300ms',
      'truncate after 0 rows',
    ]);

    const a = await digest(clean);
    const b = await digest(faulted);
    expect(b.rows).toBe(truthIds(sim, '2026-11-20', '2026-11-25').size);
    expect(b.columns).toEqual(a.columns);
    expect(b).toEqual(a);
    expect(await counts(faulted)).toEqual({ rows: b.rows, distinct: b.rows });
    expect(await state(faulted)).toMatchObject({ highWaterMark: NOW.toISOString() });
  });

  test('a-source-that-always-fails-commits-nothing-partial-and-names-the-stream', async () => {
    const t = backend.target();
    const config = makeConfig(t, sim.url, { backfill_days: 5, retry: FAST_RETRY });
    const from = sim.requests.length;
    // 11-21 and 11-22 answer; from 11-23 on every request fails.
    sim.queueFaults([null, null]);
    sim.setFaults({ faultRate: 1, faultKinds: [faults.serverError(503)] });
    let summary;
    try {
      summary = await runOnce(config, { now: at(NOW) });
    } finally {
      sim.setFaults({ faultRate: 0 });
    }
    expect(summary.status).toBe('failed');
    expect(summary.exitCode).toBe(EXIT.failed);
    const [stream] = summary.streams;
    expect(stream).toMatchObject({ streamKey: STREAM, status: 'failed', windows: 2 });
    expect(stream?.error).toMatch(/503/);

    const seen = sim.requests.slice(from).map((r) => r.query.start_date);
    // The failing day was tried exactly as often as the retry budget allows; later days never.
    expect(seen).toEqual([
      '2026-11-21',
      '2026-11-22',
      ...Array<string>(FAST_RETRY.attempts).fill('2026-11-23'),
    ]);
    expect(sorted(await tableIds(t))).toEqual(sorted(truthIds(sim, '2026-11-21', '2026-11-22')));
    expect((await state(t))?.highWaterMark).toBe('2026-11-23T00:00:00.000Z');
    const [run] = await runs(t);
    expect(run?.status).toBe('failed');
    expect(run?.error).toContain(`${STREAM}: `);

    // The next clean run resumes from the mark (minus lookback) and completes the range.
    expect((await runOnce(config, { now: at(NOW) })).status).toBe('ok');
    expect(sorted(await tableIds(t))).toEqual(sorted(truthIds(sim, '2026-11-21', '2026-11-25')));
  });
});
