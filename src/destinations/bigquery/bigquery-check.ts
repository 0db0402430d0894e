/**
 * One scan of the staging table before the commit transaction, so a bad window fails with a
 * message that names its row instead of an anonymous cast error halfway through a MERGE:
 * - a NULL key column (a MERGE would insert the row again on every run: doubled data),
 * - a value that is not valid for its column's type (the mapper's canonical form was broken),
 * - for replace_window and history, a cursor outside the window or NULL (a re-run of its own
 *   window could never replace the row, so it would be doubled).
 * Staging is private to the load and immutable by now, so the check holds for the commit.
 */
import type { LogicalType, TableSchema, Window } from '../../core/contracts.js';
import { DataError, DestinationError } from '../../core/errors.js';
import { stringParam, type BqClient, type Params } from './bigquery-client.js';
import { quoteIdent, SEQ, windowParams } from './bigquery-sql.js';
import { castStaged, type BqType } from './bigquery-types.js';

export interface CheckInput {
  client: BqClient;
  staging: string;
  stagedColumns: ReadonlySet<string>;
  schema: TableSchema;
  natives: ReadonlyMap<string, BqType>;
  stagedTypes: ReadonlyMap<string, ReadonlySet<LogicalType>>;
  /** Set for replace_window and history: the window staged cursors must lie in. */
  window?: { window: Window; why: string };
  streamKey: string;
}

interface Check {
  bad: string;
  fail: (n: number, seq: string, value: string | null) => Error;
}

export async function checkStaged(input: CheckInput): Promise<void> {
  const { schema, streamKey } = input;
  const staged = (name: string) =>
    input.stagedColumns.has(name) ? `s.${quoteIdent(name)}` : 'CAST(NULL AS STRING)';
  const checks: Array<Check & { column: string }> = [];
  for (const k of schema.primaryKey) {
    checks.push({
      column: k,
      bad: `${staged(k)} IS NULL`,
      fail: (n, seq) =>
        new DestinationError(
          `${streamKey}: ${n} staged row(s) have a NULL key column ${k} (first: staged row ${seq}); nothing committed`,
        ),
    });
  }
  for (const c of schema.columns) {
    const native = input.natives.get(c.name) ?? 'STRING';
    if (native === 'STRING' || !input.stagedColumns.has(c.name)) continue;
    const types = input.stagedTypes.get(c.name) ?? new Set([c.type]);
    checks.push({
      column: c.name,
      bad: `${staged(c.name)} IS NOT NULL AND ${castStaged(staged(c.name), native, types, true)} IS NULL`,
      fail: (n, seq, value) =>
        new DataError(
          `${streamKey}: staged row ${seq} has ${c.name} = ${JSON.stringify(truncate(value))}, not a valid ${native} ` +
            `(${n} row(s) like it in the window); nothing committed`,
          { stream: streamKey, field: c.name, line: Number(seq) },
        ),
    });
  }
  const params: Params = {};
  if (input.window) {
    const cursor = schema.cursorColumn;
    const native = input.natives.get(cursor) === 'DATE' ? 'DATE' : 'TIMESTAMP';
    const bounds = windowParams(input.window.window, native === 'DATE' ? 'date' : 'timestamp');
    params.check_from = { type: native, value: bounds.from };
    params.check_to = { type: native, value: bounds.to };
    const typed = castStaged(staged(cursor), native, input.stagedTypes.get(cursor) ?? new Set(), true);
    const why = input.window.why;
    checks.push({
      column: cursor,
      bad: `(${typed} IS NULL OR ${typed} < @check_from OR ${typed} >= @check_to)`,
      fail: (n, _seq, value) =>
        new DataError(
          `${streamKey}: ${n} staged row(s) have ${cursor} outside the window [${bounds.from}, ${bounds.to}) ` +
            `(first: ${value ?? 'NULL'}); ${why} only replaces rows inside the window, so a re-run would double them (nothing committed)`,
          { stream: streamKey, field: cursor },
        ),
    });
  }
  if (checks.length === 0) return;
  const table = `${quoteIdent(input.client.dataset)}.${quoteIdent(input.staging)}`;
  const parts = checks.map(
    (c, i) =>
      `CAST(COUNTIF(${c.bad}) AS STRING) AS n${i}, CAST(MIN(IF(${c.bad}, s.${quoteIdent(SEQ)}, NULL)) AS STRING) AS f${i}`,
  );
  const [row] = await input.client.query(
    `SELECT ${parts.join(', ')} FROM ${table} AS s`,
    params,
    `checking the staged rows of ${streamKey}`,
  );
  for (const [i, c] of checks.entries()) {
    const n = Number(row?.[`n${i}`] ?? 0);
    if (n === 0) continue;
    const seq = row?.[`f${i}`] ?? '?';
    const [first] = await input.client.query(
      `SELECT ${staged(c.column)} AS v FROM ${table} AS s WHERE s.${quoteIdent(SEQ)} = CAST(@seq AS INT64)`,
      { seq: stringParam(seq) },
      `reading staged row ${seq} of ${streamKey}`,
    );
    throw c.fail(n, seq, first?.v ?? null);
  }
}

function truncate(value: string | null): string | null {
  return value !== null && value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
