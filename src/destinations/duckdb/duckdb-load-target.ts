/**
 * The shape of a DuckDB load's target and history tables at commit: create them, add columns,
 * widen types (DECIMAL sized from the staged values, key columns of old tables by a rebuild).
 * Runs inside the commit transaction through its `run`, so all of it rolls back with the commit.
 * Split from duckdb-load.ts (one concept per file); behaviour unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ColumnSpec, Logger, TableSchema } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { readTable, type CatalogTable } from './duckdb-catalog.js';
import { columnList, createTableSql, qualified, quoteIdent, type Namespace } from './duckdb-sql.js';
import { select } from './duckdb-state.js';
import {
  cover,
  decimalTarget,
  intDigitsOf,
  nativeFor,
  widenUsing,
  type DecimalNeed,
  type NativeType,
} from './duckdb-types.js';

export const DELETED_AT = '_deleted_at';

/**
 * Aggregates giving the integer digits (no sign, no leading zeros) and fraction digits of the
 * largest staged values of the VARCHAR column `ref`; text that is not a plain decimal is left out
 * (its CAST fails the commit later instead of sizing the column).
 */
export function decimalNeedExprs(ref: string): [string, string] {
  const ok = `regexp_full_match(${ref}, '-?[0-9]+(\\.[0-9]+)?')`;
  return [
    `coalesce(max(CASE WHEN ${ok} THEN length(ltrim(split_part(ltrim(${ref}, '-'), '.', 1), '0')) END), 0)`,
    `coalesce(max(CASE WHEN ${ok} THEN length(split_part(${ref}, '.', 2)) END), 0)`,
  ];
}

/** Runs one statement of the commit transaction; resolves with the rows it changed. */
export type Run = (sql: string, params?: DuckDBValue[]) => Promise<number>;

