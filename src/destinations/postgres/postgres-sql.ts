/**
 * SQL text builders for the Postgres destination. Identifiers are always quoted here and values
 * are never spliced in: every builder returns text with $n placeholders. A builder that forgets
 * to quote breaks on the first column named `select`; one that splices a value is an injection.
 */
import type { ColumnSpec, TableSchema } from '../../core/contracts.js';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { nativeType } from './postgres-types.js';

/** Postgres silently truncates longer identifiers, which would make two columns collide. */
export const MAX_IDENTIFIER_BYTES = 63;

export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new DestinationError(`invalid identifier ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new DestinationError(`identifier longer than ${MAX_IDENTIFIER_BYTES} bytes: ${name}`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function columnList(columns: Array<{ name: string }>, prefix = ''): string {
  return columns.map((c) => prefix + quoteIdent(c.name)).join(', ');
}

export function createTableSql(target: string, schema: TableSchema, extraColumns: string[] = []): string {
  const defs = schema.columns.map((c) => `${quoteIdent(c.name)} ${nativeType(c.type)}`);
  defs.push(...extraColumns);
  if (schema.primaryKey.length > 0)
    defs.push(`PRIMARY KEY (${schema.primaryKey.map(quoteIdent).join(', ')})`);
  return `CREATE TABLE ${target} (${defs.join(', ')})`;
}

/**
 * The staged value of each column as inserted into the target: NULL audit columns are filled
 * with the commit time (`now()`, one instant per transaction) and the load's run id ($1).
 */
export function insertExpressions(columns: ColumnSpec[], alias: string): string[] {
  return columns.map((c) => {
    const ref = `${alias}.${quoteIdent(c.name)}`;
    if (c.name === AUDIT_COLUMNS.loadedAt && c.type === 'timestamp') return `COALESCE(${ref}, now())`;
    if (c.name === AUDIT_COLUMNS.runId && c.type === 'string') return `COALESCE(${ref}, $1::text)`;
    return ref;
  });
}

/**
 * A key column as the dedupe sorts and groups it: text in the "C" collation, other types as they
 * are (a collation on them is an error). Grouping is unchanged, since equality under any
 * deterministic collation (every database default; staging columns take it) is byte equality,
 * but the sort compares bytes with abbreviated keys instead of calling the locale's collation per
 * comparison: 4–10 % of a first load's server CPU (bench/results/postgres-load.md). The insert
 * then runs in byte order, the order of a text key's btree in C / C.UTF-8 databases (page
 * locality). A collation that grouped other than by bytes would merge keys the target keeps apart.
 */
function dedupeKey(column: ColumnSpec | undefined, name: string): string {
  return column?.type === 'string' ? `${quoteIdent(name)} COLLATE pg_catalog."C"` : quoteIdent(name);
}

/**
 * Upsert of the staged rows, deduplicated first (Postgres refuses to touch a row twice in one
 * INSERT … ON CONFLICT): per key the latest cursor wins, then the latest staged (`seqColumn`).
 * A row whose data (every column but loaded-at and run-id) is unchanged is not rewritten, so
 * re-reading a lookback window costs reads, not a rewrite of the table; its audit columns keep
 * the run that last changed it. `onConflict` false gives a plain insert of the deduplicated rows:
 * right only where no staged key can be in the target (a table created in this transaction), or
 * run under a savepoint whose unique_violation sends the caller to the ON CONFLICT form.
 * Parameter $1: the run id.
 */
export function mergeSql(opts: {
  target: string;
  staging: string;
  seqColumn: string;
  schema: TableSchema;
  onConflict: boolean;
  /** Extra SET clauses on update (snapshot: un-delete). */
  extraSet?: string[];
  /** Extra condition (OR-ed) under which an unchanged row is still updated (snapshot: it was deleted). */
  extraChanged?: string;
}): string {
  const { schema } = opts;
  const pk = schema.primaryKey.map(quoteIdent).join(', ');
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  const key = schema.primaryKey.map((k) => dedupeKey(byName.get(k), k)).join(', ');
  const order = `${key}, ${quoteIdent(schema.cursorColumn)} DESC NULLS LAST, ${quoteIdent(opts.seqColumn)} DESC`;
  const deduped = `SELECT DISTINCT ON (${key}) * FROM ${opts.staging} ORDER BY ${order}`;
  let sql = `INSERT INTO ${opts.target} AS t (${columnList(schema.columns)}) SELECT ${insertExpressions(schema.columns, 's').join(', ')} FROM (${deduped}) s`;
  if (opts.onConflict) {
    const keys = new Set(schema.primaryKey);
    const nonKey = schema.columns.filter((c) => !keys.has(c.name));
    const sets = nonKey.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
    sets.push(...(opts.extraSet ?? []));
    const data = nonKey.filter((c) => !AUDIT_STAMPS.has(c.name));
    const changed =
      data.length > 0
        ? [`(${columnList(data, 't.')}) IS DISTINCT FROM (${columnList(data, 'EXCLUDED.')})`]
        : [];
    if (opts.extraChanged) changed.push(opts.extraChanged);
    const where = changed.length > 0 ? ` WHERE ${changed.join(' OR ')}` : '';
    sql += ` ON CONFLICT (${pk}) DO ${sets.length > 0 && where ? `UPDATE SET ${sets.join(', ')}${where}` : 'NOTHING'}`;
  }
  return sql;
}

/**
 * Whether a key of the first `$1` staged rows (as a scan of staging returns them: staging order)
 * is in the target already: one index probe per row. It only steers the commit between the plain
 * insert and the ON CONFLICT merge (a window re-read for its lookback has its keys in the target
 * from the first row on, and its plain insert would sort the whole window only to fail); it never
 * decides correctness, so a sample that misses a key costs a failed insert, not a wrong row.
 */
export function stagedKeyInTargetSql(target: string, staging: string, primaryKey: string[]): string {
  const match = primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  return `SELECT EXISTS (SELECT FROM (SELECT ${primaryKey.map(quoteIdent).join(', ')} FROM ${staging} LIMIT $1) s JOIN ${target} t ON ${match}) AS found`;
}

/** Audit columns that differ on every load by construction; they never make a row "changed". */
const AUDIT_STAMPS: ReadonlySet<string> = new Set([AUDIT_COLUMNS.loadedAt, AUDIT_COLUMNS.runId]);

/** Insert of every staged row in staging order (replace_window without a key). $1: the run id. */
export function insertAllSql(
  target: string,
  staging: string,
  seqColumn: string,
  columns: ColumnSpec[],
): string {
  return `INSERT INTO ${target} (${columnList(columns)}) SELECT ${insertExpressions(columns, 's').join(', ')} FROM ${staging} s ORDER BY s.${quoteIdent(seqColumn)}`;
}

/**
 * Rows whose cursor lies in [$1, $2). Bounds are bound as the cursor's own type (see
 * `windowBounds`) so an index on the cursor is usable and no session time zone is involved.
 */
export function deleteWindowSql(
  target: string,
  cursorColumn: string,
  cursorType: 'timestamp' | 'date',
): string {
  const c = quoteIdent(cursorColumn);
  const cast = cursorType === 'date' ? 'date' : 'timestamptz';
  return `DELETE FROM ${target} WHERE ${c} >= $1::${cast} AND ${c} < $2::${cast}`;
}

/**
 * [from, to) as bind values for a cursor of `cursorType`. For a date cursor a day d is in the
 * window when its UTC midnight is, i.e. from ≤ d < to with both bounds rounded up to a whole day.
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

/** Marks target rows whose key is absent from staging as deleted (snapshot). */
export function markVanishedSql(
  target: string,
  staging: string,
  primaryKey: string[],
  deletedColumn: string,
): string {
  const match = primaryKey.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
  const del = quoteIdent(deletedColumn);
  return `UPDATE ${target} t SET ${del} = now() WHERE t.${del} IS NULL AND NOT EXISTS (SELECT 1 FROM ${staging} s WHERE ${match})`;
}
