/**
 * SQL text builders for the DuckDB destination. Identifiers are always quoted here and values are
 * never spliced in: builders return text with $n placeholders. A builder that forgets to quote
 * breaks on the first column named `select`; one that splices a value is an injection.
 */
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';

/**
 * DuckDB itself has no practical identifier limit; 63 keeps warehouse names identical to the
 * Postgres destination's, so moving from the embedded default to Postgres keeps every name.
 */
export const MAX_IDENTIFIER_LENGTH = 63;

export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new DestinationError(`invalid identifier ${JSON.stringify(name)}`);
  if (name.length > MAX_IDENTIFIER_LENGTH)
    throw new DestinationError(`identifier longer than ${MAX_IDENTIFIER_LENGTH} characters: ${name}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Where the tables live: the database (catalog, named after the file: `exportsync.duckdb` →
 * `exportsync`) and the schema. Names are always catalog-qualified: with the default file and
 * schema both called `exportsync`, a two-part `"exportsync"."t"` is ambiguous to DuckDB.
 */
export interface Namespace {
  catalog: string;
  schema: string;
}

/** Quotes a catalog name (derived from the file name, so not subject to the column limit). */
function quoteCatalog(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function schemaRef(ns: Namespace): string {
  return `${quoteCatalog(ns.catalog)}.${quoteIdent(ns.schema)}`;
}

export function qualified(ns: Namespace, table: string): string {
  return `${schemaRef(ns)}.${quoteIdent(table)}`;
}

export function columnList(names: string[], prefix = ''): string {
  return names.map((n) => prefix + quoteIdent(n)).join(', ');
}

/**
 * CREATE TABLE without a PRIMARY KEY constraint, on purpose: DuckDB keeps a key's ART index
 * pinned in memory (measured: ~160 MB per million keys, peak RSS 721–736 MB for 1M rows, and
 * a sync failing under `memory_limit` once a table held 3–4M keys — BENCHMARKS.md), which breaks
 * the constant-memory promise of the embedded default. Uniqueness does not depend on it: every
 * write is a MERGE on the key over rows deduplicated per key (`dedupedSql`), which the contract
 * suite pins. Tables created by earlier versions keep their key and keep working.
 */
export function createTableSql(
  target: string,
  columns: Array<{ name: string; native: string }>,
  /** Key columns: NOT NULL (cheap, no index), so a row without its key still fails the commit. */
  primaryKey: string[],
): string {
  const keys = new Set(primaryKey);
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.native}${keys.has(c.name) ? ' NOT NULL' : ''}`);
  return `CREATE TABLE ${target} (${defs.join(', ')})`;
}

/**
 * Upsert of the typed staged rows `source` (a subquery with every target column and `seq`),
 * deduplicated first: DuckDB takes the FIRST row silently when a key repeats in one upsert, so
 * per key the latest cursor wins, then the latest staged row. MERGE needs no index on the key.
 * The commit no longer runs it: it reads every column of the whole target, so a daily merge cost
 * grew with the table; duckdb-merge.ts gives the same result reading only the matched rows. Kept
 * as the one-statement reference (bench/incremental-db.ts explains it).
 */
export function mergeSql(opts: {
  target: string;
  source: string;
  seq: string;
  columns: string[];
  primaryKey: string[];
  cursorColumn: string;
  /** Extra SET clauses on update (snapshot: un-delete). */
  extraSet?: string[];
  /** Extra condition that makes a matched row count as changed (snapshot: it was marked deleted). */
  extraChanged?: string;
}): string {
  const keys = new Set(opts.primaryKey);
  const deduped = dedupedSql(opts.source, opts.primaryKey, opts.cursorColumn, opts.seq);
  const on = opts.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const sets = opts.columns.filter((c) => !keys.has(c)).map((c) => `${quoteIdent(c)} = s.${quoteIdent(c)}`);
  sets.push(...(opts.extraSet ?? []));
  // A re-read row whose data is unchanged is not rewritten: it keeps the run id and load time of
  // the run that last changed it, and `upserted` counts only new or changed rows.
  const data = opts.columns.filter((c) => !keys.has(c) && !AUDIT_STAMPS.has(c));
  const changed =
    data.length > 0 ? [`row(${columnList(data, 't.')}) IS DISTINCT FROM row(${columnList(data, 's.')})`] : [];
  if (opts.extraChanged) changed.push(opts.extraChanged);
  const when = changed.length > 0 ? `WHEN MATCHED AND (${changed.join(' OR ')}) THEN` : 'WHEN MATCHED THEN';
  const matched = sets.length > 0 && changed.length > 0 ? `${when} UPDATE SET ${sets.join(', ')} ` : '';
  return (
    `MERGE INTO ${opts.target} AS t USING (${deduped}) AS s ON ${on} ` +
    matched +
    `WHEN NOT MATCHED THEN INSERT (${columnList(opts.columns)}) VALUES (${columnList(opts.columns, 's.')})`
  );
}

