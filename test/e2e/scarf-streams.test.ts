/**
 * Scarf aggregates, company_rollup and company_events end to end on Postgres and DuckDB: restated
 * aggregate days replace the old values exactly (no doubles across re-runs), company events merge
 * on id, and the rollup snapshot keeps one history row per company per day. Expectations come
 * from the simulator's ground truth.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { BACKENDS, type Backend, days, runOnce, sorted, type Target, TOKEN } from './harness.js';

const at = (d: Date) => () => d;
const noon = (d: string) => new Date(`${d}T12:00:00Z`);

function config(t: Target, sim: ScarfSimulator, extra: string[], sync: Record<string, unknown> = {}): Config {
  const yaml = [
    `destination: ${t.destinationYaml}`,
    `sync: ${JSON.stringify(sync)}`,
    'sources:',
    '  - type: scarf',
    '    owner: acme',
    `    token: ${TOKEN}`,
    `    base_url: ${sim.url}`,
    ...extra.map((l) => `    ${l}`),
    '',
  ].join('\n');
  return parseConfig(yaml, '<e2e>', {});
}

/** Ground truth: every aggregate row of the days, as `date|breakdown|artifact|group → total`. */
function truthAggregates(
  sim: ScarfSimulator,
  from: string,
  to: string,
  breakdowns: string[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of days(from, to))
    for (const b of breakdowns)
      for (const r of sim.aggregates(d, d, b))
        out.set(`${d}|${b}|${String(r.artifact)}|${String(r.company_domain ?? '')}`, Number(r.total));
  return out;
}

