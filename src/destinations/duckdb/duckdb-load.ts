/**
 * One window of one stream: the Load lifecycle and its staging. Rows go through the Appender into
 * a TEMP staging table of VARCHAR columns (values are canonical text, so nothing is parsed in
 * Node) on the load's own connection; rows that arrive already encoded (`writeCsv`, the CSV
 * pass-through) are appended to a CSV spool file instead (duckdb-spool.ts), and once a load has
 * spooled, its `write` rows go to the spool too, so the staging order stays the call order. At
 * commit the staged rows are read from the spool files themselves when all of them are there (the
 * CSV pass-through: no staging table is written, `read_csv` feeds the commit's statements), else
 * from the staging table and the spool together (duckdb-staged.ts); `commit` then writes the
 * window, its column map and state in ONE transaction (duckdb-commit.ts). A process killed before
 * COMMIT leaves nothing (TEMP data dies with the connection, a spool is swept by the next run).
 * A load whose Appender or spool failed is broken: it refuses everything but `abort`, since the
 * staged rows are in an unknown state and committing them could lose or double rows.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
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
import { DestinationError, ExportSyncError, errorMessage } from '../../core/errors.js';
import { commitWindow } from './duckdb-commit.js';
import { connect, disconnect, fitMemoryLimit, type SharedDatabase } from './duckdb-database.js';
import { classifyDuckDbError } from './duckdb-errors.js';
import type { Namespace } from './duckdb-sql.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';
import { DuckDbSpool } from './duckdb-spool.js';
import {
  addStageColumnSql,
  appendStaged,
  createStageSql,
  STAGE,
  stagedRows,
  type StagedRows,
} from './duckdb-staged.js';

export class DuckDbLoad implements Load {
  private stagedColumns: ColumnSpec[] = [];
  /** Logical types each column's rows were staged under (a column may widen mid-load). */
  private readonly stagedTypes = new Map<string, Set<LogicalType>>();
  private appender: DuckDBAppender | undefined;
  /** Set from the first `writeCsv`; the commit reads its files, `finish` removes them. */
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
    /** A creating merge window of at least this many rows starts a bulk first load (duckdb-bulk.ts). */
    private readonly bulkMinRows: number,
  ) {}

  static async begin(
    db: SharedDatabase,
    ns: Namespace,
    request: LoadRequest,
    log: Logger,
    bulkMinRows: number,
  ): Promise<DuckDbLoad> {
    let conn: DuckDBConnection | undefined;
    const sql = createStageSql(request.schema.columns);
    try {
      conn = await connect(db);
      await fitMemoryLimit(db, conn, request.schema.columns.length);
      await conn.run(sql);
    } catch (err) {
      if (conn) disconnect(db, conn);
      throw classifyDuckDbError(err, `begin load of ${request.streamKey}`, { path: db.path, statement: sql });
    }
    const load = new DuckDbLoad(db, conn, ns, request, log, bulkMinRows);
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
    try {
      this.appender ??= await this.conn.createAppender(STAGE, 'main', 'temp');
      this.staged = appendStaged(this.appender, rows, this.stagedColumns.length, this.staged);
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
    this.spool ??= new DuckDbSpool(this.db, key, (longest) =>
      fitMemoryLimit(this.db, this.conn, this.stagedColumns.length, longest),
    );
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
   * The rows the commit reads (duckdb-staged.ts). A failure means the spooled rows cannot be read
   * as written, so the load is broken and only `abort` remains.
   */
  private async stagedRows(schema: TableSchema): Promise<StagedRows> {
    const columns = this.stagedColumns.map((c) => c.name);
    const longest = this.spool?.longestLine ?? 0;
    const staged = await this.spoolRead(async () => {
      await fitMemoryLimit(this.db, this.conn, columns.length, longest);
      return stagedRows({ conn: this.conn, spool: this.spool, staged: this.staged, columns }, schema);
    });
    const verify = staged.verify;
    if (verify) staged.verify = () => this.spoolRead(verify);
    return staged;
  }

  /** Runs a read of the spooled rows; a failure breaks the load (see `stagedRows`). */
  private async spoolRead<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      this.broken = err;
      throw classifyDuckDbError(err, `reading the spooled rows of ${this.request.streamKey}`, {
        path: this.db.path,
      });
    }
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
    this.closeAppender();
    const staged = await this.stagedRows(schema);
    const verify = staged.verify;
    let verified = false;
    if (verify) staged.verify = () => ((verified = true), verify());
    const { db, conn, ns, log, stagedTypes, bulkMinRows } = this;
    const { streamKey, runId } = this.request;
    let counts: CommitResult;
    try {
      const ctx = { db, conn, ns, log, streamKey, runId, stagedTypes, bulkMinRows };
      counts = await commitWindow(ctx, request, staged);
    } catch (err) {
      // the check pass was left to the commit and the commit failed before it: a spool that is
      // not what was written fails with the check's own error (naming the file) and breaks the load
      if (verify && !verified) await verify();
      throw err;
    }
    await this.finish();
    return counts;
  }

  async abort(): Promise<void> {
    await this.finish();
  }

  /** Brings the staging table to `schema`: columns only appended (all VARCHAR, so nothing widens). */
  private async followSchema(schema: TableSchema): Promise<void> {
    assertAppendOnly(this.request.streamKey, this.stagedColumns, schema);
    const added = schema.columns.slice(this.stagedColumns.length);
    if (added.length === 0) return;
    this.closeAppender(); // an appender is bound to the table's columns at creation
    try {
      await fitMemoryLimit(this.db, this.conn, schema.columns.length);
    } catch (err) {
      throw classifyDuckDbError(err, `raising memory_limit for ${this.request.streamKey}`, {
        path: this.db.path,
      });
    }
    for (const c of added) {
      const sql = addStageColumnSql(c.name);
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
