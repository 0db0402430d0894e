/**
 * `exportsync backfill` end to end against the Scarf simulator: sharded across three CLI processes
 * on real Postgres, killed and resumed, a failing window, SIGTERM, the status command, and the
 * daily mark a backfill must never touch. Expectations come from the simulator's ground truth.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import type { Config } from '../../src/config/load.js';
import type { Destination, WindowRecord } from '../../src/core/contracts.js';
import { EXIT } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { isoDate } from '../../src/core/time.js';
import { createDestination } from '../../src/destinations/index.js';
import { runBackfill, type BackfillOptions } from '../../src/engine/backfill.js';
import { backfillStatus } from '../../src/engine/backfill-status.js';
import { selectStreams } from '../../src/engine/sources.js';
import { removeConfigs, runCli, startCli, until, writeYaml } from './child.js';
import {
  BACKENDS,
  type Backend,
  type Target,
  configYaml,
  counts,
  days,
  digest,
  makeConfig,
  runOnce,
  runs,
  sorted,
  state,
  tableIds,
  truthIds,
} from './harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const day = (s: string) => new Date(`${s}T00:00:00Z`);

async function withDestination<T>(config: Config, fn: (d: Destination) => Promise<T>): Promise<T> {
  const d = await createDestination(config.destination, silentLogger);
  await d.open();
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

function backfillOnce(config: Config, from: string, to: string, more: Partial<BackfillOptions> = {}) {
  return withDestination(config, (destination) =>
    runBackfill({
      config,
      destination,
      log: silentLogger,
      range: { from: day(from), to: day(to) },
      now: () => NOW,
      ...more,
    }),
  );
}

const ledger = (config: Config) => withDestination(config, (d) => d.listWindows());
const brief = (r: WindowRecord) => `${isoDate(r.window.from)} ${r.status} ${r.shard} a${r.attempts}`;
/** `/events` start dates the simulator was asked for, from request `from` on. */
const asked = (sim: ScarfSimulator, from = 0) =>
  sim.requests
    .slice(from)
    .filter((r) => r.path.endsWith('/events'))
    .map((r) => r.query.start_date ?? '');

async function expectExact(sim: ScarfSimulator, t: Target, first: string, last: string): Promise<void> {
  const truth = truthIds(sim, first, last);
  expect(await counts(t)).toEqual({ rows: truth.size, distinct: truth.size });
  expect(sorted(await tableIds(t))).toEqual(sorted(truth));
}

