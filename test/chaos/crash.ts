/**
 * Crash consistency: the real CLI syncs several simulated days and is killed with SIGKILL at
 * seeded random instants, each aimed at one phase of a window:
 *   startup       random delay after spawn (opening the destination, recording the run, locking)
 *   fetch         a request held by the simulator before its headers
 *   staging       a body stalled midway, its first rows already parsed and staged
 *   commit        a random 0–40 ms after a body ended (mapping, merge, state, COMMIT, checkpoint)
 *   merge         (Postgres) the merge INSERT blocked by a LOCK TABLE … SHARE held by this suite
 *   state         (Postgres) the state upsert blocked the same way, after the merge ran
 *   after-commit  right after a "window committed" log line
 * After every kill: no id twice, no id the source does not have, every day before the mark
 * complete, the killed run's row still 'running'. Each episode ends with a run to completion,
 * whose table must equal a clean run's digest row for row.
 */
import pg from 'pg';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { TEST_DATABASE_URL } from '../support/postgres.js';
import { runCli, startCli, type Child } from '../e2e/child.js';
import {
  type Target,
  configYaml,
  digest,
  incompleteDaysBefore,
  makeConfig,
  runOnce,
  runs,
  state,
  tableExists,
  tableIds,
  truthIds,
} from '../e2e/harness.js';
import {
  count,
  expectThat,
  newReport,
  seeded,
  sleep,
  timed,
  type Random,
  type SuiteReport,
} from './common.js';
import type { ChaosDestination } from './destinations.js';
import { configFiles } from './spawn.js';

export type KillPhase = 'startup' | 'fetch' | 'staging' | 'commit' | 'merge' | 'state' | 'after-commit';

export interface CrashOptions {
  destination: ChaosDestination;
  /** Kill points to survive. */
  kills: number;
  seed: string;
  /** Days the first run backfills (one request each). */
  days?: number;
  eventsPerDay?: number;
  /** Kills before an episode's run to completion (then a fresh table). */
  killsPerEpisode?: number;
}

