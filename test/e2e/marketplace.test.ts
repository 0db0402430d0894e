/**
 * Marketplace end to end on Postgres and DuckDB: a restated install window re-read is replaced
 * exactly (no doubles) and a further re-run changes nothing; a publisher run where one dataset
 * answers 403 commits the others and ends "partial"; a 30-month backfill is clamped to the
 * 24-month retention edge. The simulator and the connector use the real clock (the retention
 * edge is "today"); expectations come from the simulator's ground truth.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  faults,
  startMarketplaceSimulator,
  type MarketplaceSimulator,
} from '../../connectors/marketplace/simulator.js';
import { retentionEdgeDate } from '../../connectors/marketplace/retention.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { BACKENDS, type Backend, runOnce, sorted, type Target } from './harness.js';

const today = startOfUtcDay(new Date());
const dayOf = (n: number) => isoDate(addDays(today, n));

function config(t: Target, url: string, sync: string, extra = ''): Config {
  const yaml = [
    `destination: ${t.destinationYaml}`,
    `sync: ${sync}`,
    'sources:',
    '  - type: marketplace',
    '    token: mp-publisher-token',
    `    base_url: ${url}`,
    extra,
    '',
  ].join('\n');
  return parseConfig(yaml, '<e2e>', {});
}

const installKey = (r: Record<string, unknown>) =>
  [r.package_id, r.version, r.tenant_region, String(r.install_date).slice(0, 10)].join('|');

describe.each(BACKENDS)('marketplace on %s', (_name, makeBackend) => {
  let backend: Backend;
  const sims: MarketplaceSimulator[] = [];
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await backend.cleanup();
  });
  const sim = async (o: Parameters<typeof startMarketplaceSimulator>[0] = {}) => {
    const s = await startMarketplaceSimulator(o);
    sims.push(s);
    return s;
  };

  async function installs(t: Target): Promise<string[]> {
    const rows = await t.query<Record<string, unknown>>(
      `SELECT package_id, version, tenant_region, CAST(install_date AS VARCHAR) AS install_date FROM ${t.table('marketplace_install_events')}`,
    );
    return sorted(rows.map(installKey));
  }

  test('a-restated-install-window-is-replaced-exactly-and-a-rerun-changes-nothing', async () => {
    const s = await sim();
    const t = backend.target();
    const c = config(t, s.url, '{ backfill_days: 10, lookback_days: 5 }', '    streams: [install_events]');
    const first = await runOnce(c);
    expect(first.status).toBe('ok');
    const truth = () => sorted(s.rows('install_events', dayOf(-9), dayOf(0)).map(installKey));
    expect((await installs(t)).length).toBeGreaterThan(50);
    expect(await installs(t)).toEqual(truth());

    const before = truth();
    s.set({ restatedDays: [dayOf(-3), dayOf(-4)] });
    expect(truth()).not.toEqual(before);
    const second = await runOnce(c);
    expect(second.status).toBe('ok');
    expect(s.requests.at(-1)!.query.end_date).toBe(dayOf(0));
    expect(await installs(t)).toEqual(truth());

    const third = await runOnce(c);
    expect(third.status).toBe('ok');
    expect(await installs(t)).toEqual(truth());
  });

  test('a-body-cut-midway-restarts-the-window-and-loads-it-exactly-once', async () => {
    const s = await sim();
    s.queueFaults([faults.truncate(5)]);
    const t = backend.target();
    const summary = await runOnce(config(t, s.url, '{ backfill_days: 5 }', '    streams: [install_events]'));
    expect(summary.status).toBe('ok');
    expect(s.requests[0]!.fault).toBe('truncate after 5 rows');
    expect(await installs(t)).toEqual(sorted(s.rows('install_events', dayOf(-4), dayOf(0)).map(installKey)));
  });

  test('an-async-export-is-polled-downloaded-and-loaded-and-a-job-failing-twice-fails-only-its-stream', async () => {
    // adoption has 6 rows a day (never async); installs ~100 a day (always async)
    const s = await sim({ asyncThreshold: 20, jobPendingPolls: 1, installsPerDay: 50 });
    const t = backend.target();
    const c = config(
      t,
      s.url,
      '{ backfill_days: 3 }',
      '    streams: [install_events, version_adoption_snapshot]',
    );
    const first = await runOnce(c);
    expect(first.status).toBe('ok');
    expect(s.requests.filter((r) => r.status === 202).map((r) => r.query.dataset)).toEqual([
      'install_events',
    ]);
    expect(await installs(t)).toEqual(sorted(s.rows('install_events', dayOf(-2), dayOf(0)).map(installKey)));

    s.set({ failJobs: 2, restatedDays: [dayOf(0)] });
    const second = await runOnce(c);
    expect(second.status).toBe('partial');
    const failed = second.streams.find((r) => r.streamKey === 'marketplace.install_events')!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('failed twice');
    // the failed window committed nothing: yesterday's rows stand, today's restatement did not land
    s.set({ restatedDays: [] });
    expect(await installs(t)).toEqual(sorted(s.rows('install_events', dayOf(-2), dayOf(0)).map(installKey)));
  });

  test('a-publisher-run-with-one-dataset-forbidden-commits-the-others-and-ends-partial', async () => {
    const s = await sim({ forbidden: ['geographic_summary'] });
    const t = backend.target();
    const summary = await runOnce(config(t, s.url, '{ backfill_days: 3 }'));
    expect(summary.status).toBe('partial');
    expect(summary.exitCode).toBe(3);
    const byKey = Object.fromEntries(summary.streams.map((r) => [r.streamKey, r]));
    expect(Object.keys(byKey).sort()).toEqual([
      'marketplace.geographic_summary',
      'marketplace.install_events',
      'marketplace.reputation_event_log',
      'marketplace.review_data',
      'marketplace.version_adoption_snapshot',
    ]);
    expect(byKey['marketplace.geographic_summary']!.status).toBe('failed');
    expect(byKey['marketplace.geographic_summary']!.error).toContain("refused dataset 'geographic_summary'");
    for (const k of ['install_events', 'review_data', 'version_adoption_snapshot', 'reputation_event_log']) {
      expect(byKey[`marketplace.${k}`]!.status, k).toBe('ok');
    }
    expect(await installs(t)).toEqual(sorted(s.rows('install_events', dayOf(-2), dayOf(0)).map(installKey)));
    const adoption = await t.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${t.table('marketplace_version_adoption_snapshot')}`,
    );
    expect(Number(adoption[0]!.n)).toBe(s.rows('version_adoption_snapshot', dayOf(-2), dayOf(0)).length);
  });

  test('a-30-month-backfill-is-clamped-to-the-retention-edge', async () => {
    const s = await sim({ installsPerDay: 1 });
    const t = backend.target();
    const c = config(
      t,
      s.url,
      '{ backfill_days: 915, max_requests_per_run: 1000 }',
      '    streams: [install_events]\n    window_days: 60',
    );
    const summary = await runOnce(c);
    expect(summary.status).toBe('ok');
    const edge = retentionEdgeDate(new Date());
    const starts = s.requests.map((r) => r.query.start_date!);
    expect(starts.every((d) => d >= edge)).toBe(true);
    expect(starts[0]).toBe(edge);
    const min = await t.query<{ d: string }>(
      `SELECT CAST(MIN(install_date) AS VARCHAR) AS d FROM ${t.table('marketplace_install_events')}`,
    );
    expect(min[0]!.d >= edge).toBe(true);
    expect(await installs(t)).toEqual(sorted(s.rows('install_events', edge, dayOf(0)).map(installKey)));
  });

  test('archived-rows-before-the-retention-edge-survive-a-re-backfill', async () => {
    // A warehouse keeps what the source has deleted: a re-backfill across the edge (after a state
    // reset) must not delete the archive and insert nothing in its place.
    const s = await sim({ installsPerDay: 1 });
    const t = backend.target();
    const c = config(
      t,
      s.url,
      '{ backfill_days: 800, max_requests_per_run: 1000 }',
      '    streams: [install_events]\n    window_days: 60',
    );
    expect((await runOnce(c)).status).toBe('ok');
    const archived = addDays(new Date(`${retentionEdgeDate(new Date())}T00:00:00Z`), -10)
      .toISOString()
      .slice(0, 10);
    await t.query(
      `INSERT INTO ${t.table('marketplace_install_events')} (package_id, version, tenant_region, install_date) VALUES ('archived-pkg', '1.0.0', 'eu', CAST($1 AS DATE))`,
      [archived],
    );
    await t.query(`DELETE FROM ${t.table('_exportsync_state')}`);
    expect((await runOnce(c)).status).toBe('ok');
    const kept = await t.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${t.table('marketplace_install_events')} WHERE package_id = 'archived-pkg'`,
    );
    expect(Number(kept[0]!.n)).toBe(1);
  });
});
