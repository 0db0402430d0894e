/**
 * Postgres's bulk first load (src/destinations/postgres/postgres-bulk.ts), on a real server: the
 * creating window makes the table without its key (plus `_exportsync_seq`) and records it; the
 * later windows of that run COPY straight into it inside a transaction holding the table's commit
 * lock ("direct", seen here as that advisory lock held by the load's backend before it commits);
 * settle enforces the key. Also: small creating windows are keyed at once, pipelined windows wait
 * for the earlier ones instead of deadlocking, an aborted or killed direct window leaves nothing,
 * and another run's first commit settles before it merges.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Destination, Load, Row, TableSchema, Window } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema } from '../support/postgres.js';
import { eventsSchema, stateAt, win } from './contract.js';

const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const DAY2 = win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z');
const DAY3 = win('2024-01-03T00:00:00Z', '2024-01-04T00:00:00Z');
const S = eventsSchema();

/** The start of each run: the loaded-at the mapper gives every row of it. */
const STARTED: Record<string, string> = { r1: '2024-03-01T00:00:00Z', r2: '2024-03-02T00:00:00Z' };
/** An events row with its run's audit values. */
const ev = (id: string, ts: string, name: string, run = 'r1'): Row => [
  id,
  ts,
  name,
  '1',
  STARTED[run]!,
  run,
  null,
];

async function setup(bulkFirstLoadMinRows: number) {
  const schema = uniqueSchema('pgbulk');
  const app = `exportsync-test-${schema}`;
  const made: Destination[] = [];
  const open = async () => {
    const d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: app,
      bulkFirstLoadMinRows,
    });
    made.push(d);
    await d.open();
    return d;
  };
  const d = await open();
  onTestFinished(async () => {
    for (const m of made) await m.close();
    await dropSchema(schema);
  });
  const t = `"${schema}"."events"`;
  return {
    d,
    open,
    /** Backends of this test holding the commit lock of `events` (a direct window's transaction). */
    lockHolders: async () =>
      (
        await query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1
             AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($2, 0)`,
          [app, `exportsync:commit:${schema}.events`],
        )
      ).map((r) => r.pid),
    /** Primary key and `_exportsync_seq` in the catalog; the bulk record's run. */
    catalog: async () => {
      const [c] = await query<{ pk: boolean; seq: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p') AS pk,
                EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = '_exportsync_seq' AND NOT attisdropped) AS seq`,
        [t],
      );
      const rec = await query<{ run_id: string }>(
        `SELECT run_id FROM "${schema}"._exportsync_bulk_loads WHERE table_name = 'events'`,
      );
      return { pk: c!.pk, seq: c!.seq, record: rec[0]?.run_id ?? null };
    },
    rows: async () =>
      (
        await query<{ id: string; name: string; run: string }>(
          `SELECT id, name, _exportsync_run_id AS run FROM ${t} ORDER BY id, name`,
        )
      ).map((r) => `${r.id}:${r.name}:${r.run}`),
  };
}

const commit = (l: Load, window: Window, schema: TableSchema = S) =>
  l.commit({ schema, mode: 'merge', window, state: stateAt(window.to.toISOString()) });

async function load(d: Destination, window: Window, rows: Row[], runId = 'r1') {
  const l = await d.beginLoad({ streamKey: 't.events', schema: S, runId });
  await l.write(rows, S);
  return commit(l, window);
}