describe('backfill across processes (postgres)', () => {
  const backend = BACKENDS.find(([name]) => name === 'postgres')![1]();
  let sim: ScarfSimulator;
  beforeAll(async () => {
    sim = await startScarfSimulator({
      seed: 'backfill',
      eventsPerDay: 20,
      duplicateRate: 0.1,
      crossDayDuplicates: 2,
      newColumnFrom: '2026-10-08', // a column appears mid-range: shards alter the table concurrently
      now: NOW,
    });
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
    removeConfigs();
  });

  test('three shards at once cover every window exactly once; warehouse equals a single-process backfill', async () => {
    const FROM = '2026-10-01';
    const TO = '2026-10-16'; // 15 windows, 5 per shard
    // ≥ 4 s per shard: far longer than the three CLIs need to start, so they overlap
    sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(800)] });
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url));
    const from = sim.requests.length;
    const shards = [0, 1, 2].map((i) =>
      startCli(['backfill', '--from', FROM, '--to', TO, '--shard', `${i}/3`, '--config', config]),
    );
    const exits = await Promise.all(shards.map((c) => c.exited));
    exits.forEach((e, i) => expect(e.code, shards[i]!.stderr()).toBe(EXIT.ok));
    sim.setFaults({ faultRate: 0 });
    // they did run at once: every shard started before any finished
    const at = (i: number, msg: string) => Number(shards[i]!.logs.find((l) => l.msg === msg)?.time);
    const lastStart = Math.max(...[0, 1, 2].map((i) => at(i, 'backfill start')));
    const firstEnd = Math.min(...[0, 1, 2].map((i) => at(i, 'backfill finished')));
    expect(lastStart).toBeLessThan(firstEnd);

    // every day fetched exactly once, each by the shard k mod 3
    const all = days(FROM, '2026-10-15');
    expect(asked(sim, from).sort()).toEqual(all);
    const c = makeConfig(t, sim.url);
    const rows = await ledger(c);
    expect(rows.map(brief)).toEqual(all.map((d, k) => `${d} done ${k % 3}/3 a1`));
    expect(rows.every((r) => r.rows > 0)).toBe(true);
    expect(new Set(rows.map((r) => r.backfillId)).size).toBe(3);
    await expectExact(sim, t, FROM, '2026-10-15');
    expect(await state(t)).toBeNull(); // a backfill never writes the daily mark
    const recorded = (await runs(t)).map((r) => r.status);
    expect(recorded).toEqual(['ok', 'ok', 'ok']);

    // the same range in one process gives the same warehouse, value for value
    const single = backend.target();
    const summary = await backfillOnce(makeConfig(single, sim.url), FROM, TO);
    expect(summary.exitCode).toBe(EXIT.ok);
    expect(await digest(t)).toEqual(await digest(single));
  });

  test('a killed shard resumes: the ledger shows the rest, a re-run completes it without duplicates', async () => {
    const FROM = '2026-09-01';
    const TO = '2026-09-13'; // 12 windows
    // three windows go through, the fourth is held by the simulator: it is in flight when killed
    sim.queueFaults([null, null, null, faults.slow(20_000)]);
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url));
    const from = sim.requests.length;
    const events = () => sim.requests.slice(from).filter((r) => r.path.endsWith('/events'));
    const child = startCli(['backfill', '--from', FROM, '--to', TO, '--config', config]);
    await until(() => events().length === 4, 30_000, 'the fourth window in flight');

    // the same shard cannot run twice at once: exit 4, naming the shard
    const twin = await runCli(['backfill', '--from', FROM, '--to', TO, '--config', config]);
    expect(twin.code, twin.stderr).toBe(EXIT.locked);
    expect(twin.stderr).toContain('backfill shard 0/1 is already running');

    // while it lives, status calls its in-flight window running (its shard holds the lock)
    const live = await withDestination(makeConfig(t, sim.url), (destination) =>
      backfillStatus({
        destination,
        selected: selectStreams(makeConfig(t, sim.url)),
        range: { from: day(FROM), to: day(TO) },
        now: NOW,
      }),
    );
    expect([live[0]?.running, live[0]?.interrupted]).toEqual([1, 0]);
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const done = 3;
    const c = makeConfig(t, sim.url);
    expect((await ledger(c)).map((r) => r.status)).toEqual([...Array(done).fill('done'), 'running']);

    const status = await runCli(['backfill', 'status', '--from', FROM, '--to', TO, '--config', config]);
    expect(status.code, status.stderr).toBe(0);
    const line = status.stdout.split('\n').find((l) => l.startsWith('scarf.events'));
    // windows done running interrupted failed missing: the dead shard's window is not "running"
    expect(line?.split(/\s+/).slice(2, 8)).toEqual(['12', String(done), '0', '1', '0', String(11 - done)]);
    expect(status.stdout).toContain('running the same backfill command again');

    const seen = events().length;
    const again = await runCli(['backfill', '--from', FROM, '--to', TO, '--config', config]);
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(again.stdout).toContain(`${12 - done} loaded now, ${done} already done`);
    expect(
      events()
        .slice(seen)
        .map((r) => r.query.start_date),
    ).toEqual(days(FROM, '2026-09-12').slice(done));
    expect((await ledger(c)).map((r) => r.status)).toEqual(Array(12).fill('done'));
    await expectExact(sim, t, FROM, '2026-09-12');

    const json = await runCli(['backfill', 'status', '--json', '--config', config]);
    const [listed] = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(listed).toMatchObject({
      streamKey: 'scarf.events',
      windows: 12,
      done: 12,
      interrupted: 0,
      missing: 0,
    });
    expect(listed?.range).toEqual({ from: `${FROM}T00:00:00.000Z`, to: `${TO}T00:00:00.000Z` });
  });
});

