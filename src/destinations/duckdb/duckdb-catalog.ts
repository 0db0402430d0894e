/**
 * What the database file holds: a table's columns and native types, read from DuckDB's catalog.
 * Read inside the commit transaction it is the view the DDL plan is made from; if it were stale
 * (another transaction's view) a column could be added twice or widened from the wrong type.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ExistingTable } from '../../core/contracts.js';
import { qualified, type Namespace } from './duckdb-sql.js';
import { select } from './duckdb-state.js';
import { parseNative, type NativeType } from './duckdb-types.js';

export interface CatalogTable {
  table: string;
  columns: Array<{ name: string } & NativeType>;
}

export async function readTable(
  c: DuckDBConnection,
  ns: Namespace,
  table: string,
): Promise<CatalogTable | null> {
  const rows = await select<{ column_name: string; data_type: string }>(
    c,
    `SELECT column_name, data_type FROM duckdb_columns()
     WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY column_index`,
    [ns.catalog, ns.schema, table],
  );
  if (rows.length === 0) return null;
  return { table, columns: rows.map((r) => ({ name: r.column_name, ...parseNative(r.data_type) })) };
}

export async function describeTable(
  c: DuckDBConnection,
  ns: Namespace,
  table: string,
): Promise<ExistingTable | null> {
  const found = await readTable(c, ns, table);
  if (!found) return null;
  const [count] = await select<{ n: string }>(
    c,
    `SELECT CAST(count(*) AS VARCHAR) AS n FROM ${qualified(ns, table)}`,
  );
  return {
    table,
    columns: found.columns.map((col) => ({ name: col.name, type: col.logical, nativeType: col.native })),
    rowCount: Number(count?.n ?? 0),
  };
}
