/**
 * One window of one stream. Rows are staged as CSV files (duckdb-staging.ts) and loaded by
 * `read_csv` into a TEMP staging table of VARCHAR columns (values are canonical text, so nothing
 * is parsed in Node) on the load's own connection when the window commits; `commit` then, in ONE
 * transaction: brings the target to the schema (create, add, widen), casts
 * the staged text to the native types in SQL, applies the write mode, and writes the column map
 * and the state. Nothing is visible before COMMIT and a failure rolls all of it back; a process
 * killed before COMMIT leaves nothing (TEMP data dies with the connection, the WAL has no commit
 * record). If state were written outside this transaction a crash would lose or double rows.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type {
  ColumnSpec,
  CommitRequest,
  CommitResult,
  Load,
  LoadRequest,
  Logger,
  LogicalType,
  Row,
  TableSchema,
} from '../../core/contracts.js';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { DestinationError, errorMessage } from '../../core/errors.js';
import { readTable, type CatalogTable } from './duckdb-catalog.js';
import { connect, disconnect, type SharedDatabase } from './duckdb-database.js';
import { classifyDuckDbError } from './duckdb-errors.js';
import {
  columnList,
  createTableSql,
  deleteWindowSql,
  insertAllSql,
  insertDedupedSql,
  markVanishedSql,
  MAX_IDENTIFIER_LENGTH,
  mergeSql,
  qualified,
  quoteIdent,
  windowBounds,
  type Namespace,
} from './duckdb-sql.js';
import { historyKey, historyTableName } from '../history.js';
import { assertCursorsInWindow } from './duckdb-history.js';
import { upsertWindow } from './duckdb-ledger.js';
import { select, upsertColumnMap, upsertState } from './duckdb-state.js';
import {
  castFromText,
  cover,
  decimalTarget,
  intDigitsOf,
  nativeFor,
  widenUsing,
  type DecimalNeed,
  type NativeType,
} from './duckdb-types.js';
import { assertRowsFit, validateSchema } from '../load-checks.js';
import { CsvStaging } from './duckdb-staging.js';

const SEQ = '_exportsync_seq';
const STAGE = '_exportsync_stage';
const STAGE_REF = `temp.main.${quoteIdent(STAGE)}`;
export const DELETED_AT = '_deleted_at';

type Run = (sql: string, params?: DuckDBValue[]) => Promise<number>;

export class DuckDbLoad implements Load {
  private stagedColumns: ColumnSpec[] = [];
  /** Logical types each column's rows were staged under (a column may widen mid-load). */
  private readonly stagedTypes = new Map<string, Set<LogicalType>>();
  private readonly staging = new CsvStaging();
  private done = false;
  private broken: unknown;

  private constructor(
    private readonly db: SharedDatabase,
    private readonly conn: DuckDBConnection,
    private readonly ns: Namespace,
    private readonly request: LoadRequest,
    private readonly log: Logger,
  ) {}

  static async begin(
    db: SharedDatabase,
    ns: Namespace,
    request: LoadRequest,
    log: Logger,
  ): Promise<DuckDbLoad> {
    let conn: DuckDBConnection | undefined;
    const sql = `CREATE TEMP TABLE ${STAGE_REF} (${[`${quoteIdent(SEQ)} BIGINT`, ...request.schema.columns.map((c) => `${quoteIdent(c.name)} VARCHAR`)].join(', ')})`;
    try {
      conn = await connect(db);
      await conn.run(sql);
    } catch (err) {
      if (conn) disconnect(db, conn);
      throw classifyDuckDbError(err, `begin load of ${request.streamKey}`, { path: db.path, statement: sql });
    }
    const load = new DuckDbLoad(db, conn, ns, request, log);
    load.stagedColumns = request.schema.columns.map((c) => ({ ...c }));
    return load;
  }

  async write(rows: Row[], schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertRowsFit(this.request.streamKey, rows, schema);
    await this.followSchema(schema);
    if (rows.length === 0) return;
    for (const c of schema.columns) {
      let types = this.stagedTypes.get(c.name);
      if (!types) this.stagedTypes.set(c.name, (types = new Set()));
      types.add(c.type);
    }
    try {
      await this.staging.write(
        rows,
        this.stagedColumns.map((c) => c.name),
      );
    } catch (err) {
      // a file write failed midway: what is staged is unknown, this load can only be aborted
      this.broken = err;
      throw new DestinationError(`staging rows of ${this.request.streamKey}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  private get staged(): number {
    return this.staging.rows;
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    this.assertUsable();
    const { schema } = request;
    validateSchema(schema, request.mode);
    if (request.history && request.mode !== 'snapshot') {
      throw new DestinationError(
        `${this.request.streamKey}: history is only kept for snapshot streams, not ${request.mode}`,
      );
    }
    await this.followSchema(schema);
    const conn = this.conn;
    try {
      await this.staging.load(conn, STAGE_REF, SEQ);
    } catch (err) {
      this.broken = err;
      throw classifyDuckDbError(err, `loading the staged rows of ${this.request.streamKey}`, {
        path: this.db.path,
      });
    }
    const cursorType =
      schema.columns.find((c) => c.name === schema.cursorColumn)?.type === 'date' ? 'date' : 'timestamp';
    const history = request.history
      ? {
          ...schema,
          table: historyTableName(schema.table, MAX_IDENTIFIER_LENGTH),
          primaryKey: historyKey(schema),
        }
      : undefined;
    let statement = 'check staged cursors against the window';
    let inTransaction = false;
    const run: Run = async (sql, params = []) => {
      statement = sql;
      return (await conn.run(sql, params)).rowsChanged;
    };
    const result = await this.db.writes.run(async () => {
      try {
        if (this.staged > 0 && (request.mode === 'replace_window' || history)) {
          await assertCursorsInWindow(conn, {
            stage: STAGE_REF,
            seq: SEQ,
            schema,
            cursorType,
            stagedTypes: this.stagedTypes.get(schema.cursorColumn) ?? new Set([cursorType]),
            window: request.window,
            streamKey: this.request.streamKey,
            why: history ? 'the snapshot history' : 'replace_window',
          });
        }
        inTransaction = true;
        await run('BEGIN TRANSACTION');
        const target = qualified(this.ns, schema.table);
        const { created, natives } = await this.ensureTarget(
          run,
          target,
          schema,
          request.mode === 'snapshot',
        );
        const { sql: source, params: sourceParams } = this.typedSource(schema, natives);
        let upserted = 0;
        let deleted = 0;
        if (request.mode === 'replace_window' && !created) {
          deleted = await run(
            deleteWindowSql(target, schema.cursorColumn, cursorType),
            windowBounds(request.window, cursorType),
          );
        }
        const names = schema.columns.map((c) => c.name);
        if (this.staged > 0) {
          const sql =
            schema.primaryKey.length === 0
              ? insertAllSql(target, source, SEQ, names)
              : mergeSql({
                  target,
                  source,
                  seq: SEQ,
                  columns: names,
                  primaryKey: schema.primaryKey,
                  cursorColumn: schema.cursorColumn,
                  extraSet: request.mode === 'snapshot' ? [`${quoteIdent(DELETED_AT)} = NULL`] : [],
                  extraChanged:
                    request.mode === 'snapshot' ? `t.${quoteIdent(DELETED_AT)} IS NOT NULL` : undefined,
                });
          upserted = await run(sql, sourceParams);
        }
        if (request.mode === 'snapshot' && !created) {
          deleted = await run(markVanishedSql(target, source, schema.primaryKey, DELETED_AT), sourceParams);
        }
        let historyRows = 0;
        if (history) {
          const historyTarget = qualified(this.ns, history.table);
          if (!(await this.ensureHistory(run, historyTarget, history, natives))) {
            await run(
              deleteWindowSql(historyTarget, schema.cursorColumn, cursorType),
              windowBounds(request.window, cursorType),
            );
          }
          if (this.staged > 0) {
            historyRows = await run(
              insertDedupedSql({
                target: historyTarget,
                source,
                seq: SEQ,
                columns: names,
                primaryKey: schema.primaryKey,
                cursorColumn: schema.cursorColumn,
              }),
              sourceParams,
            );
          }
        }
        statement = 'upsert column map and state';
        await upsertColumnMap(conn, this.ns, schema.table, schema.columns);
        if (request.state) await upsertState(conn, this.ns, this.request.streamKey, request.state);
        if (request.ledger) {
          statement = 'upsert the backfill ledger row';
          await upsertWindow(conn, this.ns, { ...request.ledger, status: 'done' });
        }
        await run('COMMIT');
        return { staged: this.staged, upserted, deleted, historyRows };
      } catch (err) {
        if (inTransaction) await conn.run('ROLLBACK').catch(() => undefined);
        throw classifyDuckDbError(err, `commit of ${this.request.streamKey} into ${schema.table}`, {
          path: this.db.path,
          statement,
        });
      }
    });
    const { historyRows, ...counts } = result;
    this.log.debug(
      { table: schema.table, mode: request.mode, ...counts, ...(history ? { historyRows } : {}) },
      'window committed',
    );
    await this.finish();
    return counts;
  }

  /**
   * Creates the history table (returns true) with the target's native types, or brings it to
   * them: adds missing columns and widens narrower ones (key columns by a rebuild, as the target).
   * A history column already wider than the target's (it cannot get narrower) is left as it is.
   */
  private async ensureHistory(
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
    const keys = new Set(history.primaryKey);
    if (widened.some((w) => keys.has(w.name))) {
      await this.rebuild(run, target, existing, widened, history.primaryKey);
    } else {
      for (const w of widened) {
        const ref = quoteIdent(w.name);
        const using = widenUsing(ref, w.from, w.to);
        if (using === null)
          throw new DestinationError(
            `${history.table}.${w.name}: cannot change ${w.from.native} to ${w.to.native}`,
          );
        await run(`ALTER TABLE ${target} ALTER COLUMN ${ref} TYPE ${w.to.native} USING ${using}`);
      }
    }
    for (const a of added) await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(a.name)} ${a.native}`);
    return false;
  }

  async abort(): Promise<void> {
    await this.finish();
  }

  /**
   * Creates the target or adds and widens its columns so every staged value fits, and returns
   * the native type of each schema column. Decimal columns are sized from the staged values.
   */
  private async ensureTarget(
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
    const keys = new Set(schema.primaryKey);
    if (widened.some((w) => keys.has(w.name))) {
      await this.rebuild(run, target, existing, widened, schema.primaryKey);
    } else {
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
    const parts = candidates.flatMap((c, i) => {
      const v = quoteIdent(c.name);
      const ok = `regexp_full_match(${v}, '-?[0-9]+(\\.[0-9]+)?')`;
      return [
        `coalesce(max(CASE WHEN ${ok} THEN length(ltrim(split_part(ltrim(${v}, '-'), '.', 1), '0')) END), 0) AS i${i}`,
        `coalesce(max(CASE WHEN ${ok} THEN length(split_part(${v}, '.', 2)) END), 0) AS s${i}`,
      ];
    });
    const [row] = await select<Record<string, number>>(
      this.conn,
      `SELECT ${parts.join(', ')} FROM ${STAGE_REF}`,
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

  /** The staged rows with every schema column cast to its native type and audit NULLs filled ($1 = run id). */
  private typedSource(
    schema: TableSchema,
    natives: Map<string, NativeType>,
  ): { sql: string; params: DuckDBValue[] } {
    let usesRunId = false;
    const exprs = schema.columns.map((c) => {
      const native = natives.get(c.name) ?? nativeFor(c.type);
      const ref = `s.${quoteIdent(c.name)}`;
      let expr = castFromText(ref, native, this.stagedTypes.get(c.name) ?? new Set([c.type]));
      if (c.name === AUDIT_COLUMNS.loadedAt && native.logical === 'timestamp')
        expr = `COALESCE(${expr}, now())`;
      if (c.name === AUDIT_COLUMNS.runId && native.logical === 'string') {
        expr = `COALESCE(${expr}, CAST($1 AS VARCHAR))`;
        usesRunId = true;
      }
      return `${expr} AS ${quoteIdent(c.name)}`;
    });
    return {
      sql: `SELECT s.${quoteIdent(SEQ)} AS ${quoteIdent(SEQ)}, ${exprs.join(', ')} FROM ${STAGE_REF} AS s`,
      params: usesRunId ? [this.request.runId] : [],
    };
  }

  /** Brings the staging table to `schema`: columns only appended (all VARCHAR, so nothing widens). */
  private async followSchema(schema: TableSchema): Promise<void> {
    if (schema.columns.length < this.stagedColumns.length) {
      throw new DestinationError(
        `${this.request.streamKey}: the schema lost columns (${this.stagedColumns.length} → ${schema.columns.length})`,
      );
    }
    for (const [i, c] of schema.columns.entries()) {
      const old = this.stagedColumns[i];
      if (old && old.name !== c.name) {
        throw new DestinationError(
          `${this.request.streamKey}: column ${i + 1} was ${old.name} and is now ${c.name}; columns may only be appended`,
        );
      }
    }
    const added = schema.columns.slice(this.stagedColumns.length);
    if (added.length === 0) return;
    for (const c of added) {
      const sql = `ALTER TABLE ${STAGE_REF} ADD COLUMN ${quoteIdent(c.name)} VARCHAR`;
      try {
        await this.conn.run(sql);
      } catch (err) {
        throw classifyDuckDbError(err, `altering staging of ${this.request.streamKey}`, {
          path: this.db.path,
          statement: sql,
        });
      }
      this.stagedColumns.push({ ...c });
    }
  }

  private assertUsable(): void {
    if (this.done)
      throw new DestinationError(`load of ${this.request.streamKey} is already committed or aborted`);
    if (this.broken)
      throw classifyDuckDbError(this.broken, `load of ${this.request.streamKey} failed earlier`, {
        path: this.db.path,
      });
  }

  /** Drops the staging table with its connection (TEMP tables live and die with it) and the files, once. */
  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    disconnect(this.db, this.conn);
    await this.staging
      .discard()
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not remove staging files'));
  }
}
