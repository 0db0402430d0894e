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
import { commitWindow } from './postgres-commit.js';
import { CopyWriter } from './postgres-copy.js';
import { classifyPgError } from './postgres-errors.js';
import { columnList, quoteIdent } from './postgres-sql.js';
import { nativeType, widenUsing } from './postgres-types.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';

const SEQ = '_exportsync_seq';
const SEQ_CACHE = 100_000;

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
    private readonly copyPerWrite: boolean,
  ) {
    this.staging = `pg_temp.${quoteIdent(`_exportsync_stage_${randomBytes(6).toString('hex')}`)}`;
    client.on('error', this.onClientError);
  }

  /**
   * `onFinish` runs once when the connection goes back to the pool (commit, abort, failure).
   * `copyPerWrite`: end the COPY at the end of every write instead of keeping one open across
   * the load. Needed when the session has a statement_timeout: an open COPY is one statement
   * for as long as the load reads its source, and the timeout would cancel it.
   */
  static async begin(
    client: pg.PoolClient,
    schemaName: string,
    request: LoadRequest,
    log: Logger,
    onFinish: (load: PostgresLoad) => void,
    copyPerWrite = false,
  ): Promise<PostgresLoad> {
    const load = new PostgresLoad(client, schemaName, request, log, onFinish, copyPerWrite);
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
    await this.stage(schema, rows.length, (copy) => copy.write(rows));
  }

  /**
   * The CSV pass-through: the lines go into the same COPY as `write`'s rows, byte for byte (CSV
   * is the COPY's own format), so the two stay in call order — the order "latest staged wins"
   * goes by.
   */
  async writeCsv(rows: CsvRows, schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertCsvRowsFit(this.request.streamKey, rows, schema);
    await this.stage(schema, rows.rows, (copy) => copy.writeBytes(rows.text));
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
    const copySql = `COPY ${this.staging} (${columnList(schema.columns)}) FROM STDIN WITH (FORMAT csv)`;
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
    if (this.copyPerWrite) await this.endCopy();
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
    await this.dropStaging();
  }

  /** Brings the staging table to `schema`: columns only appended, types only widened. */
  private async followSchema(schema: TableSchema): Promise<void> {
    assertAppendOnly(this.request.streamKey, this.stagedColumns, schema);
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
  }
}
