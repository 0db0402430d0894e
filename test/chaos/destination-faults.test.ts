/**
 * CI size of the destination-fault suite (test/chaos/destination-faults.ts): Postgres connection
 * killed mid-COPY and mid-MERGE and a statement timeout; DuckDB on a disk that fills up mid-run.
 */
import { describe, expect, test } from 'vitest';
import { DESTINATIONS } from './destinations.js';
import { destinationFaultSuite } from './destination-faults.js';

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (_name, destination) => {
  test(
    'a-destination-fault-mid-window-leaves-nothing-partial-and-the-next-run-completes',
    { timeout: 120_000 },
    async () => {
      const report = await destinationFaultSuite({ destination, rounds: 1, seed: 'ci' });
      expect(report.violations, report.notes.join('\n')).toEqual([]);
      expect(report.figures['faults injected']).toBeGreaterThan(0);
      expect(report.rowsLost + report.rowsDoubled).toBe(0);
    },
  );
});
