/**
 * Brings a target table to a schema: CREATE, ADD COLUMN, and widening by add-copy-swap (add a
 * column of the new type, copy the converted values, drop the old column, rename the new one).
 * Snowflake DDL commits implicitly, so this runs BEFORE the commit transaction and every step is
 * idempotent: a run that crashed midway finishes the swap on its next attempt (a leftover new
 * column is dropped and rebuilt from the old one; an old column already dropped is completed by the
 * rename). Commits of one table from several processes take turns through a `ddl:` lock row, so
 * two swaps never interleave. Widening never loses a value: rows keep their exact text when a
 * column becomes VARCHAR, and a decimal's scale only grows.
 */
import type { ColumnSpec, Logger, TableSchema } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { nameHash } from '../../schema/identifiers.js';
import { readCatalogTable, type CatalogTable } from './snowflake-catalog.js';
import { acquireLock } from './snowflake-lock.js';
import type { SessionPool } from './snowflake-session.js';
import { qualified, quoteIdent } from './snowflake-sql.js';
import type { Run } from './snowflake-state.js';
import { nativeFor, widenExpression, type NativeType } from './snowflake-types.js';

export const DELETED_AT = '_deleted_at';

export interface EnsureOptions {
  schemaName: string;
  schema: TableSchema;
  /** Columns that must be NOT NULL when the table is created (the key). */
  notNull: string[];
  /** Snapshot targets carry `_deleted_at`. */
  deletedAt: boolean;
  /** Scale each decimal column needs for the staged values. */
  scales: ReadonlyMap<string, number>;
}

function swapColumn(name: string): string {
  return `_exportsync_swap_${nameHash(name)}`;
}

/** The native type column `c` must have, given what the table has now. */
function wanted(
  c: ColumnSpec,
  current: NativeType | undefined,
  scales: ReadonlyMap<string, number>,
): NativeType {
  if (c.type !== 'decimal') return nativeFor(c.type);
  const curScale = current?.logical === 'decimal' ? (current.scale ?? 0) : 0;
  return nativeFor('decimal', Math.max(curScale, scales.get(c.name) ?? 0));
}

/** The DDL statements that bring `table` (null: absent) to the options' schema. */
export function plan(table: CatalogTable | null, o: EnsureOptions): string[] {
  const target = qualified(o.schemaName, o.schema.table);
  if (!table) {
    const defs = o.schema.columns.map(
      (c) =>
        `${quoteIdent(c.name)} ${wanted(c, undefined, o.scales).native}${o.notNull.includes(c.name) ? ' NOT NULL' : ''}`,
    );
    if (o.deletedAt) defs.push(`${quoteIdent(DELETED_AT)} TIMESTAMP_TZ`);
    return [`CREATE TABLE IF NOT EXISTS ${target} (${defs.join(', ')})`];
  }
  const have = new Map(table.columns.map((c) => [c.name, c.native]));
  const out: string[] = [];
  for (const c of o.schema.columns) {
    const current = have.get(c.name);
    const want = wanted(c, current, o.scales);
    const swap = quoteIdent(swapColumn(c.name));
    const col = quoteIdent(c.name);
    if (!current) {
      // a swap that crashed after dropping the old column: its copy is complete, finish it
      if (have.has(swapColumn(c.name))) out.push(`ALTER TABLE ${target} RENAME COLUMN ${swap} TO ${col}`);
      else out.push(`ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${col} ${want.native}`);
      continue;
    }
    if (current.native === want.native) continue;
    const expr = widenExpression(col, current, want);
    if (expr === null) {
      throw new DestinationError(
        `${o.schema.table}.${c.name} is ${current.native} in the warehouse and cannot change to ${want.native} (only widening is allowed)`,
      );
    }
    out.push(
      `ALTER TABLE ${target} DROP COLUMN IF EXISTS ${swap}`,
      `ALTER TABLE ${target} ADD COLUMN ${swap} ${want.native}`,
      `UPDATE ${target} SET ${swap} = ${expr}`,
      `ALTER TABLE ${target} DROP COLUMN ${col}`,
      `ALTER TABLE ${target} RENAME COLUMN ${swap} TO ${col}`,
    );
  }
  if (o.deletedAt && !have.has(DELETED_AT))
    out.push(`ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${quoteIdent(DELETED_AT)} TIMESTAMP_TZ`);
  return out;
}

/**
 * Applies `plan` under the table's DDL lock (re-planned once the lock is held, since another
 * process may have done part of it). Returns the statements run ([] when nothing changed).
 */
export async function ensureTable(
  run: Run,
  pool: SessionPool,
  o: EnsureOptions,
  lock: { leaseSeconds: number; log: Logger; tag: string },
): Promise<string[]> {
  const first = plan(await readCatalogTable(run, o.schemaName, o.schema.table), o);
  if (first.length === 0) return [];
  const held = await acquireLock({
    pool,
    schema: o.schemaName,
    key: `ddl:${o.schema.table}`,
    waitMs: 10 * 60_000,
    leaseSeconds: lock.leaseSeconds,
    log: lock.log,
    what: `schema changes of table ${o.schema.table}`,
    tag: lock.tag,
  });
  try {
    const statements = plan(await readCatalogTable(run, o.schemaName, o.schema.table), o);
    for (const sql of statements) await run(sql);
    return statements;
  } finally {
    await held.release();
  }
}
