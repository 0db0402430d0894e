/**
 * Concurrency: 2 and 3 CLI processes started at once on the same stream and destination, with
 * `lock_wait_ms: 0` (the later ones must exit 4 with a message saying another run holds the
 * stream or the file) and with a long lock wait (they must serialise and all exit 0, or exit 4
 * with that message). Every exit is 0 or 4, at least one run completes, and the table is exact:
 * never a duplicate row, never a missing one.
 */
import { faults, startScarfSimulator } from '../../connectors/scarf/simulator.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { startCli } from '../e2e/child.js';
import { configYaml, tableExists, tableIds, truthIds } from '../e2e/harness.js';
import { count, expectThat, newReport, timed, type SuiteReport } from './common.js';
import type { ChaosDestination } from './destinations.js';
import { configFiles } from './spawn.js';

export interface ConcurrencyOptions {
  destination: ChaosDestination;
  rounds: number;
  seed: string;
  /** Processes started at once, per scenario (default 2 and 3). */
  sizes?: number[];
  /** `sync.lock_wait_ms` of each scenario (default 0 and 60 s). */
  lockWaits?: number[];
}

/** What a run that lost the race must say (Postgres advisory lock, DuckDB file lock). */
const LOCKED_MESSAGE = /being synced by another run|open in another process/;

export async function concurrencySuite(o: ConcurrencyOptions): Promise<SuiteReport> {
  const report = newReport('concurrency', o.destination.name);
  const backend = o.destination.backend();
  const configs = configFiles();
  const days = 3;
  const sim = await startScarfSimulator({
    seed: `conc-${o.seed}`,
    eventsPerDay: 30,
    duplicateRate: 0.1,
    now: new Date(),
  });
  const today = startOfUtcDay(new Date());
  const truth = truthIds(sim, isoDate(addDays(today, -(days - 1))), isoDate(today));
  return timed(report, async () => {
    try {
      // every request takes 400 ms: a run holds its stream for over a second, longer than the
      // spread of process starts on a loaded machine
      sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(400)] });
      for (let round = 0; round < o.rounds; round++) {
        for (const size of o.sizes ?? [2, 3]) {
          for (const lockWaitMs of o.lockWaits ?? [0, 60_000]) {
            const t = backend.target();
            const config = configs.write(
              configYaml(t, sim.url, { backfill_days: days, lock_wait_ms: lockWaitMs }),
            );
            const children = Array.from({ length: size }, () => startCli(['run', '--config', config]));
            const exits = await Promise.all(children.map((c) => c.exited));
            const what = `${size} at once, lock_wait_ms ${lockWaitMs}`;
            count(report, 'runs at once', size);
            const codes = exits.map((e) => e.code);
            report.notes.push(`${what}: exit codes ${codes.join(',')}`);
            expectThat(
              report,
              codes.every((c) => c === 0 || c === 4),
              `${what}: every run exits 0 or 4 (got ${codes.join(',')})`,
            );
            expectThat(
              report,
              codes.includes(0),
              `${what}: at least one run completes (got ${codes.join(',')})`,
            );
            children.forEach((c, i) => {
              if (codes[i] !== 4) return;
              count(report, 'runs that exited 4');
              const said = `${c.stdout()}\n${c.stderr()}`;
              expectThat(
                report,
                LOCKED_MESSAGE.test(said),
                `${what}: a run exiting 4 says who holds the stream (got: ${said.slice(-400)})`,
              );
            });
            if (lockWaitMs > 0 && codes.every((c) => c === 0)) count(report, 'scenarios serialised');
            const ids = (await tableExists(t, 'scarf_events')) ? await tableIds(t) : [];
            const present = new Set(ids);
            const doubled = ids.length - present.size;
            const lost = [...truth].filter((id) => !present.has(id)).length;
            report.rowsDoubled += doubled;
            report.rowsLost += lost;
            expectThat(
              report,
              doubled === 0 && lost === 0 && ids.length === truth.size,
              `${what}: table exact (${doubled} doubled, ${lost} lost)`,
            );
          }
        }
      }
    } finally {
      sim.setFaults({ faultRate: 0 });
      await sim.close();
      await backend.cleanup();
      configs.cleanup();
    }
  });
}
