/**
 * What a table looks like in the catalog right now. The commit compares this with the wanted
 * schema to decide CREATE / ADD COLUMN / ALTER TYPE; a wrong answer means DDL that fails every
 * run, or a column silently left narrower than its values.
 */
import type pg from 'pg';
import type { ExistingTable } from '../../core/contracts.js';
import { logicalFromNative } from './postgres-types.js';

type Queryable = Pick<pg.ClientBase, 'query'> | pg.Pool;

/** The staging-order column of a table in a bulk first load (postgres-bulk.ts); dropped at settle. */
export const BULK_SEQ = '_exportsync_seq';

/**
 * The table's columns, without the bookkeeping column a bulk first load carries until it is
 * settled (`withBulkSeq` includes it): it is no column of the stream's, and a schema or plan that
 * listed it would ask the load to fill it.
 */
export async function readTable(
  db: Queryable,
  schema: string,
  table: string,
  o: { withBulkSeq?: boolean } = {},
): Promise<ExistingTable | null> {
  const res = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (res.rows.length === 0) return null;
  return {
    table,
    columns: res.rows
      .filter((r) => o.withBulkSeq || r.column_name !== BULK_SEQ)
      .map((r) => ({
        name: r.column_name,
        type: logicalFromNative(r.data_type),
        nativeType: r.data_type,
      })),
  };
}
