/**
 * plan → run → run again → state show → state reset → run, against real Postgres and the Scarf
 * simulator, as a data engineer would type them. The simulator's clock is pinned to the start of
 * today (UTC), so earlier days are complete and a second run has nothing new.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { startOfUtcDay } from '../../src/core/time.js';
import { TEST_DATABASE_URL, dropSchema, query, uniqueSchema } from '../support/postgres.js';
import { FAST_SYNC, cli, jsonLines, scarfSource, tempDir, utcDay, writeConfig } from './helpers.js';

const schema = uniqueSchema('cli');
let sim: ScarfSimulator;
let tmp: ReturnType<typeof tempDir>;
let config: string;

beforeAll(async () => {
  sim = await startScarfSimulator({ eventsPerDay: 20, now: startOfUtcDay(new Date()) });
  tmp = tempDir();
  config = writeConfig(
    tmp.dir,
    'pg.yaml',
    `destination: { type: postgres, url: "${TEST_DATABASE_URL}", schema: ${schema} }\n${FAST_SYNC}sources:\n${scarfSource({ baseUrl: sim.url, token: 'scarf-test-token' })}\n`,
  );
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
  await dropSchema(schema);
});

const tables = async () =>
  (
    await query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    )
  ).map((r) => r.table_name);

/** `start_date`s the simulator saw since `from`. */
const startDates = (from: number) => sim.requests.slice(from).map((r) => r.query.start_date);

describe('run, state and plan on Postgres', () => {
  test('plan prints table, window range and request count, fetches nothing and creates no data table', async () => {
    const r = await cli(['plan', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('scarf.events → scarf_events (merge on id)');
    expect(r.stdout).toMatch(/ {2}CREATE TABLE scarf_events: 24 dictionary columns \+ audit columns/);
    expect(r.stdout).toContain('  first run: backfill 3 days');
    expect(r.stdout).toContain(
      `  fetch 3 window(s) ${utcDay(2)} .. ${utcDay(0)} (inclusive, UTC), 3 request(s)`,
    );
    expect(r.stdout).toContain(
      `  e.g. GET /v2/packages/acme/events start_date=${utcDay(2)} end_date=${utcDay(2)}`,
    );
    expect(r.stdout).toContain(
      'opening the destination creates its schema and _exportsync_* bookkeeping tables',
    );
    expect(sim.requests).toHaveLength(0);
    // The documented write: bookkeeping tables only, no data table.
    expect(await tables()).toEqual([
      '_exportsync_bulk_loads',
      '_exportsync_columns',
      '_exportsync_runs',
      '_exportsync_state',
      '_exportsync_windows',
    ]);
  });

  test('run prints one line per stream, logs JSON lines on stderr and a summary line with status/requests/rows', async () => {
    const r = await cli(['run', '--config', config], { env: { EXPORTSYNC_LOG_LEVEL: 'info' } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^run \S+: ok in \d+\.\d s, 3 request\(s\)$/);
    expect(lines[1]).toMatch(
      /^ {2}scarf\.events +3\/3 window\(s\), 40 rows read, 40 new or changed; mark \d{4}-\d\d-\d\dT/,
    );
    const logs = jsonLines(r.stderr);
    const summary = logs.find((l) => l.msg === 'run finished');
    expect(summary).toMatchObject({
      level: 30,
      status: 'ok',
      exitCode: 0,
      requests: 3,
      rows: 40,
      upserted: 40,
      failed: [],
    });
    expect(logs.filter((l) => l.msg === 'window committed').length).toBeGreaterThanOrEqual(3);
    expect(startDates(0)).toEqual([utcDay(2), utcDay(1), utcDay(0)]);
    expect((await query('SELECT count(*)::int AS n FROM "' + schema + '".scarf_events'))[0]).toEqual({
      n: 40,
    });
  });

  test('a second run re-reads the lookback and says nothing new', async () => {
    const before = sim.requests.length;
    const r = await cli(['run', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /scarf\.events +2\/2 window\(s\), 20 rows read, 0 new or changed \(nothing new\)/,
    );
    expect(startDates(before)).toEqual([utcDay(1), utcDay(0)]);
    expect(r.stderr).toBe(''); // warn level: a clean run logs nothing
  });

  test('plan after a run: the table exists and the range starts at the lookback', async () => {
    const before = sim.requests.length;
    const r = await cli(['plan', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ {2}table exists with \d+ columns/);
    expect(r.stdout).toMatch(/ {2}incremental: mark \S+, lookback 1 day\(s\)/);
    expect(r.stdout).toContain(
      `fetch 2 window(s) ${utcDay(1)} .. ${utcDay(0)} (inclusive, UTC), 2 request(s)`,
    );
    expect(sim.requests.length).toBe(before);
  });

  test('state show prints a table; --json the same marks as JSON', async () => {
    const shown = await cli(['state', 'show', '--config', config]);
    expect(shown.code).toBe(0);
    const [header, row, more] = shown.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^stream +high-water mark +schema version +updated at$/);
    expect(row).toMatch(/^scarf\.events +\d{4}-\d\d-\d\dT\S+Z +1 +\S+$/);
    expect(more).toBeUndefined();

    const json = await cli(['state', 'show', '--json', '--stream', 'scarf.events', '--config', config]);
    expect(json.code).toBe(0);
    const states = JSON.parse(json.stdout) as Array<{ streamKey: string; state: { highWaterMark: string } }>;
    expect(states).toHaveLength(1);
    expect(states[0]?.streamKey).toBe('scarf.events');
    expect(row).toContain(states[0]?.state.highWaterMark);
  });

  test('state show/reset --stream with an unknown stream exits 2 listing the configured ones', async () => {
    for (const command of ['show', 'reset']) {
      const r = await cli(['state', command, '--stream', 'events', '--config', config]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toBe(
        "exportsync: invalid command line\n  - --stream: unknown stream 'events' (configured: scarf.events; write it as source.stream)\n",
      );
    }
    const still = await cli(['state', 'show', '--stream', 'scarf.events', '--config', config]);
    expect(still.stdout).toMatch(/^scarf\.events /m);
  });

  test('state reset, then run starts again from backfill_days', async () => {
    const reset = await cli(['state', 'reset', '--stream', 'scarf.events', '--config', config]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toBe(
      'reset scarf.events: the next run loads the last 3 day(s) (backfill_days) again (rows already loaded are kept and merged)\n',
    );
    const none = await cli(['state', 'show', '--stream', 'scarf.events', '--config', config]);
    expect(none.stdout).toBe('no state for scarf.events: it has never committed a window\n');

    const before = sim.requests.length;
    const run = await cli(['run', '--config', config]);
    expect(run.code).toBe(0);
    expect(startDates(before)).toEqual([utcDay(2), utcDay(1), utcDay(0)]);
    expect(run.stdout).toMatch(/3\/3 window\(s\), 40 rows read, 0 new or changed \(nothing new\)/);
    expect((await query('SELECT count(*)::int AS n FROM "' + schema + '".scarf_events'))[0]).toEqual({
      n: 40,
    });

    const again = await cli(['state', 'reset', '--stream', 'scarf.events', '--config', config]);
    expect(again.stdout).toContain('reset scarf.events');
    const twice = await cli(['state', 'reset', '--stream', 'scarf.events', '--config', config]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toBe(
      'no state for scarf.events: nothing to reset (its next run already loads the last 3 day(s) (backfill_days))\n',
    );
  });
});
