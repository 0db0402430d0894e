/**
 * Destination faults, each in the middle of a window, each checked twice: while the fault is in
 * effect no partial window is visible to another connection, and afterwards (the same run's
 * window retry, or the next run) the table equals a clean run's.
 *
 * Postgres (a second connection watches pg_stat_activity, filtered by a per-scenario
 * application_name so other sessions on the server are never touched):
 *   - copy:      pg_terminate_backend of the staging COPY while its body is stalled midway
 *   - merge:     pg_terminate_backend of the merge INSERT, held by a LOCK TABLE … SHARE
 *   - timeout:   statement_timeout_ms shorter than the lock on the target: the merge is cancelled
 * DuckDB:
 *   - full disk: the database file on a tiny tmpfs (or, when mounting is not allowed, the CLI under
 *                `ulimit -f`), which fills up mid-run; then the disk grows and the next run completes
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { TEST_DATABASE_URL } from '../support/postgres.js';
import { until } from '../e2e/child.js';
import {
  type Backend,
  type Target,
  configYaml,
  digest,
  duckdbTargetAt,
  incompleteDaysBefore,
  makeConfig,
  runOnce,
  state,
  tableExists,
  tableIds,
  truthIds,
} from '../e2e/harness.js';
import { count, expectThat, newReport, sleep, timed, type SuiteReport } from './common.js';
import type { ChaosDestination } from './destinations.js';
import { runExportsync } from './spawn.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const DAYS = 4;
const FIRST = isoDate(addDays(NOW, -(DAYS - 1)));
const SYNC = {
  backfill_days: DAYS,
  batch_rows: 10,
  window_attempts: 3,
  retry: { attempts: 3, min_delay_ms: 1, max_delay_ms: 20 },
};

export interface DestinationFaultOptions {
  destination: ChaosDestination;
  rounds: number;
  seed: string;
}

interface Ctx {
  report: SuiteReport;
  sim: ScarfSimulator;
  clean: Awaited<ReturnType<typeof digest>>;
  truth: Set<string>;
  /** First day of the synced range. */
  first: string;
  target: () => Target;
}

/** Size of the "full" disk; the DuckDB scenario writes several times this much. */
const DISK_KB = Number(process.env.CHAOS_DISK_KB ?? 768);

export async function destinationFaultSuite(o: DestinationFaultOptions): Promise<SuiteReport> {
  const report = newReport('destination faults', o.destination.name);
  const backend = o.destination.backend();
  const sim = await startScarfSimulator({
    seed: `dest-${o.seed}`,
    eventsPerDay: 60,
    duplicateRate: 0.05,
    now: NOW,
    chunkRows: 10,
  });
  return timed(report, async () => {
    try {
      const reference = backend.target();
      await runOnce(makeConfig(reference, sim.url, SYNC), { now: () => NOW });
      const ctx: Ctx = {
        report,
        sim,
        clean: await digest(reference),
        truth: truthIds(sim, FIRST, isoDate(NOW)),
        first: FIRST,
        target: () => backend.target(),
      };
      for (let round = 0; round < o.rounds; round++) {
        if (o.destination.pgSession) {
          await pgTerminate(ctx, 'copy');
          await pgTerminate(ctx, 'merge');
          await pgStatementTimeout(ctx);
        } else {
          await duckdbFullDisk(ctx, backend, 6, Number(process.env.CHAOS_DISK_EVENTS ?? 1500));
        }
      }
    } finally {
      sim.setFaults({ faultRate: 0 });
      await sim.close();
      await backend.cleanup();
    }
  });
}

/** The Postgres target with its own application_name, so a watcher can tell its sessions apart. */
function tagged(t: Target, tag: string): Target {
  const url = `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}application_name=${tag}`;
  return { ...t, destinationYaml: t.destinationYaml.replace(`"${TEST_DATABASE_URL}"`, `"${url}"`) };
}

/**
 * No partial window: ids unique, and every id present lies in a day the mark covers. The run may
 * still be committing (the engine stages window N+1 while window N commits), so the mark is read
 * before and after the rows: rows may not reach past the later mark, and must cover the earlier.
 */
