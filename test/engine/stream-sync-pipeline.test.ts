/**
 * The pipelined window loop of syncStream (window N+1 staged while N commits) keeps the
 * sequential guarantees: commits in window order, the state of each commit covering only its own
 * window, a failure of N+1 never touching N's commit, a failed commit retried or failing the
 * stream with nothing after it committed. Real DuckDB; the destination is wrapped only to fail or
 * record commits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CommitRequest, Destination, Load, StreamDefinition } from '../../src/core/contracts.js';
import { DataError, DestinationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createDuckDbDestination } from '../../src/destinations/duckdb/index.js';
import { dayOf, days, runStream, twoRowStream } from '../support/engine-stream.js';

const windows = days(4);
const day = dayOf;

/** Order of reads started and commits done, across the stream and the wrapper. */
let events: string[] = [];
let dir: string;
let dest: Destination;
beforeEach(async () => {
  events = [];
  dir = mkdtempSync(join(tmpdir(), 'exportsync-pipeline-'));
  dest = createDuckDbDestination({ path: join(dir, 'db.duckdb'), schema: 'main', log: silentLogger });
  await dest.open();
});
afterEach(async () => {
  await dest.close();
  rmSync(dir, { recursive: true, force: true });
});

const stream = (failRead?: (d: string) => Error | undefined) => twoRowStream(events, failRead);

interface Recorded {
  day: string;
  mark: string | null | undefined;
}

/** The destination, recording each commit's window and state mark; `failCommit` may throw first. */
function wrap(failCommit: (d: string, n: number) => Error | undefined = () => undefined) {
  const commits: Recorded[] = [];
  const tries = new Map<string, number>();
  const wrapped: Destination = Object.create(dest) as Destination;
  wrapped.beginLoad = async (req) => {
    const load = await dest.beginLoad(req);
    const l: Load = {
      write: (rows, schema) => load.write(rows, schema),
      abort: () => load.abort(),
      commit: async (c: CommitRequest) => {
        const d = day(c.window);
        const n = (tries.get(d) ?? 0) + 1;
        tries.set(d, n);
        // hold the commit until the next window's read has started (pipelined), or 2 s (not)
        const next = windows[windows.findIndex((w) => day(w) === d) + 1];
        for (let waited = 0; next && !events.includes(`read ${day(next)}`) && waited < 2000; waited += 5)
          await new Promise((r) => setTimeout(r, 5));
        const err = failCommit(d, n);
        if (err) throw err;
        const r = await load.commit(c);
        commits.push({ day: d, mark: c.state?.highWaterMark });
        events.push(`committed ${d}`);
        return r;
      },
    };
    return l;
  };
  return { wrapped, commits };
}

const run = (destination: Destination, s: StreamDefinition, windowAttempts = 2) =>
  runStream(destination, s, { windows, windowAttempts });

const marks = (n: number) => windows.slice(0, n).map((w) => ({ day: day(w), mark: w.to.toISOString() }));

it('commits every window in order, each with the mark of its own window', async () => {
  const { wrapped, commits } = wrap();
  const result = await run(wrapped, stream());
  expect(result.status).toBe('ok');
  expect(commits).toEqual(marks(4));
  expect((await dest.getState('src.events'))?.highWaterMark).toBe(windows[3]!.to.toISOString());
  // pipelined: each next window was being read while the previous one committed
  for (let i = 0; i < 3; i++) {
    expect(events.indexOf(`read ${day(windows[i + 1]!)}`)).toBeLessThan(
      events.indexOf(`committed ${day(windows[i]!)}`),
    );
  }
});

it('a failing read of window N+1 leaves N committed and fails the stream with N+1’s error', async () => {
  const { wrapped, commits } = wrap();
  const result = await run(
    wrapped,
    stream((d) => (d === day(windows[2]!) ? new DataError('bad window 3') : undefined)),
  );
  expect(result.status).toBe('failed');
  expect(result.error).toContain('bad window 3');
  expect(commits).toEqual(marks(2));
  expect((await dest.getState('src.events'))?.highWaterMark).toBe(windows[1]!.to.toISOString());
});

it('a commit failing for good stops the stream: nothing after it commits, its state is not written', async () => {
  const { wrapped, commits } = wrap((d) =>
    d === day(windows[1]!) ? new DestinationError('disk gone') : undefined,
  );
  const result = await run(wrapped, stream());
  expect(result.status).toBe('failed');
  expect(result.error).toContain('disk gone');
  expect(commits).toEqual(marks(1));
  expect((await dest.getState('src.events'))?.highWaterMark).toBe(windows[0]!.to.toISOString());
});

it('a commit failing once (retryable) is read and committed again, before the next window commits', async () => {
  const { wrapped, commits } = wrap((d, n) =>
    d === day(windows[1]!) && n === 1 ? new DestinationError('deadlock', { retryable: true }) : undefined,
  );
  const result = await run(wrapped, stream());
  expect(result.status).toBe('ok');
  expect(commits).toEqual(marks(4));
  expect(result.windows).toBe(4);
  expect(result.staged).toBe(8);
});