describe.each(BACKENDS)('backfill (%s)', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  beforeAll(async () => {
    backend = makeBackend();
    sim = await startScarfSimulator({ seed: 'backfill-2', eventsPerDay: 15, duplicateRate: 0.1, now: NOW });
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
    removeConfigs();
  });

  test('a failing window is recorded failed, the others commit, the daily mark stays; a re-run loads only it', async () => {
    const t = backend.target();
    const config = makeConfig(t, sim.url, { backfill_days: 3 });
    await runOnce(config, { now: () => NOW });
    const mark = await state(t);
    expect(mark?.highWaterMark).toBe(NOW.toISOString());

    const from = sim.requests.length;
    // window 1: body cut midway, then fine (2 attempts); window 3: a permanent 400
    sim.queueFaults([faults.truncate(3), null, null, { kind: 'status', status: 400 }, null, null]);
    const first = await backfillOnce(config, '2026-09-01', '2026-09-06');
    expect(first.status).toBe('partial');
    expect(first.exitCode).toBe(EXIT.partial);
    expect([first.committed, first.failed.length]).toEqual([4, 1]);
    const rows = await ledger(config);
    expect(rows.map(brief)).toEqual([
      '2026-09-01 done 0/1 a2',
      '2026-09-02 done 0/1 a1',
      '2026-09-03 failed 0/1 a1',
      '2026-09-04 done 0/1 a1',
      '2026-09-05 done 0/1 a1',
    ]);
    expect(rows[2]?.error).toContain('400');
    expect(await state(t)).toEqual(mark); // a backfill never moves the daily mark

    const selected = selectStreams(config);
    const range = { from: day('2026-09-01'), to: day('2026-09-06') };
    const status = await withDestination(config, (destination) =>
      backfillStatus({ destination, selected, range, now: NOW }),
    );
    expect(status[0]).toMatchObject({ windows: 5, done: 4, failed: 1, running: 0, missing: 0 });
    expect(status[0]?.lastError?.error).toContain('400');

    const second = await backfillOnce(config, '2026-09-01', '2026-09-06');
    expect([second.status, second.committed, second.skipped]).toEqual(['ok', 1, 4]);
    expect(asked(sim, from).slice(6)).toEqual(['2026-09-03']);
    expect((await ledger(config)).map((r) => r.status)).toEqual(Array(5).fill('done'));
    expect(await state(t)).toEqual(mark);
    const truth = new Set([
      ...truthIds(sim, '2026-09-01', '2026-09-05'),
      ...truthIds(sim, '2026-11-23', '2026-11-25'),
    ]);
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));

    // --redo loads done windows again; the warehouse does not change
    const before = await digest(t);
    const redo = await backfillOnce(config, '2026-09-01', '2026-09-03', { redo: true });
    expect([redo.committed, redo.skipped, redo.upserted]).toEqual([2, 0, 0]);
    expect(await digest(t)).toEqual(before);
  });

  test('a window the source refuses as too long is loaded as halves; a re-run counts it done', async () => {
    const narrow = await startScarfSimulator({
      seed: 'backfill-3',
      eventsPerDay: 10,
      maxRangeDays: 2,
      now: NOW,
    });
    try {
      const t = backend.target();
      const config = makeConfig(t, narrow.url, {}, ['window_days: 4']);
      const first = await backfillOnce(config, '2026-06-01', '2026-06-09');
      expect([first.status, first.committed, first.total]).toEqual(['ok', 4, 4]);
      const rows = await ledger(config);
      expect(rows.map((r) => `${isoDate(r.window.from)}..${isoDate(r.window.to)} ${r.status}`)).toEqual([
        '2026-06-01..2026-06-03 done',
        '2026-06-01..2026-06-05 failed',
        '2026-06-03..2026-06-05 done',
        '2026-06-05..2026-06-07 done',
        '2026-06-05..2026-06-09 failed',
        '2026-06-07..2026-06-09 done',
      ]);
      expect(rows[1]?.error).toContain(
        'too long; loaded as 2026-06-01..2026-06-03 and 2026-06-03..2026-06-05',
      );
      const asked = narrow.requests.length;
      const again = await backfillOnce(config, '2026-06-01', '2026-06-09');
      expect([again.status, again.skipped, again.committed]).toEqual(['ok', 2, 0]);
      expect(narrow.requests.length).toBe(asked);
      const status = await withDestination(config, (destination) =>
        backfillStatus({ destination, selected: selectStreams(config), now: NOW }),
      );
      expect(status[0]).toMatchObject({ windows: 2, done: 2, failed: 0, missing: 0 });
      expect(status[0]?.lastError).toBeUndefined();
      await expectExact(narrow, t, '2026-06-01', '2026-06-08');
    } finally {
      await narrow.close();
    }
  });

  test('the CLI logs one progress line per window and stops on SIGTERM after the window in flight', async () => {
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url));
    const done = await runCli(['backfill', '--from', '2026-08-01', '--to', '2026-08-04', '--config', config]);
    expect(done.code, done.stderr).toBe(EXIT.ok);
    const progress = done.stderr
      .split('\n')
      .filter((l) => l.includes('"backfill progress"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(progress.map((p) => [p.window, p.done, p.total, p.attempts])).toEqual([
      ['2026-08-01..2026-08-02', 1, 3, 1],
      ['2026-08-02..2026-08-03', 2, 3, 1],
      ['2026-08-03..2026-08-04', 3, 3, 1],
    ]);
    expect(progress.every((p) => Number(p.rows) > 0 && typeof p.ms === 'number')).toBe(true);

    // the second window is held 1.5 s by the simulator: the signal arrives while it is in flight
    sim.queueFaults([null, faults.slow(1500)]);
    const from = sim.requests.length;
    const child = startCli(['backfill', '--from', '2026-07-01', '--to', '2026-07-11', '--config', config]);
    await until(() => asked(sim, from).length === 2, 30_000, 'the second window in flight');
    child.process.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(EXIT.interrupted);
    const july = (await ledger(makeConfig(t, sim.url))).filter((r) => r.window.from < day('2026-08-01'));
    // the window in flight at the signal committed, the next was never started
    expect(july.map((r) => `${isoDate(r.window.from)} ${r.status}`)).toEqual([
      '2026-07-01 done',
      '2026-07-02 done',
    ]);
    expect(asked(sim, from)).toEqual(['2026-07-01', '2026-07-02']);
    expect(child.stdout()).toContain('2 loaded now, 0 already done, 0 failed, 8 left');
    const last = (await runs(t)).at(-1);
    expect(last?.status).toBe('interrupted');
  });
});
