/**
 * Schema changes in Snowflake happen outside the commit transaction (DDL commits implicitly), so a
 * crash can stop an add-copy-swap midway. These pin that the next attempt finishes it from any
 * point without losing the column's values: the plan itself (pure), then a crash replayed on the
 * stand-in.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { plan, type EnsureOptions } from '../../src/destinations/snowflake/snowflake-ddl.js';
import { nameHash } from '../../src/schema/identifiers.js';
import { parseNative } from '../../src/destinations/snowflake/snowflake-types.js';
import { makeSnowflakeHarness, stopSharedStandin } from '../support/snowflake-standin/harness.js';
import { col, eventsSchema, loadWindow, pick, win } from './contract.js';

afterAll(stopSharedStandin);

const swap = (name: string) => `_exportsync_swap_${nameHash(name)}`;
const options = (extra = eventsSchema('t', [col('v', 'string', 'dynamic')])): EnsureOptions => ({
  schemaName: 's',
  schema: extra,
  notNull: ['id'],
  deletedAt: false,
  scales: new Map(),
});
const table = (columns: Array<[string, string, number | null]>) => ({
  table: 't',
  columns: columns.map(([name, type, scale]) => ({ name, native: parseNative(type, scale) })),
});
const base: Array<[string, string, number | null]> = [
  ['id', 'TEXT', null],
  ['ts', 'TIMESTAMP_TZ', null],
  ['name', 'TEXT', null],
  ['n', 'NUMBER', 0],
  ['_exportsync_loaded_at', 'TIMESTAMP_TZ', null],
  ['_exportsync_run_id', 'TEXT', null],
  ['_extra', 'VARIANT', null],
];

describe('snowflake DDL plan', () => {
  it('widening integer → string is add, copy (as Row text), drop, rename', () => {
    const s = swap('v');
    expect(plan(table([...base, ['v', 'NUMBER', 0]]), options())).toEqual([
      `ALTER TABLE "s"."t" DROP COLUMN IF EXISTS "${s}"`,
      `ALTER TABLE "s"."t" ADD COLUMN "${s}" VARCHAR`,
      `UPDATE "s"."t" SET "${s}" = CAST("v" AS VARCHAR)`,
      `ALTER TABLE "s"."t" DROP COLUMN "v"`,
      `ALTER TABLE "s"."t" RENAME COLUMN "${s}" TO "v"`,
    ]);
  });

  it('a crash after the add (or the copy) redoes the swap from the intact old column', () => {
    const steps = plan(table([...base, ['v', 'NUMBER', 0], [swap('v'), 'TEXT', null]]), options());
    expect(steps[0]).toBe(`ALTER TABLE "s"."t" DROP COLUMN IF EXISTS "${swap('v')}"`);
    expect(steps).toHaveLength(5);
  });

  it('a crash after the drop finishes with the rename; an absent column is added', () => {
    expect(plan(table([...base, [swap('v'), 'TEXT', null]]), options())).toEqual([
      `ALTER TABLE "s"."t" RENAME COLUMN "${swap('v')}" TO "v"`,
    ]);
    expect(plan(table(base), options())).toEqual([
      `ALTER TABLE "s"."t" ADD COLUMN IF NOT EXISTS "v" VARCHAR`,
    ]);
  });

  it('a narrowing is refused, and an up-to-date table needs nothing', () => {
    expect(() =>
      plan(
        table([...base, ['v', 'TEXT', null]]),
        options(eventsSchema('t', [col('v', 'integer', 'dynamic')])),
      ),
    ).toThrow(/cannot change to NUMBER\(38,0\)/);
    expect(plan(table([...base, ['v', 'TEXT', null]]), options())).toEqual([]);
  });
});

describe('snowflake DDL on the stand-in', () => {
  it('a swap interrupted after the drop is completed by the next commit, values intact', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const v1 = eventsSchema('events', [col('v', 'integer', 'dynamic')]);
      await loadWindow(h.destination, {
        schema: v1,
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '42']]],
      });
      // replay the first three steps of integer → string by hand, then "crash" after the drop
      const t = `"${h.schema}"."events"`;
      await h.standin.query(`ALTER TABLE ${t} ADD COLUMN "${swap('v')}" VARCHAR`);
      await h.standin.query(`UPDATE ${t} SET "${swap('v')}" = CAST("v" AS VARCHAR)`);
      await h.standin.query(`ALTER TABLE ${t} DROP COLUMN "v"`);
      const v2 = eventsSchema('events', [col('v', 'string', 'dynamic')]);
      await loadWindow(h.destination, {
        schema: v2,
        window: win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z'),
        batches: [[['b', '2024-01-02T01:00:00Z', 'b', '2', null, null, null, 'n/a']]],
      });
      expect(pick(await h.rows('events', ['id']), ['id', 'v'])).toEqual([
        { id: 'a', v: '42' },
        { id: 'b', v: 'n/a' },
      ]);
      expect((await h.destination.describeTable('events'))?.columns.map((c) => c.name)).not.toContain(
        swap('v'),
      );
    } finally {
      await h.cleanup();
    }
  });
});
