import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import { exportRange, marketplaceSourceSchema } from '../../../connectors/marketplace/index.js';
import { retentionEdge } from '../../../connectors/marketplace/retention.js';
import { headersFor } from '../../../connectors/marketplace/export-job.js';
import {
  ADMIN_TOKEN,
  faults,
  startMarketplaceSimulator,
  type MarketplaceSimulator,
  type MarketplaceSimulatorOptions,
} from '../../../connectors/marketplace/simulator.js';
import { canon, capturingLogger, context, day, records, sourceFor, streamOf, window } from './helpers.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
let sim: MarketplaceSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
async function start(o: MarketplaceSimulatorOptions = {}) {
  sim = await startMarketplaceSimulator({ now: NOW, ...o });
  return sim;
}

describe('config', () => {
  const base = { type: 'marketplace', base_url: 'http://127.0.0.1:1', token: 't' };
  it('defaults-role-publisher-csv-and-the-export-path-and-requires-base-url', () => {
    const c = marketplaceSourceSchema.parse(base);
    expect(c.role).toBe('publisher');
    expect(c.format).toBe('csv');
    expect(c.export_path).toBe('/api/marketplace/analytics/export');
    expect(() => marketplaceSourceSchema.parse({ type: 'marketplace', token: 't' })).toThrow();
    expect(() => marketplaceSourceSchema.parse({ ...base, role: 'owner' })).toThrow();
    expect(() => marketplaceSourceSchema.parse({ ...base, extra: 1 })).toThrow();
  });

  it('a-publisher-listing-an-admin-only-dataset-fails-naming-the-dataset-and-the-role', () => {
    const r = marketplaceSourceSchema.safeParse({
      ...base,
      streams: ['install_events', 'publisher_leaderboard_history'],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['streams', 1]);
    expect(r.error!.issues[0]!.message).toContain("'publisher_leaderboard_history' is admin only");
    expect(r.error!.issues[0]!.message).toContain("role 'publisher'");
    expect(
      marketplaceSourceSchema.safeParse({ ...base, role: 'admin', streams: ['marketplace_summary'] }).success,
    ).toBe(true);
  });

  it('a-publisher-default-stream-list-leaves-out-admin-only-datasets', async () => {
    const s = await start();
    expect(sourceFor(s).streams.map((x) => x.name)).toEqual([
      'install_events',
      'review_data',
      'version_adoption_snapshot',
      'geographic_summary',
      'reputation_event_log',
    ]);
    expect(sourceFor(s, { role: 'admin', token: ADMIN_TOKEN }).streams).toHaveLength(7);
  });
});

describe('requests', () => {
  it('asks-one-request-per-window-with-inclusive-dates-and-a-bearer-token', async () => {
    const s = await start();
    const installs = streamOf(sourceFor(s, {}, NOW), 'install_events');
    const rows = await records(installs.read(window('2026-11-10', '2026-11-17'), context()));
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.path).toBe('/api/marketplace/analytics/export');
    expect(s.requests[0]!.query).toEqual({
      dataset: 'install_events',
      start_date: '2026-11-10',
      end_date: '2026-11-16',
      format: 'csv',
    });
    expect(s.requests[0]!.authorization).toBe('Bearer mp-publisher-token');
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2026-11-10', '2026-11-16')));
    expect(rows.length).toBeGreaterThan(20);
    expect(installs.describe(window('2026-11-10', '2026-11-17'))).toBe(
      'GET /api/marketplace/analytics/export?dataset=install_events&start_date=2026-11-10&end_date=2026-11-16&format=csv',
    );
  });

  it('a-publisher-sees-only-its-own-packages', async () => {
    const s = await start();
    const rows = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(new Set(rows.map((r) => r.package_id))).toEqual(new Set(['acme-crm', 'acme-billing']));
    const admin = sourceFor(s, { role: 'admin', token: ADMIN_TOKEN }, NOW);
    const all = await records(
      streamOf(admin, 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(new Set(all.map((r) => r.package_id)).size).toBe(4);
  });

  it('csv-and-json-answers-give-the-same-records', async () => {
    const s = await start();
    for (const name of ['geographic_summary', 'review_data', 'version_adoption_snapshot']) {
      const w = window('2026-11-01', '2026-11-08');
      const csv = await records(streamOf(sourceFor(s, {}, NOW), name).read(w, context()));
      const json = await records(streamOf(sourceFor(s, { format: 'json' }, NOW), name).read(w, context()));
      expect(csv.length).toBeGreaterThan(0);
      expect(canon(json)).toEqual(canon(csv));
    }
  });

  it('a-body-cut-midway-is-a-retryable-source-error-so-the-engine-refetches-the-window', async () => {
    const s = await start();
    s.queueFaults([faults.truncate(3)]);
    const err = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(true);
  });

  it('a-5xx-is-retried-by-the-http-client-and-the-window-completes', async () => {
    const s = await start();
    s.queueFaults([faults.serverError(503)]);
    const rows = await records(
      streamOf(sourceFor(s, {}, NOW), 'review_data').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(s.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(canon(rows)).toEqual(canon(s.rows('review_data', '2026-11-01', '2026-11-07')));
  });
});

describe('check', () => {
  it('check-passes-with-the-right-token-and-fails-with-a-wrong-one-naming-the-fix', async () => {
    const s = await start();
    expect((await sourceFor(s, {}, NOW).check(context())).ok).toBe(true);
    const bad = await sourceFor(s, { token: 'wrong' }, NOW).check(context());
    expect(bad.ok).toBe(false);
    expect(bad.message).toContain('rejected the token');
  });
});

describe('errors', () => {
  it('a-403-on-a-dataset-is-a-permanent-error-naming-the-dataset-and-the-role', async () => {
    const s = await start({ forbidden: ['geographic_summary'] });
    const err = await records(
      streamOf(sourceFor(s, {}, NOW), 'geographic_summary').read(
        window('2026-11-01', '2026-11-02'),
        context(),
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as SourceError).message).toContain("refused dataset 'geographic_summary'");
    expect((err as SourceError).message).toContain("role 'publisher'");
  });

  it('an-admin-dataset-with-a-publisher-token-is-a-403', async () => {
    const s = await start();
    const source = sourceFor(s, { role: 'admin' }, NOW); // admin role configured, publisher token
    const err = await records(
      streamOf(source, 'marketplace_summary').read(window('2026-11-01', '2026-11-02'), context()),
    ).catch((e: unknown) => e);
    expect((err as SourceError).details.status).toBe(403);
    expect((err as Error).message).toContain('marketplace_summary');
  });

  it('a-wrong-token-is-a-401-that-says-to-check-the-token-and-never-shows-it', async () => {
    const s = await start();
    const err = await records(
      streamOf(sourceFor(s, { token: 'nope-secret' }, NOW), 'review_data').read(
        window('2026-11-01', '2026-11-02'),
        context(),
      ),
    ).catch((e: unknown) => e);
    expect((err as SourceError).details.status).toBe(401);
    expect((err as Error).message).toContain('Check the source');
    expect((err as Error).message).not.toContain('nope-secret');
  });
});

describe('retention', () => {
  it('the-edge-is-today-24-months-back', () => {
    expect(retentionEdge(NOW).toISOString()).toBe('2024-11-25T00:00:00.000Z');
    expect(retentionEdge(new Date('2026-02-28T03:00:00Z')).toISOString()).toBe('2024-02-28T00:00:00.000Z');
    expect(retentionEdge(new Date('2028-02-29T03:00:00Z')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });

  it('the-simulator-refuses-a-range-before-the-edge-with-400', async () => {
    const s = await start();
    const res = await fetch(
      `${s.url}/api/marketplace/analytics/export?dataset=install_events&start_date=2024-11-24&end_date=2024-11-30`,
      {
        headers: { Authorization: 'Bearer mp-publisher-token' },
      },
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('24-month retention');
  });

  it('a-window-reaching-before-the-edge-is-clamped-with-one-warning-naming-the-lost-range', async () => {
    const s = await start();
    const installs = streamOf(sourceFor(s, {}, NOW), 'install_events');
    const { log, lines } = capturingLogger();
    const ctx = context(log);
    const rows = await records(installs.read(window('2024-11-20', '2024-11-27'), ctx));
    await records(installs.read(window('2024-11-27', '2024-12-04'), ctx));
    expect(s.requests[0]!.query.start_date).toBe('2024-11-25');
    expect(s.requests[0]!.query.end_date).toBe('2024-11-26');
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2024-11-25', '2024-11-26')));
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      lost_from: '2024-11-20',
      lost_to: '2024-11-24',
      retention_edge: '2024-11-25',
    });
    expect(installs.describe(window('2024-11-20', '2024-11-27'))).toContain(
      'clamped: 2024-11-20..2024-11-24 is past the 24-month retention',
    );
  });

  it('a-window-wholly-before-the-edge-makes-no-request', async () => {
    const s = await start();
    const installs = streamOf(sourceFor(s, {}, NOW), 'install_events');
    expect(await records(installs.read(window('2024-05-01', '2024-05-08'), context()))).toEqual([]);
    expect(s.requests).toHaveLength(0);
    expect(installs.describe(window('2024-05-01', '2024-05-08'))).toContain(
      'nothing: 2024-05-01..2024-05-07 is past the 24-month retention',
    );
    expect(exportRange(window('2024-05-01', '2024-05-08'), day('2024-11-25'))).toEqual({
      request: null,
      lost: { from: '2024-05-01', to: '2024-05-07' },
    });
  });
});

describe('async export', () => {
  it('a-202-job-is-polled-and-its-result-downloaded', async () => {
    const s = await start({ asyncThreshold: 10, jobPendingPolls: 2 });
    const rows = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2026-11-01', '2026-11-07')));
    expect(s.requests.map((r) => [r.path.replace(/job-\d+/, 'J'), r.status])).toEqual([
      ['/api/marketplace/analytics/export', 202],
      ['/api/marketplace/analytics/jobs/J', 200],
      ['/api/marketplace/analytics/jobs/J', 200],
      ['/api/marketplace/analytics/jobs/J', 200],
      ['/api/marketplace/analytics/jobs/J/result', 200],
    ]);
  });

  it('the-token-goes-only-to-status-and-result-urls-on-the-base-url-origin', async () => {
    const h = { Authorization: 'Bearer x', Accept: 'text/csv' };
    expect(headersFor('http://127.0.0.1:5/jobs/1', 'http://127.0.0.1:5', h)).toEqual(h);
    expect(headersFor('https://bucket.example/r?sig=1', 'http://127.0.0.1:5', h)).toEqual({
      Accept: 'text/csv',
    });
    expect(() => headersFor('not a url', 'http://127.0.0.1:5', h)).toThrow('invalid URL');
    const s = await start({ asyncThreshold: 10 });
    await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(s.requests.every((r) => r.authorization === 'Bearer mp-publisher-token')).toBe(true);
  });

  it('a-failed-job-is-submitted-once-more', async () => {
    const s = await start({ asyncThreshold: 10, failJobs: 1 });
    const rows = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2026-11-01', '2026-11-07')));
    expect(s.requests.filter((r) => r.path.endsWith('/export'))).toHaveLength(2);
  });

  it('a-job-failing-twice-is-reported', async () => {
    const s = await start({ asyncThreshold: 10, failJobs: 2 });
    const err = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain('failed twice');
    expect((err as Error).message).toContain('export worker crashed');
  });

  it('an-expired-job-is-submitted-once-more', async () => {
    const s = await start({ asyncThreshold: 10, expireJobs: 1 });
    const rows = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(window('2026-11-01', '2026-11-08'), context()),
    );
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2026-11-01', '2026-11-07')));
    expect(s.requests.map((r) => r.status)).toEqual([202, 410, 202, 200, 200, 200]);
  });

  it('a-job-pending-past-max-job-polls-fails-instead-of-waiting-forever', async () => {
    const s = await start({ asyncThreshold: 10, jobPendingPolls: 100 });
    const err = await records(
      streamOf(sourceFor(s, { max_job_polls: 3 }, NOW), 'install_events').read(
        window('2026-11-01', '2026-11-08'),
        context(),
      ),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('still pending after 3 polls');
  });

  it('polls-count-against-the-request-budget', async () => {
    const s = await start({ asyncThreshold: 10, jobPendingPolls: 100 });
    const err = await records(
      streamOf(sourceFor(s, {}, NOW), 'install_events').read(
        window('2026-11-01', '2026-11-08'),
        context(undefined, 5),
      ),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('request budget exhausted');
    expect(s.requests.length).toBeLessThanOrEqual(5);
  });
});
