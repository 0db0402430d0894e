/**
 * What a direct window of Postgres's bulk first load (postgres-load.ts `decide`) writes, and what
 * settle keeps of it (postgres-bulk.ts): the latest staged copy of a key across `write` and
 * `writeCsv` batches and across windows, a schema that grows mid-window, a COPY per write (with a
 * statement_timeout), and the audit values the merge's COALESCE would have given. Real server;
 * "direct" is seen as the table's commit lock held by this test's backend before the commit.
 * The last case fails at b5c30b3: a widening in a direct window rewrites the table, every row
 * takes that transaction's xmin, and the per-session `_exportsync_seq` then picks the wrong copy.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Destination, Load, Row, TableSchema, Window } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { keyHashOfValues } from '../../src/core/key-hash.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema } from '../support/postgres.js';
import { col, csvRows, eventsSchema, stateAt, win } from './contract.js';

const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
const DAY2 = win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z');
const DAY3 = win('2024-01-03T00:00:00Z', '2024-01-04T00:00:00Z');
const T1 = '2024-01-01T01:00:00Z';
const S = eventsSchema();
/** The run's start: the loaded-at the mapper (and the CSV pass-through) gives all its rows. */
const STARTED = '2024-03-01T00:00:00Z';
const ev = (id: string, ts: string, name: string, n = '1'): Row => [id, ts, name, n, STARTED, 'r1', null];

async function setup(o: { statementTimeoutMs?: number } = {}) {
  const schema = uniqueSchema('pgbulkd');
  const app = `exportsync-test-${schema}`;
  const d = createPostgresDestination({
    url: TEST_DATABASE_URL,
    schema,
    log: silentLogger,
    applicationName: app,
    bulkFirstLoadMinRows: 1,
    ...o,
  });
  await d.open();
  onTestFinished(async () => {
    await d.close();
    await dropSchema(schema);
  });
  const t = `"${schema}"."events"`;
  return {
    d,
    t,
    /** Backends of this test holding the commit lock of `events` (a direct window's transaction). */
    lockHolders: async () =>
      query<{ pid: number; xact_start: string }>(
        `SELECT l.pid, a.xact_start::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1
           AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($2, 0)`,
        [app, `exportsync:commit:${schema}.events`],
      ),
    names: async () =>
      (await query<{ id: string; name: string }>(`SELECT id, name FROM ${t} ORDER BY id, name`)).map(
        (r) => `${r.id}:${r.name}`,
      ),
  };
}

const begin = (d: Destination, schema: TableSchema = S) =>
  d.beginLoad({ streamKey: 't.events', schema, runId: 'r1' });
const commit = (l: Load, window: Window, schema: TableSchema = S) =>
  l.commit({ schema, mode: 'merge', window, state: stateAt(window.to.toISOString()) });
/** CSV lines as the pass-through writes them: every line carries its audit values. */
const csv = (rows: Row[], schema: TableSchema = S) => ({ ...csvRows(rows, schema), auditFilled: true });
/** The same lines with their key hashes, as the pass-through hands them over. */
const hashed = (rows: Row[]) => ({
  ...csv(rows),
  keyHashes: Float64Array.from(rows.map((r) => keyHashOfValues([r[0]])!)),
});

async function load(d: Destination, window: Window, rows: Row[]) {
  const l = await begin(d);
  await l.write(rows, S);
  return commit(l, window);
}

