/**
 * What a table looks like in Snowflake's catalog right now (information_schema of the session's
 * database). Names are compared exactly, as stored: our quoted lower-case identifiers. The commit
 * compares this with the wanted schema to decide CREATE / ADD COLUMN / widen; a wrong answer means
 * DDL that fails every run, or a column silently left narrower than its values.
 */
import type { ExistingTable } from '../../core/contracts.js';
import type { Run } from './snowflake-state.js';
import { parseNative, type NativeType } from './snowflake-types.js';

export interface CatalogTable {
  table: string;
  columns: Array<{ name: string; native: NativeType }>;
}

export async function readCatalogTable(
  run: Run,
  schema: string,
  table: string,
): Promise<CatalogTable | null> {
  const { rows } = await run(
    `SELECT column_name, data_type, numeric_scale FROM information_schema.columns ` +
      `WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
    [schema, table],
  );
  if (rows.length === 0) return null;
  return {
    table,
    columns: rows.map((r) => ({
      name: String(r[0]),
      native: parseNative(String(r[1]), r[2] === null || r[2] === undefined ? null : Number(r[2])),
    })),
  };
}

export function toExistingTable(t: CatalogTable): ExistingTable {
  return {
    table: t.table,
    columns: t.columns.map((c) => ({ name: c.name, type: c.native.logical, nativeType: c.native.native })),
  };
}