export async function crashSuite(o: CrashOptions): Promise<SuiteReport> {
  const report = newReport('crash', o.destination.name);
  await o.destination.prepare?.();
  const days = o.days ?? 6;
  const eventsPerDay = o.eventsPerDay ?? 40;
  const random = seeded(`${o.seed}:crash:${o.destination.name}`);
  const sync = {
    backfill_days: days,
    batch_rows: 5,
    retry: { attempts: 3, min_delay_ms: 1, max_delay_ms: 50 },
  };
  const backend = o.destination.backend();
  const configs = configFiles();
  const sim = await startScarfSimulator({
    seed: `crash-${o.seed}`,
    eventsPerDay,
    duplicateRate: 0.05,
    now: new Date(),
    chunkRows: 8,
  });
  const today = startOfUtcDay(new Date());
  const firstDay = isoDate(addDays(today, -(days - 1)));
  const lastDay = isoDate(today);
  const truth = truthIds(sim, firstDay, lastDay);
  const watcher = o.destination.pgSession ? new pg.Client({ connectionString: TEST_DATABASE_URL }) : null;

  return timed(report, async () => {
    try {
      await watcher?.connect();
      const reference = backend.target();
      const summary = await runOnce(makeConfig(reference, sim.url, sync));
      const clean = await digest(reference);
      if (!expectThat(report, summary.status === 'ok' && clean.rows === truth.size, 'the clean run is exact'))
        return;

      let misses = 0;
      while ((report.figures['kill points survived'] ?? 0) < o.kills) {
        const t = backend.target();
        const config = configs.write(configYaml(t, sim.url, sync));
        const killed: string[] = [];
        let completed = 0;
        for (
          let k = 0;
          k < (o.killsPerEpisode ?? 5) && (report.figures['kill points survived'] ?? 0) < o.kills;
          k++
        ) {
          const phases: KillPhase[] = ['startup', 'fetch', 'staging', 'commit', 'after-commit'];
          if (watcher && (await tableExists(t, 'scarf_events')))
            phases.push('merge', 'state', 'merge', 'state');
          if (report.violations.length > 10) throw new Error('stopping: more than 10 broken guarantees');
          const phase = random.pick(phases);
          const outcome = await killOnce({ phase, config, sim, t, random, eventsPerDay, watcher });
          if (!outcome.killed) {
            completed += 1;
            misses += 1;
            report.notes.push(`${phase}: the run finished before the aimed instant (${outcome.what})`);
            if (misses > o.kills) throw new Error('too many runs finished before their kill point');
            continue;
          }
          report.notes.push(`killed at ${phase}: ${outcome.what}`);
          await o.destination.afterKill?.(t);
          // the kill can land after the run recorded its outcome (while the process exits): then
          // 'ok' must mean complete
          const finished = outcome.runId ? await finishedOk(t, outcome.runId) : false;
          if (finished) {
            completed += 1;
            count(report, 'kills after the run had finished');
          } else if (outcome.runId) killed.push(outcome.runId);
          const ok = await checkAfterKill(
            report,
            t,
            sim,
            firstDay,
            truth,
            finished ? undefined : outcome.runId,
            phase,
          );
          if (finished) {
            const present = new Set(await tableIds(t));
            const missing = [...truth].filter((id) => !present.has(id)).length;
            expectThat(
              report,
              missing === 0,
              `${phase}: a run recorded 'ok' but ${missing} id(s) are missing`,
            );
          }
          if (ok) {
            count(report, 'kill points survived');
            count(report, `kills at ${phase}`);
          }
        }
        const final = await runCli(['run', '--config', config]);
        expectThat(
          report,
          final.code === 0,
          `the run after the kills exits 0 (got ${final.code}: ${final.stderr.slice(-400)})`,
        );
        completed += 1;
        const ids = await tableIds(t);
        const present = new Set(ids);
        report.rowsDoubled += ids.length - present.size;
        report.rowsLost += [...truth].filter((id) => !present.has(id)).length;
        const got = await digest(t);
        expectThat(
          report,
          got.sha === clean.sha && got.rows === clean.rows,
          `after ${killed.length} kill(s) and a rerun the table equals the clean run (rows ${got.rows} vs ${clean.rows})`,
        );
        const statuses = await runs(t);
        for (const id of killed) {
          const row = statuses.find((r) => r.run_id === id);
          expectThat(
            report,
            row?.status === 'running',
            `killed run ${id} stays 'running' in the runs table (got ${row?.status})`,
          );
        }
        const ok = statuses.filter((r) => r.status === 'ok').length;
        const odd = statuses.filter((r) => r.status !== 'ok' && r.status !== 'running');
        expectThat(report, ok === completed, `runs table: ${completed} run(s) finished ok, table says ${ok}`);
        expectThat(
          report,
          odd.length === 0,
          `runs table: only 'running' (killed) and 'ok' rows, got ${odd.map((r) => r.status).join(',')}`,
        );
        count(report, 'episodes');
      }
      count(report, 'runs that finished before their kill point', misses);
    } finally {
      sim.setFaults({ faultRate: 0 });
      await watcher?.end().catch(() => undefined);
      await sim.close();
      await backend.cleanup();
      configs.cleanup();
      await o.destination.release?.();
    }
  });
}

interface KillContext {
  phase: KillPhase;
  config: string;
  sim: ScarfSimulator;
  t: Target;
  random: Random;
  eventsPerDay: number;
  watcher: pg.Client | null;
}

