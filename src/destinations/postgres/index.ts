/**
 * The Postgres destination. One pg.Pool for short statements, a dedicated pooled connection per
 * load (its TEMP staging table lives on it), and a dedicated non-pooled connection per stream
 * lock. Every session runs with TimeZone=UTC so timestamps and date/timestamp comparisons never
 * depend on the server's or the job's zone.
 */
import pg from 'pg';
import type {
  CheckVerdict,
  ColumnSpec,
  Destination,
  DestinationCapabilities,
  ExistingTable,
  Load,
  LoadRequest,
  Logger,
  RunRecord,
  SettleResult,
  WindowRecord,
  StreamLock,
  StreamState,
} from '../../core/contracts.js';
import { DestinationError, ExportSyncError, errorMessage } from '../../core/errors.js';
import { BULK_FIRST_LOAD_MIN_ROWS, settleBulk } from './postgres-bulk.js';
import { readTable } from './postgres-catalog.js';
import { COMMIT_LOCK_SQL, commitLockKey } from './postgres-commit.js';
import { classifyPgError } from './postgres-errors.js';
import { PostgresLoad } from './postgres-load.js';
import { acquireStreamLock } from './postgres-lock.js';
import { MAX_IDENTIFIER_BYTES, quoteIdent } from './postgres-sql.js';
import { readWindows, upsertWindow } from './postgres-ledger.js';
import {
  bootstrap,
  deleteState,
  readColumnMap,
  readRuns,
  readState,
  readStates,
  upsertRun,
} from './postgres-state.js';

export interface PostgresDestinationOptions {
  /** Connection string; may contain a password (never logged, never in an error). */
  url: string;
  schema: string;
  log: Logger;
  /** Server-side statement_timeout for every statement (ms). Default: none. */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity and in "locked by" messages. Default 'exportsync'. */
  applicationName?: string;
  /**
   * The smallest creating window of a merge table that starts a bulk first load (the table is
   * filled without its key and settled at the end, postgres-bulk.ts). Default
   * `BULK_FIRST_LOAD_MIN_ROWS`; `Infinity`: no bulk first load (every table keyed from its first
   * commit, no window COPYs straight into it).
   */
  bulkFirstLoadMinRows?: number;
}

/** host:port/database of a connection string, for messages (no user, no password). */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname) || u.searchParams.get('host') || 'localhost';
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    return `${host}:${u.port || '5432'}/${db}`;
  } catch {
    return '(unparseable connection string)';
  }
}

export function createPostgresDestination(options: PostgresDestinationOptions): Destination {
  return new PostgresDestination(options);
}

class PostgresDestination implements Destination {
  readonly capabilities: DestinationCapabilities = {
    name: 'postgres',
    maxIdentifierLength: MAX_IDENTIFIER_BYTES,
    maxColumns: 1600,
    transactionalDdl: true,
  };
  private pool: pg.Pool | undefined;
  /** Loads not yet committed or aborted; close() aborts them so the pool can end. */
  private readonly loads = new Set<PostgresLoad>();
  private readonly log: Logger;
  private readonly target: string;

  constructor(private readonly options: PostgresDestinationOptions) {
    this.target = describeTarget(options.url);
    this.log = options.log.child({ target: this.target, schema: options.schema });
    quoteIdent(options.schema); // validates the schema name early
  }

