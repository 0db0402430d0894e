/**
 * GoogleSQL text for the BigQuery destination. Identifiers are always backtick-quoted here and
 * values are never spliced in: builders return text with @named parameters. A builder that forgets
 * to quote breaks on the first column named `select`; one that splices a value is an injection.
 */
import type { ColumnSpec, Window } from '../../core/contracts.js';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';

/** Column names: letters, digits, underscore, at most 300 characters, case-insensitive. */
export const MAX_IDENTIFIER_LENGTH = 300;
/** A table may have at most 10,000 columns. */
export const MAX_COLUMNS = 10_000;
export const SEQ = '_exportsync_seq';
export const DELETED_AT = '_deleted_at';

export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > 1024) {
    throw new DestinationError(
      `invalid BigQuery identifier ${JSON.stringify(name)} (letters, digits and underscores only)`,
    );
  }
  return `\`${name}\``;
}

/** `dataset`.`table`; jobs run in the dataset's project, so no project part is needed. */
export function tableRef(dataset: string, table: string): string {
  return `${quoteIdent(dataset)}.${quoteIdent(table)}`;
}

export function columnList(names: string[], prefix = ''): string {
  return names.map((n) => prefix + quoteIdent(n)).join(', ');
}

/** Audit values a commit fills: NULL loaded-at → the statement time, NULL run id → @run_id. */
export function withAuditFill(name: string, expr: string, bqType: string): string {
  if (name === AUDIT_COLUMNS.loadedAt && bqType === 'TIMESTAMP')
    return `COALESCE(${expr}, CURRENT_TIMESTAMP())`;
  if (name === AUDIT_COLUMNS.runId && bqType === 'STRING') return `COALESCE(${expr}, @run_id)`;
  return expr;
}

/** Audit columns that differ on every load by construction; they never make a row "changed". */
export const AUDIT_STAMPS: ReadonlySet<string> = new Set([AUDIT_COLUMNS.loadedAt, AUDIT_COLUMNS.runId]);

/**
 * The staged rows deduplicated per key: the latest cursor wins, then the latest staged. `typed`
 * is a SELECT of the typed columns plus SEQ.
 */
export function dedupedSql(typed: string, names: string[], primaryKey: string[], cursor: string): string {
  const order = `${quoteIdent(cursor)} DESC NULLS LAST, ${quoteIdent(SEQ)} DESC`;
  return (
    `SELECT ${columnList(names)} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${columnList(primaryKey)} ` +
    `ORDER BY ${order}) AS _exportsync_rn FROM (${typed})) WHERE _exportsync_rn = 1`
  );
}

/**
 * MERGE of deduplicated staged rows on the key. A matched row whose data (every column but the
 * key and the audit stamps) is unchanged is not rewritten, so a re-read lookback costs a scan,
 * not a rewrite. JSON has no equality in BigQuery: it is compared as its JSON text.
 */
export function mergeSql(opts: {
  target: string;
  source: string;
  columns: ColumnSpec[];
  jsonColumns: ReadonlySet<string>;
  primaryKey: string[];
  snapshot: boolean;
}): string {
  const names = opts.columns.map((c) => c.name);
  const keys = new Set(opts.primaryKey);
  const on = opts.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const nonKey = names.filter((n) => !keys.has(n));
  const sets = nonKey.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`);
  const changed = nonKey
    .filter((n) => !AUDIT_STAMPS.has(n))
    .map((n) => {
      const [a, b] = opts.jsonColumns.has(n)
        ? [`TO_JSON_STRING(t.${quoteIdent(n)})`, `TO_JSON_STRING(s.${quoteIdent(n)})`]
        : [`t.${quoteIdent(n)}`, `s.${quoteIdent(n)}`];
      return `${a} IS DISTINCT FROM ${b}`;
    });
  if (opts.snapshot) {
    sets.push(`${quoteIdent(DELETED_AT)} = NULL`);
    changed.push(`t.${quoteIdent(DELETED_AT)} IS NOT NULL`);
  }
  const matched =
    sets.length > 0 && changed.length > 0
      ? ` WHEN MATCHED AND (${changed.join(' OR ')}) THEN UPDATE SET ${sets.join(', ')}`
      : '';
  return (
    `MERGE INTO ${opts.target} AS t USING (${opts.source}) AS s ON ${on}${matched}` +
    ` WHEN NOT MATCHED THEN INSERT (${columnList(names)}) VALUES (${columnList(names, 's.')})`
  );
}

/** Rows whose cursor lies in [@window_from, @window_to). */
export function windowPredicate(cursor: string, alias = ''): string {
  const c = `${alias}${quoteIdent(cursor)}`;
  return `${c} >= @window_from AND ${c} < @window_to`;
}

/**
 * [from, to) as parameter values for a cursor of `type`. For a DATE cursor a day d is in the
 * window when its UTC midnight is, i.e. from ≤ d < to with both bounds rounded up to a whole day.
 */
export function windowParams(window: Window, type: 'timestamp' | 'date'): { from: string; to: string } {
  if (type === 'timestamp') return { from: window.from.toISOString(), to: window.to.toISOString() };
  const ceilDay = (d: Date) =>
    new Date(Math.ceil(d.getTime() / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
  return { from: ceilDay(window.from), to: ceilDay(window.to) };
}