async function tableAggregates(t: Target): Promise<{ rows: number; map: Map<string, number> }> {
  const rows = await t.query<{
    d: string;
    breakdown: string;
    artifact: string;
    company_domain: string | null;
    total: number;
  }>(
    `SELECT CAST("date" AS VARCHAR) AS d, breakdown, artifact, company_domain, CAST(total AS INTEGER) AS total
     FROM ${t.table('scarf_aggregates')}`,
  );
  const map = new Map<string, number>();
  for (const r of rows)
    map.set(`${r.d}|${r.breakdown}|${r.artifact}|${r.company_domain ?? ''}`, Number(r.total));
  return { rows: rows.length, map };
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  const sims: ScarfSimulator[] = [];
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await backend.cleanup();
  });
  const sim = async (seed: string, now: Date) => {
    const s = await startScarfSimulator({ seed, eventsPerDay: 80, now });
    sims.push(s);
    return s;
  };

  test('aggregates: restated days replace the old values exactly, no doubles across re-runs', async () => {
    const breakdowns = ['by-total', 'by-company'];
    const s = await sim('agg', noon('2026-11-10'));
    const t = backend.target();
    const c = config(t, s, ['streams: [aggregates]', `aggregates_breakdowns: [${breakdowns.join(', ')}]`], {
      backfill_days: 3,
    });

    const first = await runOnce(c, { now: at(noon('2026-11-10')) });
    expect(first.status).toBe('ok');
    const truth1 = truthAggregates(s, '2026-11-08', '2026-11-10', breakdowns);
    let table = await tableAggregates(t);
    expect(table.rows).toBe(truth1.size);
    expect(table.map).toEqual(truth1);

    // Next day: 11-09 (lookback) and 11-10 are restated, 11-11 is new; 11-08 is not re-read.
    s.setNow(noon('2026-11-11'));
    const before = s.requests.length;
    expect((await runOnce(c, { now: at(noon('2026-11-11')) })).status).toBe('ok');
    expect(s.requests.slice(before).map((r) => `${r.query.start_date}/${r.query.breakdown}`)).toEqual(
      ['2026-11-09', '2026-11-10', '2026-11-11'].flatMap((d) => breakdowns.map((b) => `${d}/${b}`)),
    );
    const expected = new Map([
      ...[...truth1].filter(([k]) => k.startsWith('2026-11-08')),
      ...truthAggregates(s, '2026-11-09', '2026-11-11', breakdowns),
    ]);
    // The restatement really changed values (else this test could not tell replace from keep).
    const restated = [...truth1].filter(([k, v]) => expected.get(k) !== v);
    expect(restated.length).toBeGreaterThan(0);
    table = await tableAggregates(t);
    expect(table.rows).toBe(expected.size);
    expect(table.map).toEqual(expected);

    // Same instant again: the same rows, not twice.
    expect((await runOnce(c, { now: at(noon('2026-11-11')) })).status).toBe('ok');
    table = await tableAggregates(t);
    expect(table.rows).toBe(expected.size);
    expect(table.map).toEqual(expected);
  });

  test('company_events: each configured domain merged on id, re-runs add nothing', async () => {
    const domains = ['acme.example', 'globex.example'];
    const s = await sim('cev', noon('2026-11-10'));
    const t = backend.target();
    const c = config(t, s, ['streams: [company_events]', `company_domains: [${domains.join(', ')}]`], {
      backfill_days: 4,
    });
    const truth = () =>
      new Set(
        days('2026-11-07', '2026-11-10').flatMap((d) =>
          domains.flatMap((dom) => [...s.companyEvents(dom, d, d)].slice(1).map((r) => r[0] as string)),
        ),
      );
    const ids = async () =>
      (await t.query<{ id: string }>(`SELECT id FROM ${t.table('scarf_company_events')}`)).map((r) => r.id);

    expect((await runOnce(c, { now: at(noon('2026-11-10')) })).status).toBe('ok');
    expect(s.requests).toHaveLength(4 * domains.length);
    const first = await ids();
    expect(first.length).toBeGreaterThan(10);
    expect(sorted(first)).toEqual(sorted(truth()));

    expect((await runOnce(c, { now: at(noon('2026-11-10')) })).status).toBe('ok');
    const second = await ids();
    expect(second).toHaveLength(first.length);
    expect(sorted(second)).toEqual(sorted(truth()));
    const domainsInTable = await t.query<{ d: string }>(
      `SELECT DISTINCT origin_domain AS d FROM ${t.table('scarf_company_events')} ORDER BY 1`,
    );
    expect(domainsInTable.map((r) => r.d)).toEqual(domains);
  });

  test('company_rollup: the snapshot holds the current companies, typed, stamped with the day', async () => {
    const s = await sim('roll', noon('2026-11-10'));
    const t = backend.target();
    const c = config(t, s, ['streams: [company_rollup]']);
    expect((await runOnce(c, { now: at(noon('2026-11-10')) })).status).toBe('ok');
    const [header, ...truth] = s.rollup();
    const rows = await t.query<Record<string, unknown>>(
      `SELECT company_domain, funnel_stage, CAST(total_events AS INTEGER) AS total_events,
              CAST(first_seen AS VARCHAR) AS first_seen, CAST(snapshot_date AS VARCHAR) AS snapshot_date
       FROM ${t.table('scarf_company_rollup')} ORDER BY company_domain`,
    );
    const col = (r: string[], n: string) => r[header!.indexOf(n)];
    expect(rows).toEqual(
      [...truth]
        .sort((a, b) => (col(a, 'company_domain')! < col(b, 'company_domain')! ? -1 : 1))
        .map((r) => ({
          company_domain: col(r, 'company_domain'),
          funnel_stage: col(r, 'funnel_stage'),
          total_events: Number(col(r, 'total_events')),
          first_seen: col(r, 'first_seen'),
          snapshot_date: '2026-11-10',
        })),
    );
  });

  test('company_rollup history: one row per company per day across three simulated days', async () => {
    const s = await sim('hist', noon('2026-11-10'));
    const t = backend.target();
    const c = config(t, s, ['streams: [company_rollup]']);
    const expected: Array<[string, string, string]> = [];
    for (const d of ['2026-11-10', '2026-11-11', '2026-11-12']) {
      s.setNow(noon(d));
      const [header, ...rows] = s.rollup();
      for (const r of rows)
        expected.push([d, r[header!.indexOf('company_domain')]!, r[header!.indexOf('funnel_stage')]!]);
      expect((await runOnce(c, { now: at(noon(d)) })).status).toBe('ok');
      // A second run the same day replaces that day's history rows, never adds to them.
      expect((await runOnce(c, { now: at(noon(d)) })).status).toBe('ok');
    }
    const history = await t.query<{ d: string; company_domain: string; funnel_stage: string }>(
      `SELECT CAST(snapshot_date AS VARCHAR) AS d, company_domain, funnel_stage
       FROM ${t.table('scarf_company_rollup_history')} ORDER BY 1, 2`,
    );
    expect(history.map((r) => [r.d, r.company_domain, r.funnel_stage])).toEqual(
      expected.sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1)),
    );
    // Some company changed stage across the three days.
    const byCompany = new Map<string, Set<string>>();
    for (const [, dom, st] of expected) byCompany.set(dom, (byCompany.get(dom) ?? new Set()).add(st));
    expect([...byCompany.values()].some((st) => st.size > 1)).toBe(true);
  });
});
