/**
 * What every chaos suite shares: a seeded random source (a failing run must be replayable from
 * its seed), a violation list instead of assertions (the suites run under vitest and under
 * `npm run chaos` alike, and a run should report every broken guarantee, not only the first), and
 * the figures the summary table prints.
 */
import { hashSeed, rng } from '../../connectors/scarf/simulator-data.js';

export interface Random {
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seeded(seed: string): Random {
  const next = rng(hashSeed(`chaos:${seed}`));
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Figures of one suite on one destination, for the summary table and docs/reliability.md. */
export interface SuiteReport {
  suite: string;
  destination: string;
  /** Kill points survived, faults injected, inputs tried: what the suite counts. */
  figures: Record<string, number>;
  /** Rows the source has that the warehouse lacks after the final run (must be 0). */
  rowsLost: number;
  /** Rows stored twice (must be 0). */
  rowsDoubled: number;
  /** Every broken guarantee, each a sentence naming what was expected and what was seen. */
  violations: string[];
  durationMs: number;
  /** Free-form lines (what each kill hit), printed with --verbose. */
  notes: string[];
}

export function newReport(suite: string, destination: string): SuiteReport {
  return {
    suite,
    destination,
    figures: {},
    rowsLost: 0,
    rowsDoubled: 0,
    violations: [],
    durationMs: 0,
    notes: [],
  };
}

export function count(report: SuiteReport, figure: string, by = 1): void {
  report.figures[figure] = (report.figures[figure] ?? 0) + by;
}

/** Records a violation unless `ok`; returns `ok`. */
export function expectThat(report: SuiteReport, ok: boolean, message: string): boolean {
  if (!ok) report.violations.push(message);
  return ok;
}

/** Runs `body`, timing it, and turns an unexpected exception into a violation. */
export async function timed(report: SuiteReport, body: () => Promise<void>): Promise<SuiteReport> {
  const started = Date.now();
  try {
    await body();
  } catch (err) {
    report.violations.push(
      `suite aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  } finally {
    report.durationMs = Date.now() - started;
  }
  return report;
}