describe('postgres bulk first load: direct windows', () => {
  it('a key repeated with one cursor across write and writeCsv batches of a direct window, and across two direct windows: settle keeps the latest staged', async () => {
    const h = await setup();
    await load(h.d, DAY1, [ev('a', T1, 'w1'), ev('b', T1, 'w1')]);
    const l2 = await begin(h.d);
    await l2.write([ev('a', T1, 'w2-1'), ev('b', T1, 'w2-1'), ev('c', T1, 'w2')], S);
    expect(await h.lockHolders()).toHaveLength(1);
    await l2.writeCsv!(csv([ev('a', T1, 'w2-2')]), S);
    await l2.write([ev('a', T1, 'w2-3'), ev('b', T1, 'w2-3')], S);
    await l2.writeCsv!(csv([ev('b', T1, 'w2-4'), ev('a', T1, 'w2-4')]), S);
    await l2.write([ev('b', T1, 'w2-5')], S);
    // the window's own repeats go at its commit, as its merge would have removed them (a crash
    // after it must not leave them twice); the copies from window 1 stay until settle
    expect(await commit(l2, DAY2)).toEqual({ staged: 9, upserted: 3, deleted: 0 });
    expect(await h.names()).toEqual(['a:w1', 'a:w2-4', 'b:w1', 'b:w2-5', 'c:w2']);
    // the next window of the run, same cursor for c: the later window wins
    const l3 = await begin(h.d);
    await l3.writeCsv!(csv([ev('c', T1, 'w3')]), S);
    expect(await h.lockHolders()).toHaveLength(1);
    await commit(l3, DAY3);
    expect(await h.names()).toHaveLength(6);
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 3 });
    expect(await h.names()).toEqual(['a:w2-4', 'b:w2-5', 'c:w3']);
  });

  it('lines with key hashes: a key the hashes show twice in a window is once after its commit, across batches', async () => {
    const h = await setup();
    await load(h.d, DAY1, [ev('a', T1, 'w1')]);
    const l2 = await begin(h.d);
    await l2.writeCsv!(hashed([ev('b', T1, 'w2-1'), ev('c', T1, 'w2')]), S);
    expect(await h.lockHolders()).toHaveLength(1);
    await l2.writeCsv!(hashed([ev('b', T1, 'w2-2')]), S);
    expect(await commit(l2, DAY2)).toEqual({ staged: 3, upserted: 2, deleted: 0 });
    expect(await h.names()).toEqual(['a:w1', 'b:w2-2', 'c:w2']);
    // no repeat among the hashes: nothing to remove, every line stays
    const l3 = await begin(h.d);
    await l3.writeCsv!(hashed([ev('d', T1, 'w3'), ev('e', T1, 'w3')]), S);
    expect(await commit(l3, DAY3)).toEqual({ staged: 2, upserted: 2, deleted: 0 });
    expect(await h.names()).toEqual(['a:w1', 'b:w2-2', 'c:w2', 'd:w3', 'e:w3']);
  });

  it('the schema grows inside a direct window (a column added, integer widened to decimal): both batches land right, before and after settle', async () => {
    const h = await setup();
    await load(h.d, DAY1, [ev('a', T1, 'a1', '1')]);
    const wide: TableSchema = {
      ...eventsSchema('events', [col('note', 'string')]),
      columns: eventsSchema('events', [col('note', 'string')]).columns.map((c) =>
        c.name === 'n' ? { ...c, type: 'decimal' } : c,
      ),
    };
    const l2 = await begin(h.d);
    await l2.write([ev('b', T1, 'b2', '2')], S);
    await l2.write([[...ev('c', T1, 'c2', '2.5'), 'x']], wide);
    expect(await h.lockHolders()).toHaveLength(1); // still direct
    await commit(l2, DAY2, wide);
    const want = ['a:1:', 'b:2:', 'c:2.5:x'];
    const read = async () =>
      (
        await query<{ r: string }>(
          `SELECT concat_ws(':', id, n, coalesce(note, '')) AS r FROM ${h.t} ORDER BY id`,
        )
      ).map((x) => x.r);
    expect(await read()).toEqual(want);
    expect(
      await query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema || '.' || table_name = $1 AND column_name IN ('n', 'note') ORDER BY 1`,
        [h.t.replace(/"/g, '')],
      ),
    ).toEqual([
      { column_name: 'n', data_type: 'numeric' },
      { column_name: 'note', data_type: 'text' },
    ]);
    expect((await h.d.getColumnMap('events')).find((c) => c.name === 'n')?.type).toBe('decimal');
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 0 });
    expect(await read()).toEqual(want);
  });

  it('with a statement_timeout (a COPY per write) a window still goes direct and settles to the latest staged', async () => {
    const h = await setup({ statementTimeoutMs: 30_000 });
    await load(h.d, DAY1, [ev('a', T1, 'w1'), ev('b', T1, 'w1')]);
    const l2 = await begin(h.d);
    await l2.write([ev('a', T1, 'w2-1')], S);
    expect(await h.lockHolders()).toHaveLength(1);
    await l2.writeCsv!(csv([ev('a', T1, 'w2-2'), ev('b', T1, 'w2-2')]), S);
    await l2.write([ev('a', T1, 'w2-3')], S);
    expect(await h.lockHolders()).toHaveLength(1);
    await commit(l2, DAY2);
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 2 });
    expect(await h.names()).toEqual(['a:w2-3', 'b:w2-2']);
  });

  /** Run id, whether loaded-at is set, and whether it equals `at` (to the millisecond). */
  const audit = (t: string, ids: string[], at: string) =>
    query<{ id: string; run: string; set: boolean; same: boolean }>(
      `SELECT id, _exportsync_run_id AS run, _exportsync_loaded_at IS NOT NULL AS set,
              abs(extract(epoch FROM _exportsync_loaded_at - $2::timestamptz)) < 0.001 AS same
       FROM ${t} WHERE id = ANY($1) ORDER BY id`,
      [ids, at],
    );

  it("rows with NULL audit values in a direct window get the run id and the window transaction's now(), in every batch", async () => {
    const h = await setup();
    await load(h.d, DAY1, [ev('a', T1, 'w1')]);
    const l2 = await begin(h.d);
    await l2.write([['b', T1, 'w2', '1']], S);
    const [holder] = await h.lockHolders();
    expect(holder).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    await l2.write([['c', T1, 'w2', '1']], S);
    await commit(l2, DAY2);
    expect(await audit(h.t, ['b', 'c'], holder!.xact_start)).toEqual([
      { id: 'b', run: 'r1', set: true, same: true },
      { id: 'c', run: 'r1', set: true, same: true },
    ]);
  });

  it('CSV lines without auditFilled in a direct window get their audit values at commit, as the merge would give them', async () => {
    const h = await setup();
    await load(h.d, DAY1, [ev('a', T1, 'w1')]);
    const l2 = await begin(h.d);
    await l2.writeCsv!(csvRows([['d', T1, 'w2', '1']], S), S);
    expect(await h.lockHolders()).toHaveLength(1); // direct all the same
    await l2.write([['e', T1, 'w2', '1']], S);
    await commit(l2, DAY2);
    expect((await audit(h.t, ['d', 'e'], STARTED)).map((r) => [r.id, r.run, r.set])).toEqual([
      ['d', 'r1', true],
      ['e', 'r1', true],
    ]);
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 0 });
  });

  /**
   * Windows pipelined as the engine runs them: window 2 is begun (its own connection) while window
   * 1 commits, window 3 while window 2 commits, so windows 1 and 3 share a connection and window
   * 3's `_exportsync_seq` values (that session's cached block) are LOWER than window 2's. x comes
   * with one cursor in windows 2 and 3; window 3 may widen `n` (a rewrite of the table).
   */
  async function pipelined(widen: boolean) {
    const h = await setup();
    const wide: TableSchema = {
      ...S,
      columns: S.columns.map((c) => (c.name === 'n' && widen ? { ...c, type: 'decimal' } : c)),
    };
    const l1 = await begin(h.d);
    await l1.write([ev('a', T1, 'w1')], S);
    const l2 = await begin(h.d);
    await commit(l1, DAY1);
    await l2.write([ev('x', T1, 'w2')], S);
    const l3 = await begin(h.d);
    await commit(l2, DAY2);
    await l3.write([ev('x', T1, 'w3')], S);
    await l3.write([ev('y', T1, 'w3', '1')], wide);
    await commit(l3, DAY3, wide);
    expect(await h.d.settle!('events')).toEqual({ settled: true, duplicatesRemoved: 1 });
    expect(await h.names()).toEqual(['a:w1', 'x:w3', 'y:w3']);
  }

  it('the later of two direct windows on different connections wins an equal cursor at settle, though its sequence values are lower', () =>
    pipelined(false));

  // ALTER COLUMN TYPE rewrites the table and every row takes the rewriting transaction's xmin: only
  // `_exportsync_seq` can order the windows, and only because each window moves its session past
  // the values taken so far (postgres-bulk.ts bumpBulkSeq)
  it('a type widened in a later direct window rewrites the table (every row takes its xmin): the later window still wins an equal cursor at settle', () =>
    pipelined(true));
});
