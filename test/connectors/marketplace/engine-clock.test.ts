/**
 * The marketplace connector computes the retention edge with the engine's clock (run.ts `now`,
 * handed through src/engine/sources.ts), not its own. With a fixed `now` years before the real
 * clock, the connector on the real clock would find every window past its (real-today) edge,
 * request nothing and let the run commit empty windows: a silent loss. On the engine's clock it
 * clamps exactly where the engine does.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { retentionEdgeDate } from '../../../connectors/marketplace/retention.js';
import {
  PUBLISHER_TOKEN,
  startMarketplaceSimulator,
  type MarketplaceSimulator,
} from '../../../connectors/marketplace/simulator.js';
import { parseConfig, type Config } from '../../../src/config/load.js';
import { createSource } from '../../../src/engine/sources.js';
import { BACKENDS, type Backend, runOnce, sorted } from '../../e2e/harness.js';
import { window } from './helpers.js';

const NOW = new Date('2020-03-10T12:00:00.000Z'); // edge 2018-03-10; the real clock's is years later
const EDGE = '2018-03-10';

function config(destinationYaml: string, url: string): Config {
  return parseConfig(
    [
      `destination: ${destinationYaml}`,
      'sync: { backfill_days: 740, max_requests_per_run: 100 }',
      'sources:',
      '  - type: marketplace',
      `    token: ${PUBLISHER_TOKEN}`,
      `    base_url: ${url}`,
      '    streams: [install_events]',
      '    window_days: 90',
      '',
    ].join('\n'),
    '<test>',
    {},
  );
}

test('createSource hands the clock to the connector: describe clamps at the edge of that clock', () => {
  expect(retentionEdgeDate(NOW)).toBe(EDGE);
  const c = config('{ type: duckdb, path: /nonexistent.duckdb }', 'http://127.0.0.1:1');
  const w = window('2018-03-01', '2018-03-20');
  const onEngineClock = createSource(c.sources[0]!, 0, {}, { now: () => NOW }).streams[0]!;
  expect(onEngineClock.describe(w)).toContain('start_date=2018-03-10&end_date=2018-03-19');
  expect(onEngineClock.describe(w)).toContain('clamped: 2018-03-01..2018-03-09');
  // without a clock the connector keeps the real one, as before
  expect(createSource(c.sources[0]!, 0).streams[0]!.describe(w)).toContain('nothing:');
});

describe.each(BACKENDS)('marketplace on the engine clock on %s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: MarketplaceSimulator;
  beforeAll(async () => {
    backend = makeBackend();
    sim = await startMarketplaceSimulator({ now: NOW, installsPerDay: 1 });
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
  });

  test('a run with a fixed now far from the real clock clamps at that clock edge and loads from it', async () => {
    const t = backend.target();
    const summary = await runOnce(config(t.destinationYaml, sim.url), { now: () => NOW });
    expect(summary.status).toBe('ok');
    const starts = sim.requests.map((r) => r.query.start_date!);
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
    expect(starts[0]).toBe(EDGE);
    expect(starts.every((d) => d >= EDGE)).toBe(true);
    expect(sim.requests.at(-1)!.query.end_date).toBe('2020-03-10');
    const key = (r: Record<string, unknown>) =>
      [r.package_id, r.version, r.tenant_region, String(r.install_date).slice(0, 10)].join('|');
    const rows = await t.query<Record<string, unknown>>(
      `SELECT package_id, version, tenant_region, CAST(install_date AS VARCHAR) AS install_date FROM ${t.table('marketplace_install_events')}`,
    );
    const truth = sim.rows('install_events', EDGE, '2020-03-10');
    expect(truth.length).toBeGreaterThan(500);
    expect(sorted(rows.map(key))).toEqual(sorted(truth.map(key)));
    sim.requests.length = 0;
  });
});
