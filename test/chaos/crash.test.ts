/**
 * CI size of the crash suite (test/chaos/crash.ts): a few seeded SIGKILLs per destination, each
 * followed by the invariants, then a rerun equal to a clean run. `npm run chaos -- --runs N` runs
 * the same suite with N kill points per destination.
 */
import { describe, expect, test } from 'vitest';
import { crashSuite } from './crash.js';
import { DESTINATIONS } from './destinations.js';

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (_name, destination) => {
  test('sigkill-at-seeded-instants-then-rerun-equals-a-clean-run', { timeout: 120_000 }, async () => {
    const report = await crashSuite({ destination, kills: 3, seed: 'ci', days: 3, killsPerEpisode: 3 });
    expect(report.violations, report.notes.join('\n')).toEqual([]);
    expect(report.figures['kill points survived']).toBe(3);
    expect(report.rowsLost + report.rowsDoubled).toBe(0);
  });
});
