/**
 * One window of one stream: rows go by COPY into a TEMP staging table on a dedicated connection,
 * following the stream's schema (columns only appended, types only widened), and `commit` hands
 * the staged window to the commit transaction (postgres-commit.ts). Nothing is visible before
 * COMMIT; a failure at any point rolls everything back (the staging table stays until `abort`).
 * If rows were counted as staged that the COPY did not store, or a COPY's column list did not
 * match its lines, the window would commit other rows than it was given; if the connection went
 * back to the pool twice, or never, another load would share it or the pool would run dry.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type {
  ColumnSpec,
  CommitRequest,
  CommitResult,
  CsvRows,
  Load,
  LoadRequest,
  Logger,
  Row,
  TableSchema,
} from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { commitWindow, ensureTable } from './postgres-commit.js';
import { hasAudit, openDirectWindow, WindowKeys, withAudit, type DirectWindow } from './postgres-direct.js';
import { CopyWriter } from './postgres-copy.js';
import { classifyPgError } from './postgres-errors.js';
import { columnList, qualified, quoteIdent } from './postgres-sql.js';
import { nativeType, widenUsing } from './postgres-types.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';

const SEQ = '_exportsync_seq';
const SEQ_CACHE = 100_000;

export interface LoadOptions {
  /**
   * End the COPY at the end of every write instead of keeping one open across the load. Needed
   * when the session has a statement_timeout: an open COPY is one statement for as long as the
   * load reads its source, and the timeout would cancel it.
   */
  copyPerWrite: boolean;
  /** The smallest creating window that starts a bulk first load (postgres-bulk.ts). */
  bulkMinRows: number;
  /**
   * Resolves when every load of the same table begun before this one (in this process) has been
   * committed or aborted. A direct window waits for it before it takes the table's commit lock:
   * the engine commits the windows of a stream in order, so a window that held the lock while an
   * earlier one still had to commit would wait for it forever (and it for the lock).
   */
  earlierLoadsDone: () => Promise<void>;
}

export class PostgresLoad implements Load {
  private readonly staging: string;
  private stagedColumns: ColumnSpec[] = [];
  private staged = 0;
  /** The load's open COPY into staging (one per load; reopened only when the schema changes). */
  private copy: CopyWriter | undefined;
  private copySql = '';
  /** Rows sent into the open COPY; its server count must match when it ends. */
  private copyRows = 0;
  /** Set when staging holds rows other than those sent: the load can only be aborted. */
  private invalid: Error | undefined;
  private done = false;
  /**
   * Rows go straight into the target inside this load's open transaction, which holds the table's
   * commit lock: a window of this run's bulk first load (postgres-bulk.ts). Decided at the first
   * rows (`decide`), before any is sent.
   */
  private direct = false;
  /** A direct window was given CSV lines that may lack their audit values (`CsvRows.auditFilled`). */
  private fillAudit = false;
  /** Whether a key may be twice among a direct window's rows (its commit then searches). */
  private readonly keys = new WindowKeys();
  /** The direct window as opened (postgres-direct.ts), when `direct`. */
  private window: DirectWindow = { creating: false, seqStart: '0', loadedAt: '' };
  private decided = false;
  private readonly whenFinished: { resolve: () => void; promise: Promise<void> };
  private broken: Error | undefined;
  private readonly onClientError = (err: Error) => {
    this.broken = err;
    this.log.warn({ err: err.message }, 'load connection failed');
  };

  private constructor(
    private readonly client: pg.PoolClient,
    private readonly schemaName: string,
    private readonly request: LoadRequest,
    private readonly log: Logger,
    private readonly onFinish: (load: PostgresLoad) => void,
    private readonly options: LoadOptions,
  ) {
    this.staging = `pg_temp.${quoteIdent(`_exportsync_stage_${randomBytes(6).toString('hex')}`)}`;
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.whenFinished = { resolve, promise };
    client.on('error', this.onClientError);
  }

  /** The table this load writes. */
  get table(): string {
    return this.request.schema.table;
  }

  /** Resolves once the load is committed or aborted (its connection back in the pool). */
  get finished(): Promise<void> {
    return this.whenFinished.promise;
  }

