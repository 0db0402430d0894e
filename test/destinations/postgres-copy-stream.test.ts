/**
 * The Postgres load keeps one COPY open across writes (write() does not wait for the server to
 * store each batch). These pin what that must not change: a value the server rejects in any batch
 * still fails the window (at a later write or at commit) and lands nothing; the schema growing
 * mid-load ends the COPY, alters staging and reopens it without losing a row; abort with a COPY
 * still open leaves nothing and the destination stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, Row } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema } from '../support/postgres.js';
import { col, eventsSchema, loadWindow, stateAt, win } from './contract.js';

const DAY1 = win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');

function rows(from: number, count: number, n = (i: number) => String(i)): Row[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return [`id-${i}`, '2024-01-01T01:00:00Z', `name-${i}`, n(i)];
  });
}

describe('postgres load: one COPY stream per load', () => {
  let schema: string;
  let d: Destination;
  beforeAll(async () => {
    schema = uniqueSchema('pgcopy');
    d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: `exportsync-${schema}`,
    });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    await dropSchema(schema);
  });

  it('a value the server rejects in an early batch fails the window: nothing lands, no state', async () => {
    const s = eventsSchema('rejected');
    const load = await d.beginLoad({ streamKey: 'copy.rejected', schema: s, runId: 'run-1' });
    let failure: unknown;
    try {
      await load.write(
        rows(0, 5, (i) => (i === 3 ? 'not-a-number' : String(i))),
        s,
      );
      // later batches may still be accepted locally; the error must surface by commit at the latest
      for (let b = 1; b < 20; b++) await load.write(rows(b * 1000, 1000), s);
      await load.commit({ schema: s, mode: 'merge', window: DAY1, state: stateAt(DAY1.to.toISOString()) });
    } catch (err) {
      failure = err;
    }
    await load.abort();
    expect(String(failure)).toMatch(/not-a-number|invalid input syntax/);
    const tables = await query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'rejected'`,
      [schema],
    );
    expect(tables).toEqual([]);
    expect(await d.getState('copy.rejected')).toBeNull();
    // the pool's connections still work after the failed COPY
    await loadWindow(d, { streamKey: 'copy.after', schema: eventsSchema('after'), batches: [rows(0, 3)] });
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".after`)).toEqual([{ n: 3 }]);
  });

  it('columns added and widened mid-load reopen the COPY and keep every row of every batch', async () => {
    const v1 = eventsSchema('grown');
    const v2 = eventsSchema('grown', [col('country', 'string', 'dynamic')]);
    const v3 = {
      ...v2,
      columns: v2.columns.map((c) => (c.name === 'n' ? { ...c, type: 'decimal' as const } : c)),
    };
    const withCountry = (r: Row[]) => r.map((x) => [...x, null, null, null, 'NL']);
    const result = await loadWindow(d, {
      streamKey: 'copy.grown',
      schema: v3,
      batches: [
        { rows: rows(0, 1500), schema: v1 },
        { rows: rows(1500, 1500), schema: v1 },
        { rows: withCountry(rows(3000, 1500)), schema: v2 },
        { rows: withCountry(rows(4500, 1500, (i) => `${i}.5`)), schema: v3 },
        { rows: withCountry(rows(6000, 1500)), schema: v3 },
      ],
    });
    expect(result.staged).toBe(7500);
    const got = await query<{ n: number; countries: number; halves: number }>(
      `SELECT count(*)::int AS n, count(country)::int AS countries,
              count(*) FILTER (WHERE n <> trunc(n))::int AS halves FROM "${schema}".grown`,
    );
    expect(got).toEqual([{ n: 7500, countries: 4500, halves: 1500 }]);
  });

  it('with a statement_timeout, slow writes are not cancelled: each write ends its COPY', async () => {
    const timed = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      statementTimeoutMs: 300,
    });
    await timed.open();
    try {
      const s = eventsSchema('slow');
      const load = await timed.beginLoad({ streamKey: 'copy.slow', schema: s, runId: 'run-1' });
      for (let b = 0; b < 3; b++) {
        await load.write(rows(b * 100, 100), s);
        await new Promise((r) => setTimeout(r, 400)); // the source is slow: longer than the timeout
      }
      const result = await load.commit({
        schema: s,
        mode: 'merge',
        window: DAY1,
        state: stateAt(DAY1.to.toISOString()),
      });
      expect(result.staged).toBe(300);
    } finally {
      await timed.close();
    }
  });

  it('abort with a COPY still open leaves nothing and the next load of the stream works', async () => {
    const s = eventsSchema('aborted');
    const load = await d.beginLoad({ streamKey: 'copy.aborted', schema: s, runId: 'run-1' });
    for (let b = 0; b < 5; b++) await load.write(rows(b * 2000, 2000), s);
    await load.abort();
    expect(await d.getState('copy.aborted')).toBeNull();
    await loadWindow(d, { streamKey: 'copy.aborted', schema: s, batches: [rows(0, 10)] });
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".aborted`)).toEqual([{ n: 10 }]);
  });
});
