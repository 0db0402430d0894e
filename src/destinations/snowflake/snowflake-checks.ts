/**
 * Checks on a load's staged rows before its commit changes anything (no DDL, no DML yet):
 *   - replace_window and history only replace rows inside the window, so a staged cursor outside
 *     it (or NULL) would never be replaced by a re-run and would double: refused with a DataError;
 *   - a decimal column must hold every staged value without rounding: its scale is sized from the
 *     data (never below the table's), and values needing more than 38 digits are refused.
 */
import type { TableSchema, Window } from '../../core/contracts.js';
import { DataError } from '../../core/errors.js';
import { readCatalogTable } from './snowflake-catalog.js';
import { decimalNeedsSql, outsideWindowSql } from './snowflake-commit-sql.js';
import { windowBounds } from './snowflake-sql.js';
import type { Run } from './snowflake-state.js';
import { MAX_PRECISION } from './snowflake-types.js';

export interface StagedRef {
  run: Run;
  /** Qualified staging table. */
  staging: string;
  schemaName: string;
  streamKey: string;
}

export async function assertCursorsInWindow(
  s: StagedRef,
  schema: TableSchema,
  cursorType: 'timestamp' | 'date',
  window: Window,
  why: string,
): Promise<void> {
  const [from, to] = windowBounds(window, cursorType);
  const { rows } = await s.run(outsideWindowSql(s.staging, schema.cursorColumn, cursorType), [
    from,
    to,
    from,
    to,
  ]);
  const n = Number(rows[0]?.[0] ?? 0);
  if (n === 0) return;
  throw new DataError(
    `${s.streamKey}: ${n} staged row(s) have ${schema.cursorColumn} outside the window ` +
      `[${from}, ${to}) (first: ${String(rows[0]?.[1] ?? 'NULL')}); ${why} only replaces rows ` +
      `inside the window, so a re-run would double them (nothing committed)`,
    { stream: s.streamKey, field: schema.cursorColumn },
  );
}

/** Scale each decimal column needs: max(table's scale, staged fraction digits); ≤ 38 digits. */
export async function decimalScales(
  s: StagedRef,
  schema: TableSchema,
  staged: number,
): Promise<Map<string, number>> {
  const decimals = schema.columns.filter((c) => c.type === 'decimal').map((c) => c.name);
  const scales = new Map<string, number>();
  if (decimals.length === 0) return scales;
  const table = await readCatalogTable(s.run, s.schemaName, schema.table);
  const { rows } = staged > 0 ? await s.run(decimalNeedsSql(s.staging, decimals)) : { rows: [[]] };
  decimals.forEach((name, i) => {
    const intDigits = Number(rows[0]?.[2 * i] ?? 0);
    const current = table?.columns.find((c) => c.name === name)?.native;
    const scale = Math.max(
      Number(rows[0]?.[2 * i + 1] ?? 0),
      current?.logical === 'decimal' ? (current.scale ?? 0) : 0,
    );
    if (intDigits + scale > MAX_PRECISION) {
      throw new DataError(
        `${s.streamKey}: ${schema.table}.${name} needs ${intDigits} integer and ${scale} fraction digits, ` +
          `more than NUMBER(38,s) holds; nothing committed (rounding would change values)`,
        { stream: s.streamKey, field: name },
      );
    }
    scales.set(name, scale);
  });
  return scales;
}