  private clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'exportsync',
      // temp_buffers: staging tables are TEMP (local buffers, 8MB by default, which makes a large
      // window spill to disk); it can only be set before a session first touches a temp table.
      options: '-c TimeZone=UTC -c temp_buffers=128MB',
      ...(this.options.statementTimeoutMs ? { statement_timeout: this.options.statementTimeoutMs } : {}),
      connectionTimeoutMillis: 30_000,
    };
  }

  async open(): Promise<void> {
    if (!this.pool) {
      const pool = new pg.Pool({ ...this.clientConfig(), max: 10 });
      pool.on('error', (err) => this.log.warn({ err: err.message }, 'idle connection failed'));
      this.pool = pool;
    }
    const client = await this.connect(this.pool);
    try {
      await bootstrap(client, this.options.schema);
      client.release();
    } catch (err) {
      client.release(err as Error);
      throw classifyPgError(err, `creating schema ${this.options.schema} on ${this.target}`);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    for (const load of [...this.loads]) await load.abort();
    await pool?.end();
  }

  async check(): Promise<CheckVerdict> {
    const target = `postgres ${this.target} schema ${this.options.schema}`;
    const client = new pg.Client(this.clientConfig());
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      const res = await client.query<{ schema_exists: boolean; can_create: boolean; usr: string }>(
        `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_exists,
                CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)
                     THEN has_schema_privilege($1, 'CREATE')
                     ELSE has_database_privilege(current_database(), 'CREATE') END AS can_create,
                current_user AS usr`,
        [this.options.schema],
      );
      const r = res.rows[0];
      if (!r?.can_create) {
        const where = r?.schema_exists ? `schema ${this.options.schema}` : `database ${this.target}`;
        return {
          target,
          ok: false,
          message: `connected as ${r?.usr ?? '?'}, but it lacks CREATE on ${where}`,
        };
      }
      const what = r.schema_exists
        ? `can create tables in schema ${this.options.schema}`
        : `can create schema ${this.options.schema}`;
      return { target, ok: true, message: `connected as ${r.usr}; ${what}` };
    } catch (err) {
      return { target, ok: false, message: this.connectError(err).message };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async describeTable(table: string): Promise<ExistingTable | null> {
    return this.query(`describing ${table}`, (pool) => readTable(pool, this.options.schema, table));
  }

  async getColumnMap(table: string): Promise<ColumnSpec[]> {
    return this.query(`reading the column map of ${table}`, (pool) =>
      readColumnMap(pool, this.options.schema, table),
    );
  }

  async getState(streamKey: string): Promise<StreamState | null> {
    return this.query(`reading state of ${streamKey}`, (pool) =>
      readState(pool, this.options.schema, streamKey),
    );
  }

  async listStates(): Promise<Array<{ streamKey: string; state: StreamState }>> {
    return this.query('listing states', (pool) => readStates(pool, this.options.schema));
  }

  async resetState(streamKey: string): Promise<boolean> {
    return this.query(`resetting state of ${streamKey}`, (pool) =>
      deleteState(pool, this.options.schema, streamKey),
    );
  }

  async recordRun(run: RunRecord): Promise<void> {
    await this.query(`recording run ${run.runId}`, (pool) => upsertRun(pool, this.options.schema, run));
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return this.query('listing runs', (pool) => readRuns(pool, this.options.schema, limit));
  }

  async recordWindow(record: WindowRecord): Promise<void> {
    if (record.status === 'done') {
      throw new Error('recordWindow: "done" is written by commit, with the rows');
    }
    await this.query(`recording window of ${record.streamKey}`, (pool) =>
      upsertWindow(pool, this.options.schema, record),
    );
  }

  async listWindows(streamKeys?: string[]): Promise<WindowRecord[]> {
    return this.query('listing backfill windows', (pool) =>
      readWindows(pool, this.options.schema, streamKeys),
    );
  }

  async lock(streamKey: string, waitMs: number): Promise<StreamLock> {
    return acquireStreamLock({
      clientConfig: this.clientConfig(),
      schema: this.options.schema,
      streamKey,
      waitMs,
      log: this.log,
    });
  }

  async beginLoad(request: LoadRequest): Promise<Load> {
    const earlier = [...this.loads].filter((l) => l.table === request.schema.table).map((l) => l.finished);
    const client = await this.connect(this.requirePool());
    const load = await PostgresLoad.begin(
      client,
      this.options.schema,
      request,
      this.log.child({ stream: request.streamKey }),
      (l) => this.loads.delete(l),
      {
        // with a statement_timeout, a COPY kept open while the source is read would be cancelled
        copyPerWrite: this.options.statementTimeoutMs !== undefined,
        bulkMinRows: this.options.bulkFirstLoadMinRows ?? BULK_FIRST_LOAD_MIN_ROWS,
        earlierLoadsDone: () => Promise.all(earlier).then(() => undefined),
      },
    );
    this.loads.add(load);
    return load;
  }

  async settle(table: string): Promise<SettleResult> {
    const client = await this.connect(this.requirePool());
    let statement = 'BEGIN';
    try {
      await client.query('BEGIN');
      statement = COMMIT_LOCK_SQL;
      await client.query(COMMIT_LOCK_SQL, [commitLockKey(this.options.schema, table)]);
      statement = `settle the bulk first load of ${table}`;
      const removed = await settleBulk(client, this.options.schema, table);
      statement = 'COMMIT';
      await client.query('COMMIT');
      client.release();
      if (removed === null) return { settled: false, duplicatesRemoved: 0 };
      this.log.info({ table, duplicatesRemoved: removed }, 'bulk first load settled: the key is enforced');
      return { settled: true, duplicatesRemoved: removed };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err instanceof Error ? err : new Error(String(err)));
      throw classifyPgError(err, `settling ${table}`, statement);
    }
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new DestinationError('postgres destination is not open (call open() first)');
    return this.pool;
  }

  private async connect(pool: pg.Pool): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (err) {
      throw this.connectError(err);
    }
  }

  /** A connection failure, naming host:port/database and never the credentials. */
  private connectError(err: unknown): ExportSyncError {
    const classified = classifyPgError(err, `cannot connect to Postgres at ${this.target}`);
    if (classified instanceof DestinationError && !classified.message.includes(this.target)) {
      return new DestinationError(
        `cannot connect to Postgres at ${this.target}: ${errorMessage(err)}`,
        classified.details,
      );
    }
    return classified;
  }

  private async query<T>(what: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
    const pool = this.requirePool();
    try {
      return await fn(pool);
    } catch (err) {
      throw classifyPgError(err, what);
    }
  }
}
