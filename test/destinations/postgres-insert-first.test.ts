/**
 * The Postgres commit writes a keyed window by plain INSERT under a savepoint when none of its keys
 * is in the target yet, and falls back to the ON CONFLICT merge on unique_violation. These tests
 * pin that both paths give the merge's result (one row per key, latest staged wins, unchanged
 * rows not rewritten) and that only the key's violation is taken as "some key exists".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Destination, Row } from '../../src/core/contracts.js';
import { DestinationError } from '../../src/core/errors.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema } from '../support/postgres.js';
import { eventsSchema, loadWindow, stateAt } from './contract.js';

describe('postgres commit: plain insert first, ON CONFLICT merge when a key exists', () => {
  let schema: string;
  let d: Destination;
  const logged: Array<Record<string, unknown>> = [];
  /** How each commit wrote its rows, from the load's debug line. */
  const written = () => logged.filter((l) => l.msg === 'window committed').map((l) => l.written);

  beforeAll(async () => {
    schema = uniqueSchema('pgins');
    const log = pino({ level: 'debug' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log,
      applicationName: `exportsync-${schema}`,
    });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    await dropSchema(schema);
  });

  it('new keys are inserted; a window with existing keys merges: each key once, latest staged wins, unchanged rows kept', async () => {
    const s = eventsSchema('mixed');
    logged.length = 0;
    const at = (h: number) => `2024-01-01T0${h}:00:00Z`;
    await loadWindow(d, {
      schema: s,
      runId: 'run-1',
      batches: [
        [
          ['b', at(1), 'b', '1'],
          ['d', at(1), 'd', '1'],
        ],
      ],
    });
    const fresh = await loadWindow(d, {
      schema: s,
      runId: 'run-2',
      batches: [
        [
          ['e', at(2), 'e', '1'],
          ['c', at(2), 'c', '1'],
        ],
      ],
    });
    expect(fresh.upserted).toBe(2);
    const xminOfD = () => query(`SELECT xmin::text AS x FROM "${schema}".mixed WHERE id = 'd'`);
    const before = await xminOfD();
    // the sample of staged keys finds d: straight to the merge
    const reread = await loadWindow(d, {
      schema: s,
      runId: 'run-3',
      batches: [
        [
          ['d', at(1), 'd', '1'],
          ['c', at(3), 'c', '2'],
          ['f', at(3), 'f', '1'],
          ['a0', at(3), 'a0', '1'],
        ],
        [['f', at(3), 'f', '2']],
      ],
    });
    expect(reread.upserted).toBe(3); // c changed, f and a0 new; d unchanged
    // 100 new keys fill the sample; in key order the insert writes a100… before it meets e and is
    // rolled back to its savepoint, then the merge runs
    const news: Row[] = Array.from({ length: 100 }, (_, i) => [`a${100 + i}`, at(4), 'n', '1']);
    const missed = await loadWindow(d, {
      schema: s,
      runId: 'run-4',
      batches: [news, [['e', at(4), 'e', '2']], [['d', at(1), 'd', '1']]],
    });
    // the table's first window COPYs straight into it and is keyed at commit (postgres-bulk.ts)
    expect(written()).toEqual(['direct', 'insert', 'merge', 'merge after unique_violation']);
    expect(missed.upserted).toBe(101);
    expect(
      await query(
        `SELECT id, n::text, _exportsync_run_id AS run FROM "${schema}".mixed WHERE id NOT LIKE 'a1%' ORDER BY id`,
      ),
    ).toEqual([
      { id: 'a0', n: '1', run: 'run-3' },
      { id: 'b', n: '1', run: 'run-1' },
      { id: 'c', n: '2', run: 'run-3' },
      { id: 'd', n: '1', run: 'run-1' },
      { id: 'e', n: '2', run: 'run-4' },
      { id: 'f', n: '2', run: 'run-3' },
    ]);
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".mixed WHERE id LIKE 'a1%'`)).toEqual([
      { n: 100 },
    ]);
    expect(await xminOfD()).toEqual(before);
  });

  it('a unique_violation of another unique index is not taken for an existing key: the commit fails, nothing lands', async () => {
    const s = eventsSchema('othereq');
    await loadWindow(d, {
      streamKey: 'othereq',
      schema: s,
      batches: [[['a', '2024-01-01T01:00:00Z', 'same', '1']]],
    });
    await query(`CREATE UNIQUE INDEX ON "${schema}".othereq (name)`);
    const rows: Row[] = [
      ['b', '2024-01-02T01:00:00Z', 'other', '1'],
      ['c', '2024-01-02T01:00:00Z', 'same', '1'],
    ];
    const err = await loadWindow(d, {
      streamKey: 'othereq',
      schema: s,
      batches: [rows],
      state: stateAt('2024-01-03T00:00:00Z'),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as Error).message).toMatch(/SQLSTATE 23505/);
    expect(await query(`SELECT id FROM "${schema}".othereq ORDER BY id`)).toEqual([{ id: 'a' }]);
    expect((await d.getState('othereq'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');
  });

  it('text keys are deduplicated byte for byte: case and accents stay distinct keys, equal ones collapse', async () => {
    const s = eventsSchema('bytes');
    const keys = ['a', 'A', 'á', 'a\u0301', 'ß', 'ss'];
    const rows: Row[] = keys.map((k, i) => [k, '2024-01-01T01:00:00Z', k, String(i)]);
    rows.push(['A', '2024-01-01T01:00:00Z', 'A', '99']);
    const r = await loadWindow(d, { streamKey: 'bytes', schema: s, batches: [rows] });
    expect(r.upserted).toBe(keys.length);
    const got = await query<{ id: string; n: string }>(`SELECT id, n::text AS n FROM "${schema}".bytes`);
    expect(new Map(got.map((g) => [g.id, g.n]))).toEqual(
      new Map([...keys.map((k, i) => [k, String(i)] as const), ['A', '99'] as const]),
    );
  });
});
