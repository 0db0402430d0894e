/**
 * What a table looks like in the catalog right now. The commit compares this with the wanted
 * schema to decide CREATE / ADD COLUMN / ALTER TYPE; a wrong answer means DDL that fails every
 * run, or a column silently left narrower than its values.
 */
import type pg from 'pg';
import type { ExistingTable } from '../../core/contracts.js';
import { logicalFromNative } from './postgres-types.js';

type Queryable = Pick<pg.ClientBase, 'query'> | pg.Pool;

export async function readTable(db: Queryable, schema: string, table: string): Promise<ExistingTable | null> {
  const res = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (res.rows.length === 0) return null;
  return {
    table,
    columns: res.rows.map((r) => ({
      name: r.column_name,
      type: logicalFromNative(r.data_type),
      nativeType: r.data_type,
    })),
  };
}
