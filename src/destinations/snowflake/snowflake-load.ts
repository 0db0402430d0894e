/**
 * One window of one stream on its own Snowflake session (its temporary staging tables live there).
 * `write` stages rows and `writeCsv` encoded lines (snowflake-stage.ts); `commit` checks and
 * types the staged rows, brings the target (and history) tables to the schema OUTSIDE the
 * transaction — Snowflake DDL commits implicitly, so it is done first and idempotently — then in
 * ONE transaction applies the write mode and writes the column map, the state and the ledger row.
 * A failure before COMMIT leaves rows, column map, state and ledger as they were (the table may
 * have gained columns: harmless, they are NULL). Every statement carries the QUERY_TAG of the run.
 * If the state were written outside this transaction, a crash would advance the mark past rows
 * that never landed.
 */
import { randomBytes } from 'node:crypto';
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
import { DestinationError } from '../../core/errors.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';
import { assertCursorsInWindow, decimalScales } from './snowflake-checks.js';
import { commitWindow } from './snowflake-commit.js';
import { classifySnowflakeError } from './snowflake-errors.js';
import type { Bind, SessionPool, SnowflakeSession } from './snowflake-session.js';
import { qualified, quoteIdent } from './snowflake-sql.js';
import { SEQ, StagingWriter } from './snowflake-stage.js';

export interface LoadContext {
  pool: SessionPool;
  schemaName: string;
  log: Logger;
  tag: string;
  leaseSeconds: number;
  onFinish: (load: SnowflakeLoad) => void;
}

export class SnowflakeLoad implements Load {
  private readonly staging = `_exportsync_stage_${randomBytes(6).toString('hex')}`;
  private readonly writer: StagingWriter;
  private stagedColumns: ColumnSpec[] = [];
  /** Types each column's rows were staged under (a column widened mid-load has several). */
  private readonly stagedTypes = new Map<string, Set<LogicalType>>();
  private done = false;

  private constructor(
    private readonly session: SnowflakeSession,
    private readonly request: LoadRequest,
    private readonly ctx: LoadContext,
  ) {
    this.writer = new StagingWriter(
      (sql, binds) => this.run(sql, binds, 'staging rows'),
      ctx.schemaName,
      this.staging,
    );
  }

  /** Takes a session and creates the staging table; an idle session found dead is replaced once. */
  static async begin(request: LoadRequest, ctx: LoadContext): Promise<SnowflakeLoad> {
    for (let attempt = 1; ; attempt++) {
      const load = new SnowflakeLoad(await ctx.pool.acquire(attempt > 1), request, ctx);
      try {
        const defs = request.schema.columns.map((c) => `${quoteIdent(c.name)} VARCHAR`);
        defs.push(`${quoteIdent(SEQ)} NUMBER(38,0) NOT NULL`);
        await load.run(`CREATE TEMPORARY TABLE ${load.stagingRef()} (${defs.join(', ')})`, [], 'begin load');
        load.follow(request.schema);
        return load;
      } catch (err) {
        const lost = load.session.broken;
        await load.finish();
        if (!lost || attempt >= 2) throw err;
      }
    }
  }

  run(sql: string, binds: Bind[] | Bind[][] = [], what = 'commit') {
    return this.session.run(sql, binds, this.ctx.tag, `${what} of ${this.request.streamKey}`);
  }

  stagingRef(): string {
    return qualified(this.ctx.schemaName, this.staging);
  }

  async write(rows: Row[], schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertRowsFit(this.request.streamKey, rows, schema);
    await this.followSchema(schema);
    if (rows.length > 0) await this.writer.add(rows);
  }

  /**
   * The CSV pass-through: the lines go into the PUT + COPY file as they are, each with its
   * sequence number appended, after the rows `write` staged before — the call order "latest
   * staged wins" goes by.
   */
  async writeCsv(rows: CsvRows, schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertCsvRowsFit(this.request.streamKey, rows, schema);
    await this.followSchema(schema);
    if (rows.rows > 0) await this.writer.addCsv(rows, this.request.streamKey);
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
    try {
      await this.followSchema(schema);
      await this.writer.flush();
      const staged = this.writer.seq;
      const cursor = schema.columns.find((c) => c.name === schema.cursorColumn);
      const cursorType = cursor?.type === 'date' ? 'date' : 'timestamp';
      const ref = {
        run: (sql: string, binds?: Bind[] | Bind[][]) => this.run(sql, binds),
        staging: this.stagingRef(),
        schemaName: this.ctx.schemaName,
        streamKey: this.request.streamKey,
      };
      if (staged > 0 && (request.mode === 'replace_window' || request.history)) {
        const why = request.history ? 'the snapshot history' : 'replace_window';
        await assertCursorsInWindow(ref, schema, cursorType, request.window, why);
      }
      const scales = await decimalScales(ref, schema, staged);
      const result = await commitWindow(this, {
        ...this.ctx,
        streamKey: this.request.streamKey,
        runId: this.request.runId,
        request,
        staged,
        cursorType,
        scales,
        stagedTypes: this.stagedTypes,
        staging: this.staging,
      });
      this.ctx.log.debug({ table: schema.table, mode: request.mode, ...result }, 'window committed');
      await this.finish();
      return result;
    } catch (err) {
      throw classifySnowflakeError(err, `commit of ${this.request.streamKey} into ${schema.table}`);
    }
  }

  async abort(): Promise<void> {
    await this.finish();
  }

  /** Remembers the types rows are staged under; the staging table is all VARCHAR. */
  private follow(schema: TableSchema): void {
    for (const c of schema.columns) {
      const set = this.stagedTypes.get(c.name) ?? new Set<LogicalType>();
      set.add(c.type);
      this.stagedTypes.set(c.name, set);
    }
    this.stagedColumns = schema.columns.map((c) => ({ ...c }));
    this.writer.setColumns(schema.columns.map((c) => c.name));
  }

  /** Columns only appended (staging gains VARCHAR columns, after flushing the open file). */
  private async followSchema(schema: TableSchema): Promise<void> {
    assertAppendOnly(this.request.streamKey, this.stagedColumns, schema);
    const added = schema.columns.slice(this.stagedColumns.length);
    if (added.length > 0) {
      await this.writer.flush();
      for (const c of added)
        await this.run(
          `ALTER TABLE ${this.stagingRef()} ADD COLUMN ${quoteIdent(c.name)} VARCHAR`,
          [],
          'altering staging',
        );
    }
    this.follow(schema);
  }

  private assertUsable(): void {
    if (this.done)
      throw new DestinationError(`load of ${this.request.streamKey} is already committed or aborted`);
  }

  /** Drops the staging tables and returns the session exactly once (a lost one is discarded). */
  async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.writer.cleanup();
    if (!this.session.broken) {
      for (const t of [this.staging, `${this.staging}_typed`]) {
        await this.run(
          `DROP TABLE IF EXISTS ${qualified(this.ctx.schemaName, t)}`,
          [],
          'dropping staging',
        ).catch(() => {
          this.session.broken = true; // temporary tables we could not drop: never reuse the session
        });
      }
    }
    this.ctx.pool.release(this.session);
    this.ctx.onFinish(this);
  }
}
