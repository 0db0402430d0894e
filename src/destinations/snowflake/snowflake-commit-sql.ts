/**
 * SQL text of a window's commit. The staged VARCHAR rows are first typed and DEDUPLICATED into a
 * second temporary table (one row per key: latest cursor, then latest staged), because Snowflake's
 * MERGE fails with "Duplicate row detected" — or, with ERROR_ON_NONDETERMINISTIC_MERGE off, picks
 * an arbitrary row — when two source rows match one target row. Every later statement reads that
 * typed table. Identifiers are quoted, values bound (`?`): the run id is the only bind here.
 */
import { AUDIT_COLUMNS, type ColumnSpec, type LogicalType, type TableSchema } from '../../core/contracts.js';
import { DELETED_AT } from './snowflake-ddl.js';
import { SEQ } from './snowflake-stage.js';
import { boundCast, columnList, qualified, quoteIdent } from './snowflake-sql.js';
import { castFromText, type NativeType } from './snowflake-types.js';

/** Audit columns that differ on every load; they never make a row "changed". */
const AUDIT_STAMPS: ReadonlySet<string> = new Set([AUDIT_COLUMNS.loadedAt, AUDIT_COLUMNS.runId]);

export interface TypedOptions {
  schemaName: string;
  staging: string;
  typed: string;
  schema: TableSchema;
  /** Native type of each column in the target (decimals with their scale). */
  natives: ReadonlyMap<string, NativeType>;
  stagedTypes: ReadonlyMap<string, ReadonlySet<LogicalType>>;
  dedupe: boolean;
}

/** Typed expression of staged column `c` (audit columns filled: commit time, run id = bind 1). */
function typedExpr(c: ColumnSpec, o: TypedOptions): string {
  const ref = `s.${quoteIdent(c.name)}`;
  const native = o.natives.get(c.name) ?? { logical: 'string', native: 'VARCHAR' };
  const cast = castFromText(ref, native, o.stagedTypes.get(c.name) ?? new Set([c.type]));
  if (c.name === AUDIT_COLUMNS.loadedAt && c.type === 'timestamp')
    return `COALESCE(${cast}, CURRENT_TIMESTAMP)`;
  if (c.name === AUDIT_COLUMNS.runId && c.type === 'string') return `COALESCE(${cast}, CAST(? AS VARCHAR))`;
  return cast;
}

/** CREATE OR REPLACE TEMPORARY TABLE typed AS the staged rows, typed and (with a key) deduplicated. */
export function typedTableSql(o: TypedOptions): string {
  const exprs = new Map(o.schema.columns.map((c) => [c.name, typedExpr(c, o)]));
  const select = o.schema.columns.map((c) => `${exprs.get(c.name)!} AS ${quoteIdent(c.name)}`);
  select.push(`s.${quoteIdent(SEQ)} AS ${quoteIdent(SEQ)}`);
  let sql = `CREATE OR REPLACE TEMPORARY TABLE ${qualified(o.schemaName, o.typed)} AS SELECT ${select.join(', ')} FROM ${qualified(o.schemaName, o.staging)} s`;
  if (o.dedupe && o.schema.primaryKey.length > 0) {
    const keys = o.schema.primaryKey.map((k) => exprs.get(k)!).join(', ');
    const cursor = exprs.get(o.schema.cursorColumn)!;
    sql += ` QUALIFY ROW_NUMBER() OVER (PARTITION BY ${keys} ORDER BY ${cursor} DESC NULLS LAST, s.${quoteIdent(SEQ)} DESC) = 1`;
  }
  return sql;
}