/** Rejects when `p` has not settled within `ms` (a deadlock fails the test instead of hanging it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);

describe('postgres bulk first load', () => {
  it('a creating window of N rows makes an unkeyed table with _exportsync_seq and a record; the next window of the run COPYs under the commit lock; settle keys it', async () => {
    const h = await setup(3);
    await load(h.d, DAY1, [
      ev('a', '2024-01-01T01:00:00Z', 'a1'),
      ev('b', '2024-01-01T02:00:00Z', 'b1'),
      ev('c', '2024-01-01T03:00:00Z', 'c1'),
    ]);
    expect(await h.catalog()).toEqual({ pk: false, seq: true, record: 'r1' });
    expect((await h.d.describeTable('events'))?.columns.map((c) => c.name)).toEqual(
      S.columns.map((c) => c.name),
    );
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    expect(await h.lockHolders()).toEqual([]);
    await l2.write([ev('a', '2024-01-02T01:00:00Z', 'a2'), ev('d', '2024-01-02T01:00:00Z', 'd2')], S);
    expect(await h.lockHolders()).toHaveLength(1); // direct: its transaction holds the commit lock
    expect(await h.rows()).toHaveLength(3); // not visible before commit
    expect(await commit(l2, DAY2)).toEqual({ staged: 2, upserted: 2, deleted: 0 });
    expect(await h.lockHolders()).toEqual([]);
    expect(await h.rows()).toEqual(['a:a1:r1', 'a:a2:r1', 'b:b1:r1', 'c:c1:r1', 'd:d2:r1']);
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 1 });
    expect(await h.catalog()).toEqual({ pk: true, seq: false, record: null });
    expect(await h.rows()).toEqual(['a:a2:r1', 'b:b1:r1', 'c:c1:r1', 'd:d2:r1']);
  });

  it('a creating window below N rows is keyed from the start: no record, merges, settle is a no-op', async () => {
    const h = await setup(3);
    await load(h.d, DAY1, [ev('a', '2024-01-01T01:00:00Z', 'a1'), ev('b', '2024-01-01T02:00:00Z', 'b1')]);
    expect(await h.catalog()).toEqual({ pk: true, seq: false, record: null });
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l2.write(
      [
        ev('a', '2024-01-02T01:00:00Z', 'a2'),
        ev('b', '2024-01-02T01:00:00Z', 'b2'),
        ev('c', '2024-01-02T01:00:00Z', 'c2'),
      ],
      S,
    );
    expect(await h.lockHolders()).toEqual([]); // staged
    await commit(l2, DAY2);
    expect(await h.rows()).toEqual(['a:a2:r1', 'b:b2:r1', 'c:c2:r1']);
    expect(await h.d.settle!('events')).toEqual({ settled: false, duplicatesRemoved: 0 });
    expect(await h.catalog()).toEqual({ pk: true, seq: false, record: null });
  });

  it('with bulk first loads off (bulk_first_load: false) the first window is staged and the table keyed at its commit', async () => {
    const h = await setup(Number.POSITIVE_INFINITY);
    const l1 = await h.d.beginLoad({
      streamKey: 't.events',
      schema: S,
      runId: 'r1',
      mode: 'merge',
      history: false,
    });
    onTestFinished(() => l1.abort());
    await l1.write([ev('a', '2024-01-01T01:00:00Z', 'a1'), ev('a', '2024-01-01T02:00:00Z', 'a2')], S);
    expect(await h.lockHolders()).toEqual([]); // staged, not direct
    await commit(l1, DAY1);
    expect(await h.catalog()).toEqual({ pk: true, seq: false, record: null });
    expect(await h.rows()).toEqual(['a:a2:r1']);
  });

  it('pipelined windows do not deadlock: a direct window waits for the earlier load of its table to commit before it takes the lock', async () => {
    const h = await setup(1);
    await load(h.d, DAY1, [ev('a', '2024-01-01T01:00:00Z', 'a1')]);
    const ln = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    const ln1 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    // a failure below must not leave N's commit waiting for the lock N+1 holds
    onTestFinished(async () => {
      await ln1.abort();
      await ln.abort();
    });
    const written = ln1.write([ev('b', '2024-01-03T01:00:00Z', 'b3')], S);
    expect(await settlesWithin(written, 500)).toBe(false); // waits for N
    expect(await h.lockHolders()).toEqual([]);
    await within(commit(ln, DAY2), 10_000, 'commit of window N (no rows: staged, takes the lock)');
    await within(written, 10_000, 'first write of window N+1');
    expect(await h.lockHolders()).toHaveLength(1);
    await within(commit(ln1, DAY3), 10_000, 'commit of window N+1');
    expect(await h.rows()).toEqual(['a:a1:r1', 'b:b3:r1']);
    expect((await h.d.getState('t.events'))?.highWaterMark).toBe(DAY3.to.toISOString());
  });

  it('the window after the creating one, read while it commits, goes direct once the table and its record exist', async () => {
    const h = await setup(1);
    const l1 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l1.write([ev('a', '2024-01-01T01:00:00Z', 'a1')], S);
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    onTestFinished(async () => {
      await l2.abort();
      await l1.abort();
    });
    const written = l2.write([ev('a', '2024-01-02T01:00:00Z', 'a2')], S);
    expect(await settlesWithin(written, 300)).toBe(false);
    await within(commit(l1, DAY1), 10_000, 'creating commit');
    await within(written, 10_000, 'first write of window 2');
    expect(await h.lockHolders()).toHaveLength(1);
    await within(commit(l2, DAY2), 10_000, 'commit of window 2');
    expect(await h.rows()).toEqual(['a:a1:r1', 'a:a2:r1']); // appended: direct
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 1 });
  });

  it('a window aborted while its first write waits for the earlier window takes no lock once that one commits', async () => {
    const h = await setup(1);
    const l1 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l1.write([ev('a', '2024-01-01T01:00:00Z', 'a1')], S);
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    const written = l2.write([ev('b', '2024-01-02T01:00:00Z', 'b2')], S).then(
      () => 'written',
      (err: unknown) => err,
    );
    expect(await settlesWithin(written, 300)).toBe(false);
    await l2.abort();
    await within(commit(l1, DAY1), 10_000, 'creating commit');
    expect(await within(written, 10_000, 'the waiting write')).toBeInstanceOf(DestinationError);
    expect(await h.lockHolders()).toEqual([]);
    // the next window is not blocked by a lock left on a pooled connection
    await within(load(h.d, DAY2, [ev('c', '2024-01-02T02:00:00Z', 'c2')]), 10_000, 'next window');
    expect(await h.rows()).toEqual(['a:a1:r1', 'c:c2:r1']);
  });

  it('an aborted direct window leaves no row, releases the lock and the state; the next window goes direct and commits', async () => {
    const h = await setup(1);
    await load(h.d, DAY1, [ev('a', '2024-01-01T01:00:00Z', 'a1')]);
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l2.write([ev('b', '2024-01-02T01:00:00Z', 'b2')], S);
    expect(await h.lockHolders()).toHaveLength(1);
    await l2.abort();
    expect(await h.lockHolders()).toEqual([]);
    expect(await h.rows()).toEqual(['a:a1:r1']);
    expect((await h.d.getState('t.events'))?.highWaterMark).toBe(DAY1.to.toISOString());
    const l3 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await within(l3.write([ev('c', '2024-01-02T01:00:00Z', 'c2')], S), 10_000, 'write after abort');
    expect(await h.lockHolders()).toHaveLength(1);
    await within(commit(l3, DAY2), 10_000, 'commit after abort');
    expect(await h.rows()).toEqual(['a:a1:r1', 'c:c2:r1']);
    expect((await h.d.getState('t.events'))?.highWaterMark).toBe(DAY2.to.toISOString());
  });

  it('a direct window whose backend is terminated fails with a retryable DestinationError, leaves no row, and the next window works', async () => {
    const h = await setup(1);
    await load(h.d, DAY1, [ev('a', '2024-01-01T01:00:00Z', 'a1')]);
    const l2 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l2.write([ev('b', '2024-01-02T01:00:00Z', 'b2')], S);
    const [pid] = await h.lockHolders();
    expect(pid).toBeDefined();
    await query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await within(
      l2
        .write([ev('c', '2024-01-02T02:00:00Z', 'c2')], S)
        .then(() => commit(l2, DAY2))
        .then(
          () => null,
          (e: unknown) => e,
        ),
      10_000,
      'the killed window',
    );
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as DestinationError).retryable).toBe(true);
    await within(l2.abort(), 10_000, 'abort of the killed window');
    expect(await h.rows()).toEqual(['a:a1:r1']);
    expect((await h.d.getState('t.events'))?.highWaterMark).toBe(DAY1.to.toISOString());
    const l3 = await h.d.beginLoad({ streamKey: 't.events', schema: S, runId: 'r1' });
    await l3.write([ev('d', '2024-01-02T01:00:00Z', 'd2')], S);
    expect(await h.lockHolders()).toHaveLength(1);
    await within(commit(l3, DAY2), 10_000, 'commit after the kill');
    expect(await h.rows()).toEqual(['a:a1:r1', 'd:d2:r1']);
  });

  it("another run's first commit settles the unsettled table before it merges: a re-read day is not in it twice", async () => {
    const h = await setup(1);
    await load(h.d, DAY1, [ev('a', '2024-01-01T01:00:00Z', 'a1'), ev('b', '2024-01-01T02:00:00Z', 'b1')]);
    await load(h.d, DAY2, [
      ev('c', '2024-01-02T01:00:00Z', 'c1'),
      ev('d', '2024-01-02T02:00:00Z', 'd1'),
      ev('b', '2024-01-02T03:00:00Z', 'b2'),
    ]);
    expect(await h.catalog()).toEqual({ pk: false, seq: true, record: 'r1' });
    // the process ends without settle; the next run opens its own instance and re-reads day 2
    const next = await h.open();
    await load(
      next,
      DAY2,
      [
        ev('c', '2024-01-02T01:00:00Z', 'c2', 'r2'),
        ev('d', '2024-01-02T02:00:00Z', 'd2', 'r2'),
        ev('e', '2024-01-02T04:00:00Z', 'e2', 'r2'),
      ],
      'r2',
    );
    expect(await h.catalog()).toEqual({ pk: true, seq: false, record: null });
    expect(await h.rows()).toEqual(['a:a1:r1', 'b:b2:r1', 'c:c2:r2', 'd:d2:r2', 'e:e2:r2']);
    expect(await next.settle!('events')).toEqual({ settled: false, duplicatesRemoved: 0 });
  });
});
