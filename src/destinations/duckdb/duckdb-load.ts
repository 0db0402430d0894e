/**
 * One window of one stream. Rows go through the Appender into a TEMP staging table of VARCHAR
 * columns (values are canonical text, so nothing is parsed in Node) on the load's own connection;
 * rows that arrive already encoded (`writeCsv`, the CSV pass-through) are appended to a CSV spool
 * file instead (duckdb-spool.ts), and once a load has spooled, its `write` rows go to the spool
 * too, so the staging order stays the call order. At commit the staged rows are read from the
 * spool files themselves when all of them are there (the CSV pass-through: no staging table is
 * written, `read_csv` feeds the statements below), else the spool is first read into the staging
 * table. `commit` then, in ONE transaction: brings the target to the schema (create, add, widen),
 * casts the staged text to the native types in SQL (the same casts for every path, so they give
 * the same values), applies the write mode, and writes the column map and the state. Nothing is
 * visible before COMMIT and a failure rolls all of it back; a process killed before COMMIT leaves
 * nothing (TEMP data dies with the connection, the WAL has no commit record, a spool is swept by
 * the next run). If state were written outside this transaction a crash would lose or double rows.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type {
  ColumnSpec,
  CommitRequest,
  CommitResult,
  CsvRows,
  Load,
  LoadRequest,
  Logger,
  LogicalType,
  Row,
  TableSchema,
} from '../../core/contracts.js';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { DestinationError, ExportSyncError, errorMessage } from '../../core/errors.js';
import { connect, disconnect, type SharedDatabase } from './duckdb-database.js';
import { classifyDuckDbError } from './duckdb-errors.js';
import { mergeWindow } from './duckdb-merge.js';
import {
  columnList,
  deleteWindowSql,
  insertAllSql,
  insertDedupedSql,
  keyCheckSql,
  markVanishedSql,
  MAX_IDENTIFIER_LENGTH,
  qualified,
  quoteIdent,
  windowBounds,
  type Namespace,
} from './duckdb-sql.js';
import { historyKey, historyTableName } from '../history.js';
import { assertCursorsInWindow } from './duckdb-history.js';
import { upsertWindow } from './duckdb-ledger.js';
import { upsertColumnMap, upsertState } from './duckdb-state.js';
import { castFromText, nativeFor, type DecimalNeed, type NativeType } from './duckdb-types.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';
import { DELETED_AT, decimalNeedExprs, TargetShaper, type Run } from './duckdb-load-target.js';
import { DuckDbSpool } from './duckdb-spool.js';

const SEQ = '_exportsync_seq';
const STAGE = '_exportsync_stage';
const STAGE_REF = `temp.main.${quoteIdent(STAGE)}`;
export { DELETED_AT };

/** Where a commit reads the window's rows: the staging table, or the spool files themselves. */
interface StagedRows {
  /** Table or parenthesised subquery: `SEQ` (staging order) and every staged column as VARCHAR. */
  ref: string;
  /** The same rows without `SEQ`, for statements that need no order. */
  unordered: string;
  rows: number;
  /** Decimal sizes measured while checking the spool, per schema column typed decimal. */
  needs?: Map<string, DecimalNeed>;
}

