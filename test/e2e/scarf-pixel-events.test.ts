/**
 * Scarf `pixel_events`: tracking-pixel views from `/v2/tracking-pixels/{owner}/events` land in
 * their own table with the events' columns plus `entity_kind`, merged on id like package events.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { BACKENDS, makeConfig, runOnce } from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  const backend = makeBackend();
  let sim: ScarfSimulator;
  afterAll(async () => {
    await sim?.close();
    await backend.cleanup();
  });

  test('pixel-events-land-in-their-own-table-with-entity-kind-and-no-doubles', async () => {
    sim = await startScarfSimulator({ seed: 'px', eventsPerDay: 12, duplicateRate: 0.2, now: NOW });
    const t = backend.target();
    const config = makeConfig(t, sim.url, { backfill_days: 3 }, ['streams: [pixel_events]']);
    for (let run = 0; run < 2; run++) {
      const summary = await runOnce(config, { now: () => NOW });
      expect(summary.status).toBe('ok');
    }
    expect(sim.requests.every((r) => r.path === '/v2/tracking-pixels/acme/events')).toBe(true);

    const [header, ...truth] = [...sim.pixelEvents('2026-11-23', '2026-11-25')];
    const idAt = header!.indexOf('id');
    const ids = [...new Set(truth.map((r) => r[idAt]!))].sort();
    const rows = await t.query<{ id: string; type: string; entity_kind: string }>(
      `SELECT id, type, entity_kind FROM ${t.table('scarf_pixel_events')} ORDER BY id`,
    );
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(new Set(rows.map((r) => `${r.type}/${r.entity_kind}`))).toEqual(
      new Set(['pixel-fetch/tracking-pixel']),
    );
  });
});
