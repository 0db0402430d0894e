/**
 * The BigQuery destination, through the official SDK (@google-cloud/bigquery, loaded lazily).
 * Tables, state and bookkeeping live in one dataset. Rows reach BigQuery by load job into a
 * staging table and are committed with their state by one multi-statement transaction
 * (bigquery-load.ts); locks are lease rows (bigquery-lock.ts). DDL is not transactional in
 * BigQuery, so `capabilities.transactionalDdl` is false.
 */
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
import { DestinationError, errorMessage } from '../../core/errors.js';
import type { BigQueryDestinationConfig } from '../../config/bigquery.js';
import { BqClient, type RetryPolicy } from './bigquery-client.js';
import { readWindows, upsertWindow } from './bigquery-ledger.js';
import { BigQueryLoad } from './bigquery-load.js';
import { acquireLease, newOwner } from './bigquery-lock.js';
import { readMetadata } from './bigquery-schema.js';
import { MAX_COLUMNS, MAX_IDENTIFIER_LENGTH, quoteIdent } from './bigquery-sql.js';
import {
  bootstrap,
  deleteState,
  readColumnMap,
  readRuns,
  readState,
  readStates,
  upsertRun,
} from './bigquery-state.js';
import { logicalFromNative, standardType } from './bigquery-types.js';

export interface BigQueryDestinationOptions {
  config: BigQueryDestinationConfig;
  log: Logger;
  /** An auth client to use instead of the configured credentials (tests, embedding). */
  authClient?: unknown;
  /** Backoff for transient API and job errors (default 6 attempts from 1 s). */
  retry?: RetryPolicy;
  /** Staged bytes per load job; a window larger than this is uploaded in several (default 1 GiB). */
  stageFileBytes?: number;
}

export function createBigQueryDestination(options: BigQueryDestinationOptions): Destination {
  return new BigQueryDestination(options);
}

class BigQueryDestination implements Destination {
  readonly capabilities: DestinationCapabilities = {
    name: 'bigquery',
    maxIdentifierLength: MAX_IDENTIFIER_LENGTH,
    maxColumns: MAX_COLUMNS,
    transactionalDdl: false,
  };
  private client: Promise<BqClient> | undefined;
  private readonly loads = new Set<BigQueryLoad>();
  private readonly locks = new Set<StreamLock>();
  private readonly owner = newOwner();
  private leases = 0;
  private readonly log: Logger;
  private readonly target: string;

  constructor(private readonly options: BigQueryDestinationOptions) {
    const { project, dataset } = options.config;
    this.target = `bigquery ${project}.${dataset}`;
    this.log = options.log.child({ project, dataset });
    quoteIdent(dataset); // validates the dataset name early
  }

  private connect(): Promise<BqClient> {
    if (!this.client) {
      this.client = BqClient.create({
        config: this.options.config,
        log: this.log,
        authClient: this.options.authClient,
        retry: this.options.retry,
      });
      this.client.catch(() => (this.client = undefined));
    }
    return this.client;
  }

  async open(): Promise<void> {
    const client = await this.connect();
    await bootstrap(client, this.options.config.create_dataset);
  }

  async close(): Promise<void> {
    for (const load of [...this.loads]) await load.abort();
    for (const lock of [...this.locks]) await lock.release();
    this.client = undefined;
  }

  async check(): Promise<CheckVerdict> {
    try {
      const client = await this.connect();
      const [rows] = await client.bq.dataset(client.dataset).exists();
      const [probe] = await client.query('SELECT CAST(1 AS STRING) AS one', {}, 'probe query');
      if (probe?.one !== '1')
        return { target: this.target, ok: false, message: 'probe query returned no row' };
      const message = rows
        ? `connected; dataset ${client.dataset} exists and queries run`
        : this.options.config.create_dataset
          ? `connected; dataset ${client.dataset} will be created on first run`
          : `connected, but dataset ${client.dataset} does not exist and create_dataset is false`;
      return { target: this.target, ok: rows || this.options.config.create_dataset, message };
    } catch (err) {
      return { target: this.target, ok: false, message: errorMessage(err) };
    }
  }

  async describeTable(table: string): Promise<ExistingTable | null> {
    const meta = await readMetadata(await this.connect(), table);
    if (!meta) return null;
    return {
      table,
      columns: (meta.schema?.fields ?? []).map((f) => {
        const native = standardType(f.type ?? '');
        return { name: f.name ?? '', type: logicalFromNative(native), nativeType: native };
      }),
      ...(meta.numRows !== undefined ? { rowCount: Number(meta.numRows) } : {}),
    };
  }

  async getColumnMap(table: string): Promise<ColumnSpec[]> {
    return readColumnMap(await this.connect(), table);
  }

  async getState(streamKey: string): Promise<StreamState | null> {
    return readState(await this.connect(), streamKey);
  }

  async listStates(): Promise<Array<{ streamKey: string; state: StreamState }>> {
    return readStates(await this.connect());
  }

  async resetState(streamKey: string): Promise<boolean> {
    return deleteState(await this.connect(), streamKey);
  }

  async lock(streamKey: string, waitMs: number): Promise<StreamLock> {
    const lock = await this.lease(`stream:${streamKey}`, `stream ${streamKey}`, waitMs);
    this.locks.add(lock);
    return {
      release: async () => {
        this.locks.delete(lock);
        await lock.release();
      },
    };
  }

  private async lease(key: string, label: string, waitMs: number): Promise<StreamLock> {
    return acquireLease({
      client: await this.connect(),
      key,
      label,
      owner: `${this.owner}:${++this.leases}`,
      waitMs,
      ttlSeconds: this.options.config.lock_ttl_seconds,
      log: this.log,
    });
  }

  async recordRun(run: RunRecord): Promise<void> {
    await upsertRun(await this.connect(), run);
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return readRuns(await this.connect(), limit);
  }

  async recordWindow(record: WindowRecord): Promise<void> {
    if (record.status === 'done') throw new Error('recordWindow: "done" is written by commit, with the rows');
    await upsertWindow(await this.connect(), record);
  }

  async listWindows(streamKeys?: string[]): Promise<WindowRecord[]> {
    return readWindows(await this.connect(), streamKeys);
  }

  async beginLoad(request: LoadRequest): Promise<Load> {
    if (!this.client) throw new DestinationError('bigquery destination is not open (call open() first)');
    const load = new BigQueryLoad(
      await this.connect(),
      request,
      this.log.child({ stream: request.streamKey }),
      // schema changes of one table are serialised across processes (a sharded backfill)
      (key, label) => this.lease(key, label, 10 * 60_000),
      (l) => this.loads.delete(l),
      this.options.stageFileBytes ?? 1024 ** 3,
    );
    this.loads.add(load);
    return load;
  }
}
