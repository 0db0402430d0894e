/**
 * The Snowflake destination (snowflake-sdk). Sessions come from one pool, reused across streams:
 * a load holds its session until it commits or aborts (temporary staging tables and the commit
 * transaction live there); short statements borrow one and are retried once on a fresh login if
 * the session was lost. Every session runs with TIMEZONE=UTC; every statement carries a QUERY_TAG
 * (`{"app":"exportsync","run_id":…,"stream":…}`) so users can find what a run cost in
 * QUERY_HISTORY. Key-pair auth (SNOWFLAKE_JWT) is preferred; password works too.
 */
import type snowflake from 'snowflake-sdk';
import { connectionOptions, queryTag } from './snowflake-connection.js';
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
  StreamLock,
  StreamState,
  WindowRecord,
} from '../../core/contracts.js';
import { errorMessage } from '../../core/errors.js';
import type { SnowflakeDestinationConfig } from '../../config/snowflake.js';
import { readCatalogTable, toExistingTable } from './snowflake-catalog.js';
import { createWindowsTableSql, readWindows, upsertWindow } from './snowflake-ledger.js';
import { SnowflakeLoad } from './snowflake-load.js';
import { acquireLock, createLocksTableSql } from './snowflake-lock.js';
import { SessionPool, type SnowflakeSession } from './snowflake-session.js';
import { MAX_IDENTIFIER_LENGTH, quoteIdent } from './snowflake-sql.js';
import {
  bootstrapSql,
  deleteState,
  readColumnMap,
  readRuns,
  readState,
  readStates,
  upsertRun,
  type Run,
} from './snowflake-state.js';

export { connectionOptions, queryTag } from './snowflake-connection.js';

export interface SnowflakeDestinationOptions {
  config: SnowflakeDestinationConfig;
  log: Logger;
}

export function createSnowflakeDestination(options: SnowflakeDestinationOptions): Destination {
  return new SnowflakeDestination(options);
}

class SnowflakeDestination implements Destination {
  readonly capabilities: DestinationCapabilities = {
    name: 'snowflake',
    maxIdentifierLength: MAX_IDENTIFIER_LENGTH,
    maxColumns: 10_000,
    transactionalDdl: false,
  };
  private pool: SessionPool | undefined;
  private readonly loads = new Set<SnowflakeLoad>();
  private readonly schema: string;
  private readonly target: string;
  private readonly log: Logger;
  private readonly connection: snowflake.ConnectionOptions;

  constructor(private readonly options: SnowflakeDestinationOptions) {
    const c = options.config;
    this.connection = connectionOptions(c);
    this.schema = c.schema;
    quoteIdent(this.schema);
    this.target = `account ${c.account} database ${c.database} schema ${c.schema}`;
    this.log = options.log.child({ target: this.target });
  }

  private requirePool(): SessionPool {
    this.pool ??= new SessionPool(
      this.connection,
      this.log,
      [`ALTER SESSION SET TIMEZONE = 'UTC'`],
      this.target,
    );
    return this.pool;
  }

  /** A short statement sequence on a borrowed session, tagged. */
  private with<T>(what: string, fn: (run: Run) => Promise<T>, runId?: string): Promise<T> {
    const tag = queryTag({ runId });
    return this.requirePool().with((s: SnowflakeSession) => fn((sql, binds) => s.run(sql, binds, tag, what)));
  }

  async open(): Promise<void> {
    await this.with(`creating schema ${this.schema} and the bookkeeping tables`, async (run) => {
      for (const sql of bootstrapSql(this.schema)) await run(sql);
      await run(createWindowsTableSql(this.schema));
      await run(createLocksTableSql(this.schema));
    });
  }

  async close(): Promise<void> {
    for (const load of [...this.loads]) await load.abort().catch(() => undefined);
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  async check(): Promise<CheckVerdict> {
    const target = `snowflake ${this.target}`;
    try {
      const { user, role, warehouse } = await this.with('checking the session', async (run) => {
        const { rows } = await run('SELECT CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE()');
        const r = rows[0] ?? [];
        return { user: r[0], role: r[1], warehouse: r[2] };
      });
      if (!warehouse) {
        return {
          target,
          ok: false,
          message: `connected as ${String(user)} (role ${String(role)}), but no warehouse is active: set destination.warehouse`,
        };
      }
      return {
        target,
        ok: true,
        message: `connected as ${String(user)} (role ${String(role)}, warehouse ${String(warehouse)})`,
      };
    } catch (err) {
      return { target, ok: false, message: errorMessage(err) };
    }
  }

  async describeTable(table: string): Promise<ExistingTable | null> {
    const t = await this.with(`describing ${table}`, (run) => readCatalogTable(run, this.schema, table));
    return t && toExistingTable(t);
  }

  getColumnMap(table: string): Promise<ColumnSpec[]> {
    return this.with(`reading the column map of ${table}`, (run) => readColumnMap(run, this.schema, table));
  }

  getState(streamKey: string): Promise<StreamState | null> {
    return this.with(`reading state of ${streamKey}`, (run) => readState(run, this.schema, streamKey));
  }

  listStates(): Promise<Array<{ streamKey: string; state: StreamState }>> {
    return this.with('listing states', (run) => readStates(run, this.schema));
  }

  resetState(streamKey: string): Promise<boolean> {
    return this.with(`resetting state of ${streamKey}`, (run) => deleteState(run, this.schema, streamKey));
  }

  lock(streamKey: string, waitMs: number): Promise<StreamLock> {
    return acquireLock({
      pool: this.requirePool(),
      schema: this.schema,
      key: `stream:${streamKey}`,
      waitMs,
      leaseSeconds: this.options.config.lock_lease_seconds,
      log: this.log,
      what: `stream ${streamKey}`,
      tag: queryTag({ stream: streamKey }),
    });
  }

  async recordRun(run: RunRecord): Promise<void> {
    await this.with(`recording run ${run.runId}`, (r) => upsertRun(r, this.schema, run), run.runId);
  }

  listRuns(limit: number): Promise<RunRecord[]> {
    return this.with('listing runs', (run) => readRuns(run, this.schema, limit));
  }

  async recordWindow(record: WindowRecord): Promise<void> {
    if (record.status === 'done') throw new Error('recordWindow: "done" is written by commit, with the rows');
    await this.with(
      `recording a window of ${record.streamKey}`,
      (run) => upsertWindow(run, this.schema, record),
      record.backfillId,
    );
  }

  listWindows(streamKeys?: string[]): Promise<WindowRecord[]> {
    return this.with('listing backfill windows', (run) => readWindows(run, this.schema, streamKeys));
  }

  async beginLoad(request: LoadRequest): Promise<Load> {
    const load = await SnowflakeLoad.begin(request, {
      pool: this.requirePool(),
      schemaName: this.schema,
      log: this.log.child({ stream: request.streamKey }),
      tag: queryTag({ runId: request.runId, stream: request.streamKey }),
      leaseSeconds: this.options.config.lock_lease_seconds,
      onFinish: (l) => this.loads.delete(l),
    });
    this.loads.add(load);
    return load;
  }
}