async function expectNoPartialWindow(c: Ctx, t: Target, what: string): Promise<void> {
  const markOf = async () =>
    (await tableExists(t, '_exportsync_state')) ? ((await state(t))?.highWaterMark ?? null) : null;
  const before = await markOf();
  const ids = (await tableExists(t, 'scarf_events')) ? await tableIds(t) : [];
  const after = await markOf();
  const present = new Set(ids);
  expectThat(c.report, ids.length === present.size, `${what}: no id twice`);
  const lastCovered =
    after && (after.endsWith('T00:00:00.000Z') ? addDays(new Date(after), -1) : new Date(after));
  const covered = lastCovered ? truthIds(c.sim, c.first, isoDate(lastCovered)) : new Set<string>();
  const beyond = ids.filter((id) => !covered.has(id));
  expectThat(
    c.report,
    beyond.length === 0,
    `${what}: ${beyond.length} row(s) visible beyond the mark ${after} (a partial window)`,
  );
  if (before) {
    const missing = incompleteDaysBefore(c.sim, before, c.first, present);
    expectThat(
      c.report,
      missing.length === 0,
      `${what}: mark ${before} covers incomplete day(s) ${missing.join(',')}`,
    );
  }
}

async function expectClean(c: Ctx, t: Target, what: string): Promise<void> {
  const got = await digest(t);
  const ids = await tableIds(t);
  const present = new Set(ids);
  c.report.rowsDoubled += ids.length - present.size;
  c.report.rowsLost += [...c.truth].filter((id) => !present.has(id)).length;
  expectThat(
    c.report,
    got.sha === c.clean.sha && got.rows === c.clean.rows,
    `${what}: the table equals the clean run (${got.rows} vs ${c.clean.rows} rows)`,
  );
}

async function activity(
  watcher: pg.Client,
  tag: string,
  like: string,
  waitingOnLock: boolean,
): Promise<number | undefined> {
  const { rows } = await watcher.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2
       AND state = 'active' ${waitingOnLock ? "AND wait_event_type = 'Lock'" : ''}`,
    [tag, like],
  );
  return rows[0]?.pid;
}

/** pg_terminate_backend of the COPY (body stalled midway) or of the merge (blocked by a lock). */
async function pgTerminate(c: Ctx, at: 'copy' | 'merge'): Promise<void> {
  const tag = `chaos_${at}_${Math.random().toString(36).slice(2, 10)}`;
  const t = tagged(c.target(), tag);
  const watcher = new pg.Client({ connectionString: TEST_DATABASE_URL });
  const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await watcher.connect();
  await blocker.connect();
  const from = c.sim.requests.length;
  // the second window's body stalls after 25 rows (copy); or the second window's merge is blocked
  if (at === 'copy') c.sim.queueFaults([null, faults.stall(25, 3000)]);
  let status: string | undefined;
  try {
    const run = runOnce(makeConfig(t, c.sim.url, SYNC), { now: () => NOW });
    let pid: number | undefined;
    if (at === 'copy') {
      await until(() => (c.sim.requests[from + 1]?.rows ?? 0) >= 25, 30_000, 'the stalled body');
      for (let i = 0; i < 400 && !pid; i++) {
        pid = await activity(watcher, tag, 'COPY %', false);
        if (!pid) await sleep(5);
      }
    } else {
      // window 1 committed (the table exists) once window 2 is requested
      // window 2 is requested while window 1 may still commit: wait until its table exists
      await until(() => c.sim.requests.length > from + 1, 30_000, 'the second window');
      for (let i = 0; i < 2000 && !(await tableExists(t, 'scarf_events')); i++) await sleep(5);
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${t.table()} IN SHARE MODE`);
      for (let i = 0; i < 2000 && !pid; i++) {
        pid = await activity(watcher, tag, 'INSERT INTO %', true);
        if (!pid) await sleep(5);
      }
    }
    if (expectThat(c.report, pid !== undefined, `${at}: the ${at} statement was seen in pg_stat_activity`)) {
      await expectNoPartialWindow(c, t, `${at} in flight`);
      await watcher.query('SELECT pg_terminate_backend($1)', [pid]);
      count(c.report, 'faults injected');
      count(c.report, `pg_terminate_backend mid-${at}`);
    }
    await blocker.query('ROLLBACK').catch(() => undefined);
    status = (await run).status;
  } finally {
    await blocker.end().catch(() => undefined);
    await watcher.end().catch(() => undefined);
  }
  await expectNoPartialWindow(c, t, `${at} after the terminated run (${status})`);
  if (status !== 'ok') {
    c.report.notes.push(`${at}: the run ended ${status}; the next run completes it`);
    const next = await runOnce(makeConfig(t, c.sim.url, SYNC), { now: () => NOW });
    expectThat(c.report, next.status === 'ok', `${at}: the next run completes (got ${next.status})`);
  } else c.report.notes.push(`${at}: the window was restarted within the same run`);
  await expectClean(c, t, `pg_terminate_backend mid-${at}`);
}

