/**
 * CI size of the source-fault suite (test/chaos/source-faults.ts): two rounds of a 10 %-faulted
 * sync per destination, then one always-failing source per fault kind.
 */
import { describe, expect, test } from 'vitest';
import { DESTINATIONS } from './destinations.js';
import { sourceFaultSuite } from './source-faults.js';

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (_name, destination) => {
  test(
    'ten-percent-faulted-responses-give-an-exact-result; an-always-failing-source-commits-nothing',
    { timeout: 120_000 },
    async () => {
      const report = await sourceFaultSuite({ destination, rounds: 2, seed: 'ci', rate: 0.2 });
      expect(report.violations, JSON.stringify(report.figures)).toEqual([]);
      expect(report.figures['faults injected']).toBeGreaterThan(40);
      expect(report.rowsLost + report.rowsDoubled).toBe(0);
    },
  );
});
