/**
 * The engine ends a bulk first load (`Destination.settle`) once per stream run, after the last
 * window's commit and before the lock is released: not when the run was interrupted (the next run
 * settles), best effort after a failure (the windows before it stay and are keyed), and a settle
 * that fails fails the stream without a second try. Real DuckDB; the destination is wrapped only
 * to record calls (and to fail one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Destination } from '../../src/core/contracts.js';
import { DataError, DestinationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { dayOf, days, runStream, twoRowStream } from '../support/engine-stream.js';

const windows = days(3);
let events: string[] = [];
let dir: string;
let dest: Destination;
beforeEach(async () => {
  events = [];
  dir = mkdtempSync(join(tmpdir(), 'exportsync-settle-'));
  dest = createDuckDbDestination({ path: join(dir, 'db.duckdb'), schema: 'main', log: silentLogger });
  await dest.open();
});
afterEach(async () => {
  await dest.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `dest` recording commits, settles and the lock's release in `events`; `failSettle` makes settle throw. */
function recording(failSettle = false): Destination {
  const wrapped: Destination = Object.create(dest) as Destination;
  wrapped.beginLoad = async (req) => {
    const load = await dest.beginLoad(req);
    return {
      write: (rows, schema) => load.write(rows, schema),
      abort: () => load.abort(),
      commit: async (c) => {
        const r = await load.commit(c);
        events.push(`committed ${dayOf(c.window)}`);
        return r;
      },
    };
  };
  wrapped.lock = async (key, waitMs) => {
    const lock = await dest.lock(key, waitMs);
    return { release: () => (events.push('released'), lock.release()) };
  };
  wrapped.settle = async (table) => {
    events.push(`settle ${table}`);
    if (failSettle) throw new DestinationError('settle failed: disk full');
    return { settled: true, duplicatesRemoved: 0 };
  };
  return wrapped;
}

const tail = () => events.filter((e) => !e.startsWith('read'));

it('settles once after the last window committed, before the lock is released', async () => {
  const result = await runStream(recording(), twoRowStream(events), { windows });
  expect(result.status).toBe('ok');
  expect(tail()).toEqual([
    'committed 2025-03-01',
    'committed 2025-03-02',
    'committed 2025-03-03',
    'settle src_events',
    'released',
  ]);
});

it('does not settle an interrupted run: the next run does', async () => {
  const result = await runStream(recording(), twoRowStream(events), {
    windows,
    stopping: () => events.includes('committed 2025-03-01'),
  });
  expect(result.status).toBe('interrupted');
  expect(events.filter((e) => e.startsWith('settle'))).toEqual([]);
});

it('settles the windows committed before a failure, and still reports the failure', async () => {
  const bad = twoRowStream(events, (d) => (d === '2025-03-03' ? new DataError('bad day 3') : undefined));
  const result = await runStream(recording(), bad, { windows });
  expect(result.status).toBe('failed');
  expect(result.error).toContain('bad day 3');
  expect(tail()).toEqual(['committed 2025-03-01', 'committed 2025-03-02', 'settle src_events', 'released']);
});

it('fails the stream when settle fails, without trying it twice', async () => {
  const result = await runStream(recording(true), twoRowStream(events), { windows });
  expect(result.status).toBe('failed');
  expect(result.error).toContain('settle failed');
  expect(events.filter((e) => e.startsWith('settle'))).toEqual(['settle src_events']);
  expect(result.windows).toBe(3);
});