  /** `onFinish` runs once when the connection goes back to the pool (commit, abort, failure). */
  static async begin(
    client: pg.PoolClient,
    schemaName: string,
    request: LoadRequest,
    log: Logger,
    onFinish: (load: PostgresLoad) => void,
    options: LoadOptions,
  ): Promise<PostgresLoad> {
    const load = new PostgresLoad(client, schemaName, request, log, onFinish, options);
    const defs = request.schema.columns.map((c) => `${quoteIdent(c.name)} ${nativeType(c.type)}`);
    // the session's own sequence, so a cache keeps it monotonic in staging order while sparing
    // COPY a sequence-page update per row (~8 % of the staging COPY's server CPU)
    defs.push(`${quoteIdent(SEQ)} bigint GENERATED ALWAYS AS IDENTITY (CACHE ${SEQ_CACHE})`);
    const sql = `CREATE TEMP TABLE ${load.staging} (${defs.join(', ')})`;
    try {
      await client.query(sql);
    } catch (err) {
      load.finish(err);
      throw classifyPgError(err, `begin load of ${request.streamKey}`, sql);
    }
    load.stagedColumns = request.schema.columns.map((c) => ({ ...c }));
    return load;
  }

  async write(rows: Row[], schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertRowsFit(this.request.streamKey, rows, schema);
    if (rows.length > 0 && !this.decided) await this.decide();
    const out = this.direct ? withAudit(rows, schema, this.request.runId, this.window.loadedAt) : rows;
    if (this.direct) this.keys.noteRows(rows, schema);
    await this.stage(schema, rows.length, (copy) => copy.write(out));
  }

  /**
   * The CSV pass-through: the lines go into the same COPY as `write`'s rows, byte for byte (CSV
   * is the COPY's own format), so the two stay in call order — the order "latest staged wins"
   * goes by.
   */
  async writeCsv(rows: CsvRows, schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertCsvRowsFit(this.request.streamKey, rows, schema);
    if (rows.rows > 0 && !this.decided) await this.decide();
    // lines that may hold NULL audit values: a direct window fills them at commit
    if (this.direct && rows.rows > 0 && rows.auditFilled !== true && hasAudit(schema)) this.fillAudit = true;
    if (this.direct) this.keys.noteHashes(rows.keyHashes);
    await this.stage(schema, rows.rows, (copy) => copy.writeBytes(rows.text));
  }

  /** Whether this window goes straight into the target (postgres-direct.ts `openDirectWindow`). */
  private async decide(): Promise<void> {
    this.decided = true;
    const opened = await openDirectWindow({
      client: this.client,
      schemaName: this.schemaName,
      request: this.request,
      columns: this.stagedColumns,
      earlierLoadsDone: this.options.earlierLoadsDone,
      bulkMinRows: this.options.bulkMinRows,
      isAborted: () => this.done,
      // from BEGIN on, abort() rolls back
      inTransaction: (open) => (this.direct = open),
    });
    if (!opened) return;
    this.window = opened;
    this.log.debug(
      { table: this.request.schema.table, creating: opened.creating },
      'bulk first load: rows go straight into the table',
    );
  }

  /**
   * The one staging path of `write` and `writeCsv`, so the two can neither stage out of call order
   * nor against different column lists: staging follows `schema`, then `count` rows go through
   * `send` into a COPY whose column list is `schema.columns`. An open COPY with another list is
   * ended first (followSchema already ends it whenever staging changes; the check keeps positional
   * lines from ever landing in the wrong columns should that change).
   */
  private async stage(
    schema: TableSchema,
    count: number,
    send: (copy: CopyWriter) => Promise<void>,
  ): Promise<void> {
    await this.followSchema(schema);
    if (count === 0) return;
    const into = this.direct ? qualified(this.schemaName, this.request.schema.table) : this.staging;
    const copySql = `COPY ${into} (${columnList(schema.columns)}) FROM STDIN WITH (FORMAT csv)`;
    if (this.copy && this.copySql !== copySql) await this.endCopy();
    if (!this.copy) {
      this.copySql = copySql;
      this.copy = new CopyWriter(this.client, copySql, schema.columns.length);
    }
    this.copyRows += count;
    try {
      await send(this.copy);
    } catch (err) {
      throw classifyPgError(err, `staging rows of ${this.request.streamKey}`, this.copySql);
    }
    if (this.options.copyPerWrite) await this.endCopy();
  }

