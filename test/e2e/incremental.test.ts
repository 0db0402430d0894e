/**
 * First run, later runs, duplicates, late events and a new column: the warehouse must hold
 * exactly the simulator's distinct events, on Postgres and on DuckDB alike.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import type { Config } from '../../src/config/load.js';
import {
  BACKENDS,
  type Backend,
  counts,
  dataColumns,
  days,
  makeConfig,
  runOnce,
  sorted,
  state,
  tableIds,
  type Target,
  truthIds,
  truthRows,
} from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const NEXT = new Date('2026-11-26T12:00:00Z');
const at = (d: Date) => () => d;

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  const sims: ScarfSimulator[] = [];
  const sim = async (options: Parameters<typeof startScarfSimulator>[0]) => {
    const s = await startScarfSimulator(options);
    sims.push(s);
    return s;
  };
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await backend.cleanup();
  });

  // The second test continues the first one's target (vitest runs a file's tests in order).
  let first: { s: ScarfSimulator; t: Target; config: Config; truth: Set<string> } | undefined;

  test('first-run-loads-exactly-the-last-31-days', async () => {
    const s = await sim({ seed: 'first', eventsPerDay: 20, now: NOW });
    const t = backend.target();
    const config = makeConfig(t, s.url);

    const run = await runOnce(config, { now: at(NOW) });
    expect(run.status).toBe('ok');
    const expectedDays = days('2026-10-26', '2026-11-25');
    expect(expectedDays).toHaveLength(31);
    expect(s.requests.map((r) => [r.query.start_date, r.query.end_date])).toEqual(
      expectedDays.map((d) => [d, d]),
    );
    expect(s.requests.every((r) => r.status === 200 && r.completed)).toBe(true);
    const truth = truthIds(s, '2026-10-26', '2026-11-25');
    expect(truth.size).toBeGreaterThan(600);
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
    expect((await state(t))?.highWaterMark).toBe(NOW.toISOString());
    first = { s, t, config, truth };
  });

  test('second-run-fetches-only-from-mark-minus-lookback', async () => {
    if (!first) throw new Error('needs first-run-loads-exactly-the-last-31-days');
    const { s, t, config, truth } = first;
    // Next day: re-read from the mark's day minus lookback (1), i.e. 11-24, 11-25, 11-26.
    s.setNow(NEXT);
    const before = s.requests.length;
    const second = await runOnce(config, { now: at(NEXT) });
    expect(second.status).toBe('ok');
    expect(s.requests.slice(before).map((r) => [r.query.start_date, r.query.end_date])).toEqual([
      ['2026-11-24', '2026-11-24'],
      ['2026-11-25', '2026-11-25'],
      ['2026-11-26', '2026-11-26'],
    ]);
    const truth2 = truthIds(s, '2026-10-26', '2026-11-26');
    expect(truth2.size).toBeGreaterThan(truth.size); // the rest of 11-25 and the new day
    expect(sorted(await tableIds(t))).toEqual(sorted(truth2));
    const c = await counts(t);
    expect(c.rows).toBe(c.distinct);
    expect((await state(t))?.highWaterMark).toBe(NEXT.toISOString());
  });

  test('duplicate-ids-within-a-page-across-pages-and-across-runs-end-as-one-row-each', async () => {
    const s = await sim({
      seed: 'dups',
      eventsPerDay: 60,
      duplicateRate: 0.3,
      crossDayDuplicates: 5,
      now: NOW,
    });
    const t = backend.target();
    const config = makeConfig(t, s.url, { backfill_days: 4, batch_rows: 7 });
    const served = truthRows(s, '2026-11-22', '2026-11-25').rows;
    const truth = new Set(served.map((r) => r[0] as string));
    // The scenario is real: the responses do repeat ids, within a day and from the day before.
    expect(served.length - truth.size).toBeGreaterThan(20);
    expect(truthIds(s, '2026-11-23', '2026-11-23').size).toBeLessThan(
      truthRows(s, '2026-11-23', '2026-11-23').rows.length,
    );

    expect((await runOnce(config, { now: at(NOW) })).status).toBe('ok');
    expect(await counts(t)).toEqual({ rows: truth.size, distinct: truth.size });
    // A re-run re-reads the lookback days (same ids again): still one row each.
    expect((await runOnce(config, { now: at(NOW) })).status).toBe('ok');
    expect(await counts(t)).toEqual({ rows: truth.size, distinct: truth.size });
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
  });

  test('late-events-are-picked-up-by-the-lookback', async () => {
    const s = await sim({ seed: 'late', eventsPerDay: 20, lateEvents: 4, now: NOW });
    const t = backend.target();
    const config = makeConfig(t, s.url, { backfill_days: 5 });
    expect((await runOnce(config, { now: at(NOW) })).status).toBe('ok');
    const firstTruth = truthIds(s, '2026-11-21', '2026-11-25');
    expect(sorted(await tableIds(t))).toEqual(sorted(firstTruth));

    s.setNow(NEXT);
    // Events of 11-24 that only became visible now (two days after the day began).
    const lateOf24 = [...truthIds(s, '2026-11-24', '2026-11-24')].filter((id) => !firstTruth.has(id));
    expect(lateOf24).toHaveLength(4);
    expect((await runOnce(config, { now: at(NEXT) })).status).toBe('ok');
    const present = new Set(await tableIds(t));
    expect(lateOf24.filter((id) => !present.has(id))).toEqual([]);
    expect(sorted(present)).toEqual(sorted(truthIds(s, '2026-11-21', '2026-11-26')));
  });

  test('a-new-column-mid-history-becomes-a-column-and-older-rows-keep-null', async () => {
    const s = await sim({ seed: 'newcol', eventsPerDay: 20, newColumnFrom: '2026-11-23', now: NOW });
    const t = backend.target();
    const config = makeConfig(t, s.url, { backfill_days: 5 });
    expect((await runOnce(config, { now: at(NOW) })).status).toBe('ok');
    expect(await dataColumns(t)).toContain('origin_asn');

    const expected = new Map<string, string | null>();
    for (const day of days('2026-11-21', '2026-11-25')) {
      const { header, rows } = truthRows(s, day, day);
      const col = header.indexOf('origin_asn');
      for (const r of rows) {
        const value = col < 0 || r[col] === '' ? null : (r[col] as string);
        // A row served on two days (cross-day duplicate) keeps the value of its own day's response.
        if (!expected.has(r[0] as string) || day <= (r[5] as string).slice(0, 10))
          expected.set(r[0] as string, value);
      }
    }
    const rows = await t.query<{ id: string; asn: string | null; day: string }>(
      `SELECT id, origin_asn AS asn, CAST(CAST("time" AS DATE) AS VARCHAR) AS day FROM ${t.table()}`,
    );
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) expect([r.id, r.asn]).toEqual([r.id, expected.get(r.id)]);
    const older = rows.filter((r) => r.day < '2026-11-23');
    const newer = rows.filter((r) => r.day >= '2026-11-23');
    expect(older.length).toBeGreaterThan(0);
    expect(older.every((r) => r.asn === null)).toBe(true);
    expect(newer.filter((r) => r.asn !== null).length).toBeGreaterThan(newer.length / 2);
  });
});