export class DuckDbLoad implements Load {
  private stagedColumns: ColumnSpec[] = [];
  /** Logical types each column's rows were staged under (a column may widen mid-load). */
  private readonly stagedTypes = new Map<string, Set<LogicalType>>();
  private appender: DuckDBAppender | undefined;
  /** Set from the first `writeCsv` until the commit reads it into the staging table. */
  private spool: DuckDbSpool | undefined;
  /** Rows in the staging table (the spool's come in at commit). */
  private staged = 0;
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
    this.noteTypes(schema);
    if (this.spool) {
      await this.spoolWith(() => this.spool!.appendRows(rows, this.stagedColumns.length));
      return;
    }
    const total = this.stagedColumns.length;
    try {
      this.appender ??= await this.conn.createAppender(STAGE, 'main', 'temp');
      const a = this.appender;
      let seq = this.staged;
      for (const row of rows) {
        a.appendBigInt(BigInt(++seq));
        for (let i = 0; i < total; i++) {
          const v = row[i];
          if (v === null || v === undefined) a.appendNull();
          else a.appendVarchar(v);
        }
        a.endRow();
      }
      a.flushSync();
      this.staged = seq;
    } catch (err) {
      // the appender's buffer is in an unknown state: this load can only be aborted
      this.broken = err;
      throw classifyDuckDbError(err, `staging rows of ${this.request.streamKey}`, { path: this.db.path });
    }
  }

  /**
   * Appends encoded rows to the spool in one file write (see duckdb-spool.ts). Refused, with
   * nothing staged, when the lines are not `schema`'s width (their values would land in the
   * wrong columns) or the text is not whole lines; a line that is still malformed fails the
   * commit, before its transaction.
   */
  async writeCsv(rows: CsvRows, schema: TableSchema): Promise<void> {
    this.assertUsable();
    const key = this.request.streamKey;
    assertCsvRowsFit(key, rows, schema);
    await this.followSchema(schema);
    if (rows.rows === 0) return;
    this.noteTypes(schema);
    this.spool ??= new DuckDbSpool(this.db, key);
    await this.spoolWith(() => this.spool!.appendCsv(rows));
  }

  /** Runs a spool write; a failed one leaves the file in an unknown state, so the load is broken. */
  private async spoolWith(append: () => Promise<void>): Promise<void> {
    try {
      await append();
    } catch (err) {
      this.broken = err;
      throw classifyDuckDbError(err, `spooling rows of ${this.request.streamKey}`, { path: this.db.path });
    }
  }

  /** Records the logical type each column's rows are staged under (casts at commit depend on it). */
  private noteTypes(schema: TableSchema): void {
    for (const c of schema.columns) {
      let types = this.stagedTypes.get(c.name);
      if (!types) this.stagedTypes.set(c.name, (types = new Set()));
      types.add(c.type);
    }
  }

  /**
   * The rows the commit reads: the Appender's rows in the staging table, then the spool's (the
   * CSV pass-through), numbered on in call order. The spool is never copied into the table: its
   * lines are read once now (`DuckDbSpool.check`: record counts, line lengths, and the decimal
   * sizes of the schema's decimal columns in the same pass) and the commit's statements read the
   * files. Runs before the commit transaction; a failure means the spooled rows cannot be read as
   * written, so the load is broken and only `abort` remains.
   */
  private async stagedRows(schema: TableSchema): Promise<StagedRows> {
    const spool = this.spool;
    if (!spool || spool.rows === 0) return { ref: STAGE_REF, unordered: STAGE_REF, rows: this.staged };
    const columns = this.stagedColumns.map((c) => c.name);
    const decimals = schema.columns.filter((c) => c.type === 'decimal');
    const needExprs = decimals.flatMap((c) => decimalNeedExprs(quoteIdent(c.name)));
    const needs = new Map<string, DecimalNeed>();
    const measure = (values: unknown[]) =>
      decimals.forEach((c, i) => {
        const was = needs.get(c.name) ?? { intDigits: 0, scale: 0 };
        needs.set(c.name, {
          intDigits: Math.max(was.intDigits, Number(values[2 * i] ?? 0)),
          scale: Math.max(was.scale, Number(values[2 * i + 1] ?? 0)),
        });
      });
    try {
      measure(await spool.check(this.conn, { columns }, needExprs));
      if (this.staged > 0 && needExprs.length > 0) {
        const reader = await this.conn.runAndReadAll(`SELECT ${needExprs.join(', ')} FROM ${STAGE_REF}`);
        measure(reader.getRowsJson()[0] ?? []);
      }
    } catch (err) {
      this.broken = err;
      throw classifyDuckDbError(err, `reading the spooled rows of ${this.request.streamKey}`, {
        path: this.db.path,
      });
    }
    const fromSpool = (seq: boolean) =>
      spool.source({ columns, ...(seq ? { seq: SEQ, firstSeq: this.staged + 1 } : {}) });
    const fromBoth = (seq: boolean) =>
      this.staged === 0
        ? fromSpool(seq)
        : `(SELECT ${columnList(seq ? [SEQ, ...columns] : columns)} FROM ${STAGE_REF} UNION ALL SELECT * FROM ${fromSpool(seq)})`;
    return { ref: fromBoth(true), unordered: fromBoth(false), rows: this.staged + spool.rows, needs };
  }

  /** Removes the spool's files; one that cannot be removed is swept by the next run. */
  private async discardSpool(spool: DuckDbSpool): Promise<void> {
    const dir = spool.directory;
    await spool
      .discard()
      .catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err), dir }, 'could not remove a DuckDB spool'),
      );
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
    this.closeAppender();
    const staged = await this.stagedRows(schema);
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
        if (staged.rows > 0 && (request.mode === 'replace_window' || history)) {
          await assertCursorsInWindow(conn, {
            stage: staged.ref,
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
        const shaper = new TargetShaper(conn, this.ns, this.log, staged.ref, staged.rows, staged.needs);
        const { created, natives } = await shaper.ensureTarget(
          run,
          target,
          schema,
          request.mode === 'snapshot',
        );
        const { sql: source, params: sourceParams } = this.typedSource(schema, natives, staged.ref);
        let upserted = 0;
        let deleted = 0;
        if (request.mode === 'replace_window' && !created) {
          deleted = await run(
            deleteWindowSql(target, schema.cursorColumn, cursorType),
            windowBounds(request.window, cursorType),
          );
        }
        const names = schema.columns.map((c) => c.name);
        // A merge or snapshot window none of whose keys is in the target yet (a first load, a new day) is a
        // plain insert of the deduplicated rows: what MERGE would do, at 2.2–2.8× less cost
        // (measured: 100k new keys into 900k rows, BENCHMARKS.md). Same transaction, so no key
        // can appear in between. When no key repeats in the window either, the rows go in as
        // they are: no deduplication (a sort of every column), no staging order needed.
        const unordered = this.typedSource(schema, natives, staged.unordered, false);
        statement = 'check the staged keys against the target';
        const keys =
          staged.rows > 0 &&
          (request.mode === 'merge' || request.mode === 'snapshot') &&
          schema.primaryKey.length > 0
            ? await this.keyCheck(target, unordered.sql, unordered.params, schema.primaryKey)
            : undefined;
        if (keys && !keys.anyInTarget && keys.distinct === staged.rows) {
          statement = 'insert of a window with only new, distinct keys';
          upserted = await run(
            `INSERT INTO ${target} (${columnList(names)}) SELECT ${columnList(names, 's.')} FROM (${unordered.sql}) AS s`,
            unordered.params,
          );
        } else if (keys && !keys.anyInTarget) {
          statement = 'insert of a window with only new keys';
          upserted = await run(
            insertDedupedSql({
              target,
              source,
              seq: SEQ,
              columns: names,
              primaryKey: schema.primaryKey,
              cursorColumn: schema.cursorColumn,
            }),
            sourceParams,
          );
        } else if (staged.rows > 0) {
          upserted =
            schema.primaryKey.length === 0
              ? await run(insertAllSql(target, source, SEQ, names), sourceParams)
              : await mergeWindow(conn, run, {
                  target,
                  source,
                  params: sourceParams,
                  seq: SEQ,
                  columns: names,
                  primaryKey: schema.primaryKey,
                  cursorColumn: schema.cursorColumn,
                  extraSet: request.mode === 'snapshot' ? [`${quoteIdent(DELETED_AT)} = NULL`] : [],
                  extraChanged:
                    request.mode === 'snapshot' ? `t.${quoteIdent(DELETED_AT)} IS NOT NULL` : undefined,
                });
        }
        if (request.mode === 'snapshot' && !created) {
          deleted = await run(markVanishedSql(target, source, schema.primaryKey, DELETED_AT), sourceParams);
        }
        let historyRows = 0;
        if (history) {
          const historyTarget = qualified(this.ns, history.table);
          if (!(await shaper.ensureHistory(run, historyTarget, history, natives))) {
            await run(
              deleteWindowSql(historyTarget, schema.cursorColumn, cursorType),
              windowBounds(request.window, cursorType),
            );
          }
          if (staged.rows > 0) {
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
        return { staged: staged.rows, upserted, deleted, historyRows };
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

  async abort(): Promise<void> {
    await this.finish();
  }

  /**
   * Distinct staged keys (typed as in the merge's ON; NULLs count as one value, as in the
   * deduplication) and whether any of them is already in the target. Reads only the key columns.
   */
  private async keyCheck(
    target: string,
    source: string,
    params: DuckDBValue[],
    primaryKey: string[],
  ): Promise<{ distinct: number; anyInTarget: boolean }> {
    const reader = await this.conn.runAndReadAll(keyCheckSql(target, source, primaryKey), params);
    const [distinct, hit] = reader.getRowsJson()[0] ?? [];
    return { distinct: Number(distinct), anyInTarget: hit === true };
  }

  /**
   * The staged rows of `from` with every schema column cast to its native type and audit NULLs
   * filled ($1 = run id), and `SEQ` unless `ordered` is false.
   */
  private typedSource(
    schema: TableSchema,
    natives: Map<string, NativeType>,
    from: string,
    ordered = true,
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
    const seq = ordered ? [`s.${quoteIdent(SEQ)} AS ${quoteIdent(SEQ)}`] : [];
    return {
      sql: `SELECT ${[...seq, ...exprs].join(', ')} FROM ${from} AS s`,
      params: usesRunId ? [this.request.runId] : [],
    };
  }

  /** Brings the staging table to `schema`: columns only appended (all VARCHAR, so nothing widens). */
  private async followSchema(schema: TableSchema): Promise<void> {
    assertAppendOnly(this.request.streamKey, this.stagedColumns, schema);
    const added = schema.columns.slice(this.stagedColumns.length);
    if (added.length === 0) return;
    this.closeAppender(); // an appender is bound to the table's columns at creation
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

  private closeAppender(): void {
    const a = this.appender;
    this.appender = undefined;
    if (!a) return;
    try {
      a.closeSync(); // flushes what is buffered
    } catch (err) {
      this.broken = err;
      throw classifyDuckDbError(err, `staging rows of ${this.request.streamKey}`, { path: this.db.path });
    }
  }

  private assertUsable(): void {
    if (this.done)
      throw new DestinationError(`load of ${this.request.streamKey} is already committed or aborted`);
    if (!this.broken) return;
    const context = `load of ${this.request.streamKey} failed earlier`;
    // an error already classified (a spool check) is named again, so a retry never reads as new
    if (this.broken instanceof ExportSyncError)
      throw new DestinationError(`${context}: ${this.broken.message}`, {
        cause: this.broken,
        retryable: this.broken.retryable,
      });
    throw classifyDuckDbError(this.broken, context, { path: this.db.path });
  }

  /** Drops the staging table with its connection (TEMP tables live and die with it) and the spool, once. */
  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      this.appender?.closeSync();
    } catch {
      // discarded anyway
    }
    this.appender = undefined;
    disconnect(this.db, this.conn);
    const spool = this.spool;
    this.spool = undefined;
    if (spool) await this.discardSpool(spool);
  }
}
