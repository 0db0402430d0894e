/**
 * One window of one stream: rows go by COPY into a TEMP staging table on a dedicated connection,
 * and `commit` brings the target to the schema, applies the write mode, and writes the column map
 * and the state in ONE transaction. Nothing is visible before COMMIT; a failure at any point
 * rolls everything back (the staging table stays until `abort`). If the state were written
 * outside this transaction, or DDL committed separately, a crash would lose or double rows.
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
import { readTable } from './postgres-catalog.js';
import { CopyWriter } from './postgres-copy.js';
import { classifyPgError } from './postgres-errors.js';
import {
  columnList,
  createTableSql,
  deleteWindowSql,
  insertAllSql,
  markVanishedSql,
  mergeSql,
  MAX_IDENTIFIER_BYTES,
  qualified,
  quoteIdent,
  stagedKeyInTargetSql,
  windowBounds,
} from './postgres-sql.js';
import { historyKey, historyTableName } from '../history.js';
import { assertCursorsInWindow } from './postgres-history.js';
import { upsertWindow } from './postgres-ledger.js';
import { upsertColumnMap, upsertState } from './postgres-state.js';
import { nativeType, widenUsing } from './postgres-types.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';

const SEQ = '_exportsync_seq';
const SEQ_CACHE = 100_000;
const COMMIT_WORK_MEM = '128MB';
/** Staged rows whose keys are looked up in the target before a guarded plain insert. */
const KEY_SAMPLE = 100;
/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';
export const DELETED_AT = '_deleted_at';

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
    const client = this.client;
    const target = qualified(this.schemaName, schema.table);
    const cursorType =
      schema.columns.find((c) => c.name === schema.cursorColumn)?.type === 'date' ? 'date' : 'timestamp';
    const history = request.history
      ? {
          ...schema,
          table: historyTableName(schema.table, MAX_IDENTIFIER_BYTES),
          primaryKey: historyKey(schema),
        }
      : undefined;
    let statement = 'check staged cursors against the window';
    let inTransaction = false;
    const run = async (sql: string, params: unknown[] = []) => {
      statement = sql;
      return client.query(sql, params);
    };
    try {
      if (this.staged > 0 && (request.mode === 'replace_window' || history)) {
        await assertCursorsInWindow(client, {
          staging: this.staging,
          seq: SEQ,
          schema,
          cursorType,
          window: request.window,
          streamKey: this.request.streamKey,
          why: history ? 'the snapshot history' : 'replace_window',
        });
      }
      inTransaction = true;
      await run('BEGIN');
      // commits of one table from several processes (a sharded backfill) take turns: schema changes
      // and the column map are not safe to interleave
      await run('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `exportsync:commit:${this.schemaName}.${schema.table}`,
      ]);
      // the dedupe sort of a large window stays in memory instead of spilling to disk
      await run(`SET LOCAL work_mem = '${COMMIT_WORK_MEM}'`);
      const created = await this.ensureTable(run, schema, request.mode === 'snapshot');
      let upserted = 0;
      let deleted = 0;
      if (request.mode === 'replace_window' && !created) {
        deleted =
          (
            await run(
              deleteWindowSql(target, schema.cursorColumn, cursorType),
              windowBounds(request.window, cursorType),
            )
          ).rowCount ?? 0;
      }
      /** How the staged rows went in (the debug line says so). */
      let written: 'insert' | 'merge' | 'merge after unique_violation' | undefined;
      if (this.staged > 0 && schema.primaryKey.length === 0) {
        upserted =
          (await run(insertAllSql(target, this.staging, SEQ, schema.columns), [this.request.runId]))
            .rowCount ?? 0;
        written = 'insert';
      } else if (this.staged > 0) {
        const merge = (onConflict: boolean) =>
          mergeSql({
            target,
            staging: this.staging,
            seqColumn: SEQ,
            schema,
            onConflict,
            extraSet: request.mode === 'snapshot' ? [`${quoteIdent(DELETED_AT)} = NULL`] : [],
            extraChanged: request.mode === 'snapshot' ? `t.${quoteIdent(DELETED_AT)} IS NOT NULL` : undefined,
          });
        // a snapshot re-sends every key by design: a plain insert would fail at once
        const tried =
          request.mode === 'snapshot' && !created
            ? 'merge'
            : await this.insertNewKeys(run, target, schema, merge(false), !created);
        if (typeof tried === 'number') {
          upserted = tried;
          written = 'insert';
        } else {
          upserted = (await run(merge(true), [this.request.runId])).rowCount ?? 0;
          written = tried;
        }
      }
      if (request.mode === 'snapshot' && !created) {
        deleted =
          (await run(markVanishedSql(target, this.staging, schema.primaryKey, DELETED_AT))).rowCount ?? 0;
      }
      let historyRows = 0;
      if (history) {
        const historyTarget = qualified(this.schemaName, history.table);
        const historyCreated = await this.ensureTable(run, history, false);
        if (!historyCreated) {
          await run(
            deleteWindowSql(historyTarget, schema.cursorColumn, cursorType),
            windowBounds(request.window, cursorType),
          );
        }
        if (this.staged > 0) {
          // same dedupe as the merge (one row per merge key), then a plain insert: the window's
          // history rows were just deleted and every staged cursor lies in the window
          const sql = mergeSql({
            target: historyTarget,
            staging: this.staging,
            seqColumn: SEQ,
            schema,
            onConflict: false,
          });
          historyRows = (await run(sql, [this.request.runId])).rowCount ?? 0;
        }
      }
      statement = 'upsert column map and state';
      await upsertColumnMap(client, this.schemaName, schema.table, schema.columns);
      if (request.state) await upsertState(client, this.schemaName, this.request.streamKey, request.state);
      if (request.ledger) {
        statement = 'upsert the backfill ledger row';
        await upsertWindow(client, this.schemaName, { ...request.ledger, status: 'done' });
      }
      await run('COMMIT');
      const result = { staged: this.staged, upserted, deleted };
      this.log.debug(
        {
          table: schema.table,
          mode: request.mode,
          ...result,
          ...(written ? { written } : {}),
          ...(history ? { historyRows } : {}),
        },
        'window committed',
      );
      await this.dropStaging();
      return result;
    } catch (err) {
      if (inTransaction && !this.broken) await client.query('ROLLBACK').catch(() => undefined);
      throw classifyPgError(err, `commit of ${this.request.streamKey} into ${schema.table}`, statement);
    }
  }

  /**
   * The deduplicated staged rows by plain INSERT (`sql`: the merge without ON CONFLICT), resolving
   * with its row count, or the reason the caller must run the ON CONFLICT merge instead. Where no
   * staged key is in the target yet (the first load, every new day) the insert is the whole merge
   * and costs the server about a quarter less than INSERT … ON CONFLICT, whose speculative
   * insertion probes the key's index twice and confirms every row (bench/results/postgres-load.md).
   * `guarded`: a key may already be in the target. A sample of staged keys is looked up first (a
   * window re-read for its lookback then merges at once instead of sorting itself for an insert
   * that fails), and the insert runs under a savepoint whose unique_violation rolls it back: the
   * merge then runs over the same rows, so "latest wins" and "unchanged rows are not rewritten"
   * hold either way. Without the savepoint the violation would abort the window's transaction;
   * without the fallback a window whose existing keys the sample missed would fail. A miss costs
   * the insert up to the first existing key in key order (and dead tuples left to vacuum).
   */
  private async insertNewKeys(
    run: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>,
    target: string,
    schema: TableSchema,
    sql: string,
    guarded: boolean,
  ): Promise<number | 'merge' | 'merge after unique_violation'> {
    if (!guarded) return (await run(sql, [this.request.runId])).rowCount ?? 0;
    const probe = stagedKeyInTargetSql(target, this.staging, schema.primaryKey);
    if ((await run(probe, [KEY_SAMPLE])).rows[0]?.found === true) return 'merge';
    await run('SAVEPOINT exportsync_insert');
    try {
      const inserted = (await run(sql, [this.request.runId])).rowCount ?? 0;
      await run('RELEASE SAVEPOINT exportsync_insert');
      return inserted;
    } catch (err) {
      if (this.broken || (err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
      await run('ROLLBACK TO SAVEPOINT exportsync_insert');
      await run('RELEASE SAVEPOINT exportsync_insert');
      return 'merge after unique_violation';
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    // a healthy COPY is ended so the connection can take the DROP; a failed one already let go
    if (this.copy && !this.copy.error) await this.copy.end().catch(() => undefined);
    this.copy = undefined;
    await this.dropStaging();
  }

  /**
   * Creates `schema.table` with key `schema.primaryKey` (returns true), or adds and widens its
   * columns to match `schema`. `deletedAt`: the snapshot target's `_deleted_at` column.
   */
  private async ensureTable(
    run: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>,
    schema: TableSchema,
    deletedAt: boolean,
  ): Promise<boolean> {
    const target = qualified(this.schemaName, schema.table);
    const existing = await readTable(this.client, this.schemaName, schema.table);
    if (!existing) {
      await run(createTableSql(target, schema, deletedAt ? [`${quoteIdent(DELETED_AT)} timestamptz`] : []));
      return true;
    }
    const have = new Map(existing.columns.map((c) => [c.name, c]));
    for (const c of schema.columns) {
      const current = have.get(c.name);
      if (!current) {
        await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(c.name)} ${nativeType(c.type)}`);
      } else if (current.type !== c.type) {
        const using =
          current.type === 'unknown' ? null : widenUsing(quoteIdent(c.name), current.type, c.type);
        if (using === null) {
          throw new DestinationError(
            `${schema.table}.${c.name} is ${current.nativeType} in the warehouse and cannot change to ${c.type} (only widening is allowed)`,
          );
        }
        await run(
          `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(c.name)} TYPE ${nativeType(c.type)} USING ${using}`,
        );
      }
    }
    if (deletedAt && !have.has(DELETED_AT))
      await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(DELETED_AT)} timestamptz`);
    return false;
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