/** Starts a run and kills it at the phase's instant; `killed` false when it finished first. */
async function killOnce(c: KillContext): Promise<{ killed: boolean; runId?: string; what: string }> {
  const { sim, random } = c;
  const from = sim.requests.length;
  const nth = random.int(1, 3);
  const request = () => sim.requests[from + nth - 1];
  let blocker: pg.Client | undefined;
  let what = '';
  if (c.phase === 'fetch') sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(400)] });
  const stallAfter = random.int(3, Math.max(4, c.eventsPerDay - 12));
  if (c.phase === 'staging') sim.setFaults({ faultRate: 1, faultKinds: [faults.stall(stallAfter, 800)] });
  if (c.phase === 'merge' || c.phase === 'state') {
    blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `LOCK TABLE ${c.t.table(c.phase === 'merge' ? 'scarf_events' : '_exportsync_state')} IN SHARE MODE`,
    );
  }
  const child = startCli(['run', '--config', c.config]);
  let exited = false;
  void child.exited.then(() => (exited = true));
  try {
    const reached = await aim(
      child,
      () => exited,
      async () => {
        switch (c.phase) {
          case 'startup':
            await sleep(random.int(150, 1200));
            what = 'delay after spawn';
            return true;
          case 'fetch':
            if (!request()) return false;
            await sleep(random.int(0, 300));
            what = `request ${nth} of the run held before its headers (${request()?.query.start_date})`;
            return true;
          case 'staging': {
            const r = request();
            if (!r || r.rows < stallAfter || r.completed) return false;
            await sleep(random.int(50, 500));
            what = `body of ${r.query.start_date} stalled after ${r.rows} rows`;
            return true;
          }
          case 'commit': {
            const r = request();
            if (!r?.completed) return false;
            const delay = random.int(0, 40);
            await sleep(delay);
            what = `${delay} ms after the body of ${r.query.start_date} ended`;
            return true;
          }
          case 'after-commit':
            if (child.committed() < nth) return false;
            what = `after window committed #${nth}`;
            return true;
          default: {
            const pattern = c.phase === 'merge' ? `%${c.t.table('scarf_events')}%` : '%_exportsync_state%';
            const { rows } = await c.watcher!.query<{ query: string }>(
              `SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND query NOT LIKE 'LOCK TABLE%'`,
              [pattern],
            );
            if (!rows[0]) return false;
            what = `blocked in: ${rows[0].query.replace(/\s+/g, ' ').slice(0, 60)}`;
            return true;
          }
        }
      },
    );
    if (!reached || exited) return { killed: false, what: what || 'exited' };
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    if (signal !== 'SIGKILL') return { killed: false, what };
    return { killed: true, runId: runIdOf(child), what };
  } finally {
    if (!exited) child.process.kill('SIGKILL');
    await child.exited;
    sim.setFaults({ faultRate: 0 });
    if (blocker) {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end().catch(() => undefined);
    }
  }
}

/** Polls `reached` every 5 ms until it holds; false when the child exits first. */
async function aim(child: Child, exited: () => boolean, reached: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited()) return false;
    if (await reached()) return true;
    if (Date.now() > deadline) throw new Error(`kill point never reached\n${child.stderr().slice(-2000)}`);
    await sleep(5);
  }
}

const runIdOf = (child: Child): string | undefined =>
  child.logs.find((l) => typeof l.run === 'string')?.run as string | undefined;

async function finishedOk(t: Target, runId: string): Promise<boolean> {
  if (!(await tableExists(t, '_exportsync_runs'))) return false;
  return (await runs(t)).find((r) => r.run_id === runId)?.status === 'ok';
}

/** The invariants that must hold after any kill. */
async function checkAfterKill(
  report: SuiteReport,
  t: Target,
  sim: ScarfSimulator,
  firstDay: string,
  truth: Set<string>,
  runId: string | undefined,
  phase: KillPhase,
): Promise<boolean> {
  const before = report.violations.length;
  const ids = (await tableExists(t, 'scarf_events')) ? await tableIds(t) : [];
  const present = new Set(ids);
  expectThat(
    report,
    ids.length === present.size,
    `${phase}: no id twice after the kill (${ids.length - present.size} doubled)`,
  );
  const foreign = ids.filter((id) => !truth.has(id));
  expectThat(report, foreign.length === 0, `${phase}: only ids the source has (${foreign.length} foreign)`);
  const mark = (await tableExists(t, '_exportsync_state')) ? ((await state(t))?.highWaterMark ?? null) : null;
  if (mark) {
    const missing = incompleteDaysBefore(sim, mark, firstDay, present);
    expectThat(
      report,
      missing.length === 0,
      `${phase}: mark ${mark} covers incomplete day(s) ${missing.join(', ')}`,
    );
  } else {
    expectThat(report, ids.length === 0, `${phase}: rows (${ids.length}) committed without a mark`);
  }
  if (runId && (await tableExists(t, '_exportsync_runs'))) {
    const row = (await runs(t)).find((r) => r.run_id === runId);
    expectThat(
      report,
      row?.status === 'running',
      `${phase}: the killed run ${runId} is 'running' (got ${row?.status})`,
    );
  }
  return report.violations.length === before;
}