export class TargetShaper {
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly ns: Namespace,
    private readonly log: Logger,
    /** The window's staged rows as VARCHAR columns: the staging table, or a subquery over the spool. */
    private readonly stageRef: string,
    /** Rows staged (0: nothing to size decimals from). */
    private readonly staged: number,
    /** Sizes already measured from the staged rows (the spool check); others are measured here. */
    private readonly measured?: ReadonlyMap<string, DecimalNeed>,
  ) {}

  /**
   * Creates the target or adds and widens its columns so every staged value fits, and returns
   * the native type of each schema column. Decimal columns are sized from the staged values.
   */
  async ensureTarget(
    run: Run,
    target: string,
    schema: TableSchema,
    snapshot: boolean,
  ): Promise<{ created: boolean; natives: Map<string, NativeType> }> {
    const existing = await readTable(this.conn, this.ns, schema.table);
    const have = new Map((existing?.columns ?? []).map((c) => [c.name, c as NativeType]));
    const needs = await this.decimalNeeds(schema, have);
    const natives = new Map<string, NativeType>();
    const added: Array<{ name: string; native: string }> = [];
    const widened: Array<{ name: string; from: NativeType; to: NativeType }> = [];
    for (const c of schema.columns) {
      const current = have.get(c.name);
      const need = needs.get(c.name) ?? { intDigits: 0, scale: 0 };
      if (!current) {
        const native = nativeFor(c.type, need);
        if (c.type === 'decimal' && native.logical === 'string')
          this.warnDecimalAsText(schema.table, c.name, need);
        natives.set(c.name, native);
        added.push({ name: c.name, native: native.native });
        continue;
      }
      if (current.logical === 'unknown') {
        natives.set(c.name, current); // a column someone else typed: cast into it, fail loudly if it does not fit
        continue;
      }
      const wanted = cover(current.logical, c.type);
      if (wanted === null) {
        throw new DestinationError(
          `${schema.table}.${c.name} is ${current.native} in the warehouse and cannot hold ${c.type} values (only widening is allowed)`,
        );
      }
      let next: NativeType;
      if (wanted === 'decimal') {
        const growsScale = need.scale > (current.scale ?? 0) || current.logical !== 'decimal';
        const existingInt = growsScale ? await this.existingIntDigits(target, c.name, current) : 0;
        next = decimalTarget(current, need, existingInt);
        if (next.logical === 'string')
          this.warnDecimalAsText(schema.table, c.name, {
            ...need,
            intDigits: Math.max(existingInt, need.intDigits),
          });
      } else {
        next = wanted === current.logical ? current : nativeFor(wanted);
      }
      natives.set(c.name, next);
      if (next.native !== current.native) widened.push({ name: c.name, from: current, to: next });
    }
    if (!existing) {
      const columns = snapshot ? [...added, { name: DELETED_AT, native: 'TIMESTAMPTZ' }] : added;
      await run(createTableSql(target, columns, schema.primaryKey));
      return { created: true, natives };
    }
    await this.widen(run, target, existing, widened, schema);
    for (const a of added) await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(a.name)} ${a.native}`);
    if (snapshot && !have.has(DELETED_AT))
      await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(DELETED_AT)} TIMESTAMPTZ`);
    return { created: false, natives };
  }

  /**
   * DuckDB cannot change the type of a PRIMARY KEY column in place ("Cannot change the type of a
   * column that has a UNIQUE or PRIMARY KEY constraint"). Tables are created without one now
   * (see createTableSql), but tables from earlier versions have it: those are rebuilt inside the
   * commit transaction: new table, copy with the widening casts, drop, rename. A crash or error
   * rolls all of it back with the rest of the commit.
   */
  /**
   * Widens columns in place (ALTER … TYPE … USING), or rebuilds the table when a key column
   * widens (key columns of tables created before the key index was dropped carry a constraint
   * ALTER cannot change). Shared by the target and its history table.
   */
  private async widen(
    run: Run,
    target: string,
    existing: Parameters<TargetShaper['rebuild']>[2],
    widened: Parameters<TargetShaper['rebuild']>[3],
    schema: TableSchema,
  ): Promise<void> {
    const keys = new Set(schema.primaryKey);
    if (widened.some((w) => keys.has(w.name))) {
      await this.rebuild(run, target, existing, widened, schema.primaryKey);
      return;
    }
    for (const w of widened) {
      const ref = quoteIdent(w.name);
      const using = widenUsing(ref, w.from, w.to);
      if (using === null)
        throw new DestinationError(
          `${schema.table}.${w.name}: cannot change ${w.from.native} to ${w.to.native}`,
        );
      await run(`ALTER TABLE ${target} ALTER COLUMN ${ref} TYPE ${w.to.native} USING ${using}`);
    }
  }

  private async rebuild(
    run: Run,
    target: string,
    existing: CatalogTable,
    widened: Array<{ name: string; from: NativeType; to: NativeType }>,
    primaryKey: string[],
  ): Promise<void> {
    const change = new Map(widened.map((w) => [w.name, w]));
    const tmpName = `_exportsync_rebuild_${randomBytes(6).toString('hex')}`;
    const tmp = qualified(this.ns, tmpName);
    const columns = existing.columns.map((c) => ({
      name: c.name,
      native: change.get(c.name)?.to.native ?? c.native,
    }));
    const exprs = existing.columns.map((c) => {
      const w = change.get(c.name);
      const ref = quoteIdent(c.name);
      if (!w) return ref;
      const using = widenUsing(ref, w.from, w.to);
      if (using === null)
        throw new DestinationError(
          `${existing.table}.${c.name}: cannot change ${w.from.native} to ${w.to.native}`,
        );
      return using;
    });
    this.log.info(
      { table: existing.table, columns: widened.map((w) => w.name) },
      'rebuilding table to widen key columns',
    );
    await run(createTableSql(tmp, columns, primaryKey));
    await run(
      `INSERT INTO ${tmp} (${columnList(columns.map((c) => c.name))}) SELECT ${exprs.join(', ')} FROM ${target}`,
    );
    await run(`DROP TABLE ${target}`);
    await run(`ALTER TABLE ${tmp} RENAME TO ${quoteIdent(existing.table)}`);
  }

  /** Integer and fraction digits of the staged values of every column that is or becomes decimal. */
  private async decimalNeeds(
    schema: TableSchema,
    have: Map<string, NativeType>,
  ): Promise<Map<string, DecimalNeed>> {
    const candidates = schema.columns.filter((c) => {
      const current = have.get(c.name);
      if (!current) return c.type === 'decimal';
      return current.logical !== 'unknown' && cover(current.logical, c.type) === 'decimal';
    });
    const needs = new Map<string, DecimalNeed>();
    if (candidates.length === 0 || this.staged === 0) return needs;
    const measured = this.measured;
    if (measured && candidates.every((c) => measured.has(c.name))) {
      for (const c of candidates) needs.set(c.name, measured.get(c.name)!);
      return needs;
    }
    const parts = candidates.flatMap((c, i) => {
      const [int, frac] = decimalNeedExprs(quoteIdent(c.name));
      return [`${int} AS i${i}`, `${frac} AS s${i}`];
    });
    const [row] = await select<Record<string, number>>(
      this.conn,
      `SELECT ${parts.join(', ')} FROM ${this.stageRef} AS s`,
    );
    candidates.forEach((c, i) =>
      needs.set(c.name, { intDigits: Number(row?.[`i${i}`] ?? 0), scale: Number(row?.[`s${i}`] ?? 0) }),
    );
    return needs;
  }

  /** Integer digits of the largest absolute value already in a numeric column. */
  private async existingIntDigits(target: string, column: string, current: NativeType): Promise<number> {
    if (current.logical === 'boolean') return 1;
    if (current.logical !== 'integer' && current.logical !== 'decimal') return 0;
    const ref = quoteIdent(column);
    const expr = current.logical === 'integer' ? `abs(CAST(${ref} AS HUGEINT))` : `abs(${ref})`;
    const [row] = await select<{ m: string | null }>(
      this.conn,
      `SELECT CAST(max(${expr}) AS VARCHAR) AS m FROM ${target}`,
    );
    return row?.m ? intDigitsOf(row.m) : 0;
  }

  private warnDecimalAsText(table: string, column: string, need: DecimalNeed): void {
    this.log.warn(
      { table, column, integerDigits: need.intDigits, fractionDigits: need.scale },
      'decimal values exceed DECIMAL(38): column stored as VARCHAR to keep them exact',
    );
  }

  /**
   * Creates the history table (returns true) with the target's native types, or brings it to
   * them: adds missing columns and widens narrower ones (key columns by a rebuild, as the target).
   * A history column already wider than the target's (it cannot get narrower) is left as it is.
   */
  async ensureHistory(
    run: Run,
    target: string,
    history: TableSchema,
    natives: Map<string, NativeType>,
  ): Promise<boolean> {
    const want = (c: ColumnSpec) => natives.get(c.name) ?? nativeFor(c.type);
    const existing = await readTable(this.conn, this.ns, history.table);
    if (!existing) {
      const columns = history.columns.map((c) => ({ name: c.name, native: want(c).native }));
      await run(createTableSql(target, columns, history.primaryKey));
      return true;
    }
    const have = new Map(existing.columns.map((c) => [c.name, c as NativeType]));
    const added: Array<{ name: string; native: string }> = [];
    const widened: Array<{ name: string; from: NativeType; to: NativeType }> = [];
    for (const c of history.columns) {
      const to = want(c);
      const from = have.get(c.name);
      if (!from) {
        added.push({ name: c.name, native: to.native });
        continue;
      }
      if (from.native === to.native || from.logical === 'unknown' || to.logical === 'unknown') continue;
      const covering = cover(from.logical, to.logical);
      const alreadyWider =
        covering === from.logical &&
        (from.logical !== 'decimal' || to.logical !== 'decimal' || (from.scale ?? 0) >= (to.scale ?? 0));
      if (alreadyWider) continue;
      widened.push({ name: c.name, from, to });
    }
    await this.widen(run, target, existing, widened, history);
    for (const a of added) await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(a.name)} ${a.native}`);
    return false;
  }
}