/** Upsert of the typed rows; unchanged rows are not rewritten (they keep their audit stamps). */
export function mergeSql(target: string, typed: string, schema: TableSchema, snapshot: boolean): string {
  const keys = new Set(schema.primaryKey);
  const on = schema.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const nonKey = schema.columns.filter((c) => !keys.has(c.name));
  const changed = nonKey
    .filter((c) => !AUDIT_STAMPS.has(c.name))
    .map((c) => `t.${quoteIdent(c.name)} IS DISTINCT FROM s.${quoteIdent(c.name)}`);
  const set = nonKey.map((c) => `${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`);
  if (snapshot) {
    changed.push(`t.${quoteIdent(DELETED_AT)} IS NOT NULL`);
    set.push(`${quoteIdent(DELETED_AT)} = NULL`);
  }
  const matched =
    set.length > 0 && changed.length > 0
      ? `WHEN MATCHED AND (${changed.join(' OR ')}) THEN UPDATE SET ${set.join(', ')} `
      : '';
  return (
    `MERGE INTO ${target} t USING ${typed} s ON ${on} ${matched}` +
    `WHEN NOT MATCHED THEN INSERT (${columnList(schema.columns)}) VALUES (${columnList(schema.columns, 's.')})`
  );
}

/** Every typed row in staging order (replace_window, history). */
export function insertAllSql(target: string, typed: string, columns: ColumnSpec[]): string {
  return `INSERT INTO ${target} (${columnList(columns)}) SELECT ${columnList(columns, 's.')} FROM ${typed} s ORDER BY s.${quoteIdent(SEQ)}`;
}

/** Rows whose cursor lies in [?, ?). */
export function deleteWindowSql(
  target: string,
  cursorColumn: string,
  cursorType: 'timestamp' | 'date',
): string {
  const c = quoteIdent(cursorColumn);
  return `DELETE FROM ${target} WHERE ${c} >= ${boundCast(cursorType)} AND ${c} < ${boundCast(cursorType)}`;
}

/** Snapshot: target keys absent from this snapshot get `_deleted_at` (once). */
export function markVanishedSql(target: string, typed: string, primaryKey: string[]): string {
  const k = primaryKey.map(quoteIdent);
  const join = k.map((c) => `s.${c} = o.${c}`).join(' AND ');
  const on = k.map((c) => `t.${c} = v.${c}`).join(' AND ');
  const del = quoteIdent(DELETED_AT);
  return (
    `MERGE INTO ${target} t USING (SELECT ${k.map((c) => `o.${c}`).join(', ')} FROM ${target} o ` +
    `LEFT JOIN ${typed} s ON ${join} WHERE s.${k[0]!} IS NULL AND o.${del} IS NULL) v ON ${on} ` +
    `WHEN MATCHED THEN UPDATE SET ${del} = CURRENT_TIMESTAMP`
  );
}

/** Count and first (in staging order) of staged rows whose key has a NULL. */
export function nullKeySql(typed: string, primaryKey: string[]): string {
  const cond = primaryKey.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ');
  return `SELECT COUNT(*) FROM ${typed} WHERE ${cond}`;
}

/** Count of staged rows whose cursor is NULL or outside [?, ?), and the first one's staged text. */
export function outsideWindowSql(
  staging: string,
  cursorColumn: string,
  cursorType: 'timestamp' | 'date',
): string {
  const raw = quoteIdent(cursorColumn);
  const typed = `CAST(${raw} AS ${cursorType === 'date' ? 'DATE' : 'TIMESTAMP_TZ'})`;
  const outside = `${raw} IS NULL OR ${typed} < ${boundCast(cursorType)} OR ${typed} >= ${boundCast(cursorType)}`;
  return (
    `SELECT COUNT(*), (SELECT COALESCE(${raw}, 'NULL') FROM ${staging} WHERE ${outside} ORDER BY ${quoteIdent(SEQ)} LIMIT 1) ` +
    `FROM ${staging} WHERE ${outside}`
  );
}

/** Integer and fraction digits the staged values of each decimal column need (one row). */
export function decimalNeedsSql(staging: string, columns: string[]): string {
  const parts = columns.flatMap((name) => {
    const c = quoteIdent(name);
    const numeric = `CASE WHEN ${c} NOT IN ('true', 'false') THEN ${c} END`;
    return [
      `COALESCE(MAX(LENGTH(LTRIM(SPLIT_PART(LTRIM(${numeric}, '-'), '.', 1), '0'))), 0)`,
      `COALESCE(MAX(LENGTH(SPLIT_PART(${numeric}, '.', 2))), 0)`,
    ];
  });
  return `SELECT ${parts.join(', ')} FROM ${staging}`;
}