/** The merge outlives statement_timeout_ms (a lock held on the target): nothing partial, then the next run completes. */
async function pgStatementTimeout(c: Ctx): Promise<void> {
  const t = c.target();
  const first = await runOnce(makeConfig(t, c.sim.url, { ...SYNC, backfill_days: 2 }), {
    now: () => addDays(NOW, -2),
  });
  expectThat(c.report, first.status === 'ok', 'timeout: the first run commits two days');
  const slow: Target = {
    ...t,
    destinationYaml: t.destinationYaml.replace(/ \}$/, ', statement_timeout_ms: 250 }'),
  };
  const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await blocker.connect();
  let summary;
  try {
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE ${t.table()} IN SHARE MODE`);
    summary = await runOnce(makeConfig(slow, c.sim.url, SYNC), { now: () => NOW });
    await expectNoPartialWindow(c, t, 'timeout while the lock is held');
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
  }
  count(c.report, 'faults injected');
  count(c.report, 'statement timeouts');
  const error = summary.streams[0]?.error ?? '';
  expectThat(
    c.report,
    summary.status === 'failed' && /statement timeout|canceling statement/i.test(error),
    `timeout: the run fails naming the timeout (got ${summary.status}: ${error})`,
  );
  await expectNoPartialWindow(c, t, 'timeout after the failed run');
  const next = await runOnce(makeConfig(slow, c.sim.url, SYNC), { now: () => NOW });
  expectThat(c.report, next.status === 'ok', `timeout: the next run completes (got ${next.status})`);
  await expectClean(c, t, 'statement timeout');
}

/**
 * DuckDB on a disk that fills up mid-run (a tmpfs mounted for the test, else the CLI under
 * `ulimit -f`, which makes writes past the size fail with EFBIG). The run must fail with a
 * clear error and leave no partial window; once the disk grows the next run completes.
 */
async function duckdbFullDisk(c: Ctx, backend: Backend, days: number, eventsPerDay: number): Promise<void> {
  // the CLI runs on the real clock: this scenario has its own simulator and clean run on it
  const sim = await startScarfSimulator({
    seed: `disk-${c.report.destination}`,
    eventsPerDay,
    now: new Date(),
    chunkRows: 50,
  });
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-chaos-disk-'));
  const sync = { ...SYNC, backfill_days: days, batch_rows: 500 };
  let mounted = false;
  try {
    const reference = backend.target();
    await runOnce(makeConfig(reference, sim.url, sync));
    const today = startOfUtcDay(new Date());
    const first = isoDate(addDays(today, -(days - 1)));
    const local: Ctx = {
      ...c,
      sim,
      clean: await digest(reference),
      truth: truthIds(sim, first, isoDate(today)),
      first,
    };
    try {
      if (process.env.CHAOS_NO_MOUNT) throw new Error('mounting disabled');
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_KB}k`, 'tmpfs', dir], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // not allowed here: the file size limit below stands in for the full disk
    }
    const path = join(dir, 'full.duckdb');
    const t = duckdbTargetAt(path);
    const config = join(tmpdir(), `exportsync-chaos-disk-${process.pid}-${Date.now()}.yaml`);
    writeFileSync(config, configYaml(t, sim.url, sync));
    try {
      const failed = await runExportsync(['run', '--config', config], {
        limitKb: mounted ? undefined : DISK_KB,
        env: { EXPORTSYNC_LOG_LEVEL: 'warn' },
      });
      count(c.report, 'faults injected');
      count(c.report, mounted ? 'full tmpfs' : 'file size limit (EFBIG)');
      const out = failed.stdout + failed.stderr;
      c.report.notes.push(
        `full disk (${mounted ? `tmpfs ${DISK_KB}k` : `ulimit -f ${DISK_KB}`}): exit ${failed.code}, file ${safeSize(path)} bytes: ${failed.stdout.trim().split('\n').slice(-2).join(' / ')}`,
      );
      expectThat(
        c.report,
        failed.code !== 0,
        `full disk: the run fails (exit ${failed.code}, file ${safeSize(path)} bytes)`,
      );
      expectThat(
        c.report,
        /No space left|File too large|could not write|IO Error/i.test(out) &&
          !/\n\s+at .*:\d+:\d+\)?\n/.test(out),
        `full disk: a clear error naming the write failure, no stack trace (got: ${out.slice(-600)})`,
      );
      if (mounted) execFileSync('mount', ['-o', `remount,size=64m`, dir]);
      await expectNoPartialWindow(local, t, 'full disk, after the failed run');
      const next = await runExportsync(['run', '--config', config], {
        env: { EXPORTSYNC_LOG_LEVEL: 'warn' },
      });
      expectThat(
        c.report,
        next.code === 0,
        `full disk: the next run completes once there is space (exit ${next.code}: ${next.stderr.slice(-300)})`,
      );
      await expectClean(local, t, 'full disk');
    } finally {
      rmSync(config, { force: true });
    }
  } finally {
    await sim.close();
    if (mounted) execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const safeSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
};