  /**
   * Ends the open COPY and counts its rows; throws its error (the window then fails). Must run
   * before any other statement on the connection: pg queues them behind the COPY, which only
   * ends here, so a statement awaited while it is open would wait forever. A server count other
   * than the rows sent means encoded lines were not the rows they claimed (a line break outside
   * quotes, a wrong `CsvRows.rows`): the load is then refused, whatever it stored.
   */
  private async endCopy(): Promise<void> {
    const copy = this.copy;
    if (!copy) return;
    let stored: number;
    try {
      stored = await copy.end();
    } catch (err) {
      throw classifyPgError(err, `staging rows of ${this.request.streamKey}`, this.copySql);
    }
    this.copy = undefined;
    const sent = this.copyRows;
    this.copyRows = 0;
    if (stored !== sent) {
      this.invalid = new DestinationError(
        `${this.request.streamKey}: staging stored ${stored} rows where ${sent} were sent (encoded lines that are not the rows they claim to be)`,
      );
      throw this.invalid;
    }
    this.staged += stored;
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
    await this.endCopy();
    return commitWindow(
      {
        client: this.client,
        direct: this.direct,
        creating: this.window.creating,
        fillAudit: this.fillAudit,
        seqStart: this.window.seqStart,
        // without a repeat among the hashes the commit skips its search (no key can be twice)
        mayRepeat: this.keys.mayRepeat,
        bulkMinRows: this.options.bulkMinRows,
        schemaName: this.schemaName,
        streamKey: this.request.streamKey,
        runId: this.request.runId,
        log: this.log,
        staging: this.staging,
        seq: SEQ,
        staged: this.staged,
        isBroken: () => this.broken !== undefined,
        dropStaging: () => this.dropStaging(),
      },
      request,
    );
  }

  async abort(): Promise<void> {
    if (this.done) return;
    // a healthy COPY is ended so the connection can take the DROP; a failed one already let go
    if (this.copy && !this.copy.error) await this.copy.end().catch(() => undefined);
    this.copy = undefined;
    // a direct window's rows are in the target, uncommitted: they go with the transaction
    if (this.direct && !this.broken) await this.client.query('ROLLBACK').catch(() => undefined);
    await this.dropStaging();
  }

  /**
   * Brings the staging table to `schema` — a direct window's target, inside its transaction (the
   * commit's own DDL) — columns only appended, types only widened.
   */
  private async followSchema(schema: TableSchema): Promise<void> {
    assertAppendOnly(this.request.streamKey, this.stagedColumns, schema);
    if (this.direct) return this.followSchemaInTarget(schema);
    const statements: string[] = [];
    const next: ColumnSpec[] = [];
    for (const [i, c] of schema.columns.entries()) {
      const old = this.stagedColumns[i];
      if (!old) {
        statements.push(`ALTER TABLE ${this.staging} ADD COLUMN ${quoteIdent(c.name)} ${nativeType(c.type)}`);
      } else if (old.type !== c.type) {
        const using = widenUsing(quoteIdent(c.name), old.type, c.type);
        if (using === null)
          throw new DestinationError(
            `${this.request.streamKey}: column ${c.name} cannot narrow from ${old.type} to ${c.type}`,
          );
        statements.push(
          `ALTER TABLE ${this.staging} ALTER COLUMN ${quoteIdent(c.name)} TYPE ${nativeType(c.type)} USING ${using}`,
        );
      }
      next.push({ ...c });
    }
    if (statements.length > 0) await this.endCopy(); // new columns need a new COPY column list
    for (const sql of statements) {
      try {
        await this.client.query(sql);
      } catch (err) {
        throw classifyPgError(err, `altering staging of ${this.request.streamKey}`, sql);
      }
    }
    this.stagedColumns = next;
  }

  private async followSchemaInTarget(schema: TableSchema): Promise<void> {
    const same =
      schema.columns.length === this.stagedColumns.length &&
      schema.columns.every((c, i) => this.stagedColumns[i]?.type === c.type);
    if (same) return;
    await this.endCopy(); // new columns need a new COPY column list
    let statement = '';
    const run = (sql: string) => {
      statement = sql;
      return this.client.query(sql);
    };
    try {
      await ensureTable(this.client, run, this.schemaName, schema, { deletedAt: false, bulk: false });
    } catch (err) {
      throw classifyPgError(err, `altering ${schema.table} for ${this.request.streamKey}`, statement);
    }
    this.stagedColumns = schema.columns.map((c) => ({ ...c }));
  }

  private assertUsable(): void {
    if (this.done)
      throw new DestinationError(`load of ${this.request.streamKey} is already committed or aborted`);
    if (this.broken) throw classifyPgError(this.broken, `load of ${this.request.streamKey}`);
    if (this.invalid) throw this.invalid;
    const copyError = this.copy?.error;
    if (copyError)
      throw classifyPgError(copyError, `staging rows of ${this.request.streamKey}`, this.copySql);
  }

  private async dropStaging(): Promise<void> {
    let failure: unknown = this.broken;
    if (!failure) {
      try {
        await this.client.query(`DROP TABLE IF EXISTS ${this.staging}`);
      } catch (err) {
        failure = err;
      }
    }
    this.finish(failure);
  }

  /** Returns the connection to the pool exactly once (destroyed if it failed). */
  private finish(failure?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.client.off('error', this.onClientError);
    this.client.release(
      failure instanceof Error ? failure : failure ? new Error(String(failure)) : undefined,
    );
    this.onFinish(this);
    this.whenFinished.resolve();
  }
}
