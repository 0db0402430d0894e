/**
 * Source faults: the Scarf simulator fails a seeded 10 % of `/events` responses with every kind
 * a real export shows (429 with and without Retry-After, 500, 502, resets, bodies cut midway,
 * headers and bodies that hang past the request timeout). Each round is a fresh multi-day sync
 * that must end byte for byte equal to a clean run. Then a source that fails every time, one
 * round per fault kind: the run must end failed with a clear message after exactly the retry
 * budget, and commit nothing.
 */
import {
  faults,
  startScarfSimulator,
  type ScarfFault,
  type ScarfSimulator,
} from '../../connectors/scarf/simulator.js';
import { addDays, isoDate } from '../../src/core/time.js';
import {
  type Backend,
  type Target,
  digest,
  makeConfig,
  runOnce,
  runs,
  state,
  tableExists,
  tableIds,
  truthIds,
} from '../e2e/harness.js';
import { count, expectThat, newReport, timed, type SuiteReport } from './common.js';
import type { ChaosDestination } from './destinations.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const TIMEOUT_MS = 300;
const RETRY = { attempts: 6, min_delay_ms: 1, max_delay_ms: 40 };

/** Every fault kind, the two hangs well past the request timeout. */
export const FAULT_KINDS: ScarfFault[] = [
  faults.tooManyRequests('1'),
  faults.tooManyRequests(),
  faults.serverError(500),
  faults.serverError(502),
  faults.reset(),
  faults.truncate(7),
  faults.truncate(0),
  faults.slow(TIMEOUT_MS * 4),
  faults.stall(5, TIMEOUT_MS * 4),
];

export interface SourceFaultOptions {
  destination: ChaosDestination;
  /** Rounds of faulted syncs (each `days` requests plus retries). */
  rounds: number;
  seed: string;
  days?: number;
  rate?: number;
}

export async function sourceFaultSuite(o: SourceFaultOptions): Promise<SuiteReport> {
  const report = newReport('source faults', o.destination.name);
  const days = o.days ?? 8;
  const backend = o.destination.backend();
  const sim = await startScarfSimulator({
    seed: `faults-${o.seed}`,
    eventsPerDay: 40,
    duplicateRate: 0.05,
    now: NOW,
    faultSeed: `${o.seed}:${o.destination.name}`,
    faultKinds: FAULT_KINDS,
    chunkRows: 16,
  });
  const sync = {
    backfill_days: days,
    batch_rows: 16,
    request_timeout_ms: TIMEOUT_MS,
    window_attempts: 4,
    retry: RETRY,
  };
  const first = isoDate(addDays(NOW, -(days - 1)));
  const truth = truthIds(sim, first, isoDate(NOW));
  return timed(report, async () => {
    try {
      const reference = backend.target();
      await runOnce(makeConfig(reference, sim.url, sync), { now: () => NOW });
      const clean = await digest(reference);
      expectThat(report, clean.rows === truth.size, `clean run is exact (${clean.rows} of ${truth.size})`);

      for (let round = 0; round < o.rounds; round++) {
        const t = backend.target();
        const from = sim.requests.length;
        sim.setFaults({ faultRate: o.rate ?? 0.1 });
        let status: string;
        try {
          status = (await runOnce(makeConfig(t, sim.url, sync), { now: () => NOW })).status;
        } finally {
          sim.setFaults({ faultRate: 0 });
        }
        const served = sim.requests.slice(from);
        count(report, 'requests', served.length);
        const hit = served.filter((x) => x.fault).map((x) => x.fault as string);
        count(report, 'faults injected', hit.length);
        count(report, 'faults injected at random', hit.length);
        report.notes.push(`round ${round}: ${served.length} requests, faults: ${hit.join(', ') || 'none'}`);
        const got = await digest(t);
        expectThat(
          report,
          status === 'ok',
          `round ${round}: run status ok under 10 % faults (got ${status})`,
        );
        expectThat(
          report,
          got.sha === clean.sha && got.rows === clean.rows,
          `round ${round}: faulted run equals the clean run (${got.rows} vs ${clean.rows} rows)`,
        );
        await tally(report, t, truth);
      }
      for (const kind of FAULT_KINDS) await alwaysFailing(report, backend, sim, sync, kind);
    } finally {
      await sim.close();
      await backend.cleanup();
    }
  });
}

async function tally(report: SuiteReport, t: Target, truth: Set<string>): Promise<void> {
  const ids = await tableIds(t);
  const present = new Set(ids);
  report.rowsDoubled += ids.length - present.size;
  report.rowsLost += [...truth].filter((id) => !present.has(id)).length;
}

/** A source failing every request with `kind`: a clear failure after the budget, nothing committed. */
async function alwaysFailing(
  report: SuiteReport,
  backend: Backend,
  sim: ScarfSimulator,
  sync: Record<string, unknown>,
  kind: ScarfFault,
): Promise<void> {
  const t = backend.target();
  const from = sim.requests.length;
  sim.setFaults({ faultRate: 1, faultKinds: [kind] });
  let summary;
  try {
    summary = await runOnce(makeConfig(t, sim.url, sync), { now: () => NOW });
  } finally {
    sim.setFaults({ faultRate: 0, faultKinds: FAULT_KINDS });
  }
  const label = sim.requests[from]?.fault ?? kind.kind;
  const requests = sim.requests.length - from;
  count(report, 'always-failing sources');
  count(report, 'faults injected', requests);
  const error = summary.streams[0]?.error ?? '';
  // a status or connection failure exhausts the HTTP retries within one window attempt; a body
  // that breaks after the headers is retried by re-reading the window
  const bodyFault = kind.kind === 'truncate' || kind.kind === 'stall';
  const budget = bodyFault ? Number(sync.window_attempts) : RETRY.attempts;
  expectThat(
    report,
    summary.status === 'failed' && summary.exitCode === 1,
    `${label}: run fails with exit 1 (got ${summary.status}/${summary.exitCode})`,
  );
  expectThat(
    report,
    requests === budget,
    `${label}: exactly the retry budget (${budget} requests), got ${requests}`,
  );
  const clear = bodyFault
    ? /response body of GET \S+ (broke off|.*no data for \d+ ms)|no data for \d+ ms while reading the response body/
    : /^(Scarf|.*)gave up after \d+ attempts: .*(HTTP \d{3}|failed|no response within)/;
  expectThat(report, clear.test(error) && !/\n\s+at /.test(error), `${label}: clear error, got "${error}"`);
  const rows = (await tableExists(t, 'scarf_events')) ? (await tableIds(t)).length : 0;
  expectThat(report, rows === 0, `${label}: nothing committed (${rows} rows)`);
  expectThat(report, (await state(t)) === null, `${label}: no mark stored`);
  const [run] = await runs(t);
  expectThat(
    report,
    run?.status === 'failed' && (run.error ?? '').includes('scarf.events: '),
    `${label}: runs table says failed naming the stream (got ${run?.status}: ${run?.error})`,
  );
}
