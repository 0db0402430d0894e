/**
 * CI size of the concurrency suite (test/chaos/concurrency.ts): three CLI runs started at once on
 * one stream. Postgres with a lock wait (they serialise), DuckDB without (the file lock refuses
 * the later ones with exit 4). Two at once is test/e2e/concurrency.test.ts; `npm run chaos` runs
 * both sizes with both lock waits on every destination.
 */
import { describe, expect, test } from 'vitest';
import { concurrencySuite } from './concurrency.js';
import { DESTINATIONS } from './destinations.js';

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (name, destination) => {
  test('three-runs-at-once-serialise-or-exit-4-never-a-duplicate-row', { timeout: 120_000 }, async () => {
    const report = await concurrencySuite({
      destination,
      rounds: 1,
      seed: 'ci',
      sizes: [3],
      lockWaits: name === 'postgres' ? [60_000] : [0],
    });
    expect(report.violations, report.notes.join('\n')).toEqual([]);
    expect(report.rowsDoubled + report.rowsLost).toBe(0);
  });
});