/**
 * One row per key of `source`: the latest cursor wins, then the latest staged (`seq`). The merge
 * and the snapshot history both use it, so the history holds exactly the rows the merge chose.
 */
export function dedupedSql(source: string, primaryKey: string[], cursorColumn: string, seq: string): string {
  const pk = primaryKey.map(quoteIdent).join(', ');
  const order = `${quoteIdent(cursorColumn)} DESC NULLS LAST, ${quoteIdent(seq)} DESC`;
  return `SELECT * FROM (${source}) QUALIFY row_number() OVER (PARTITION BY ${pk} ORDER BY ${order}) = 1`;
}

/**
 * One row: the number of distinct keys of `source` (NULLs equal, as in `dedupedSql`'s PARTITION
 * BY) and whether any of them is already in `target`. Reads only the key columns of both.
 */
export function keyCheckSql(target: string, source: string, primaryKey: string[]): string {
  const keys = columnList(primaryKey, 's.');
  const on = primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  return (
    `WITH k AS MATERIALIZED (SELECT ${keys} FROM (${source}) AS s) ` +
    `SELECT (SELECT count(*) FROM (SELECT DISTINCT * FROM k)), ` +
    `EXISTS (SELECT 1 FROM ${target} AS t SEMI JOIN k AS s ON ${on})`
  );
}

/**
 * Distinct typed keys of the window alone (a bulk first load's check: the target is not read).
 * Without it a key the source repeats within one window would be appended twice and stay so
 * until settle (after a crash: until the next run), which a merge never shows.
 */
export function windowDistinctSql(source: string, primaryKey: string[]): string {
  return `SELECT count(*) FROM (SELECT DISTINCT ${columnList(primaryKey, 's.')} FROM (${source}) AS s)`;
}

/** Plain insert of the deduplicated `source` rows (the snapshot history of a window). */
export function insertDedupedSql(opts: {
  target: string;
  source: string;
  seq: string;
  columns: string[];
  primaryKey: string[];
  cursorColumn: string;
}): string {
  const deduped = dedupedSql(opts.source, opts.primaryKey, opts.cursorColumn, opts.seq);
  return `INSERT INTO ${opts.target} (${columnList(opts.columns)}) SELECT ${columnList(opts.columns, 's.')} FROM (${deduped}) AS s`;
}

/** Insert of every staged row in staging order (keyless replace_window). */
export function insertAllSql(target: string, source: string, seq: string, columns: string[]): string {
  return `INSERT INTO ${target} (${columnList(columns)}) SELECT ${columnList(columns, 's.')} FROM (${source}) AS s ORDER BY s.${quoteIdent(seq)}`;
}

/** Rows whose cursor lies in [$1, $2) (bounds from `windowBounds`, so no session zone is involved). */
export function deleteWindowSql(
  target: string,
  cursorColumn: string,
  cursorType: 'timestamp' | 'date',
): string {
  const c = quoteIdent(cursorColumn);
  const cast = cursorType === 'date' ? 'DATE' : 'TIMESTAMPTZ';
  return `DELETE FROM ${target} WHERE ${c} >= CAST($1 AS ${cast}) AND ${c} < CAST($2 AS ${cast})`;
}

/**
 * [from, to) as bind values for a cursor of `cursorType`. A day d is in the window when its UTC
 * midnight is, i.e. from ≤ d < to with both bounds rounded up to a whole day.
 */
export function windowBounds(
  window: { from: Date; to: Date },
  cursorType: 'timestamp' | 'date',
): [string, string] {
  if (cursorType === 'timestamp') return [window.from.toISOString(), window.to.toISOString()];
  const ceilDay = (d: Date) =>
    new Date(Math.ceil(d.getTime() / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
  return [ceilDay(window.from), ceilDay(window.to)];
}

/** Marks target rows whose key is absent from the staged rows `source` as deleted (snapshot). */
export function markVanishedSql(
  target: string,
  source: string,
  primaryKey: string[],
  deletedColumn: string,
): string {
  const match = primaryKey.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
  const del = quoteIdent(deletedColumn);
  return `UPDATE ${target} AS t SET ${del} = now() WHERE t.${del} IS NULL AND NOT EXISTS (SELECT 1 FROM (${source}) AS s WHERE ${match})`;
}

/** Audit columns that differ on every load by construction; they never make a row "changed". */
const AUDIT_STAMPS: ReadonlySet<string> = new Set([AUDIT_COLUMNS.loadedAt, AUDIT_COLUMNS.runId]);
