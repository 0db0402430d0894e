/**
 * The embedded default destination: one DuckDB file, no server. One DuckDB instance per file per
 * process (shared by every destination object on it), a connection per load (its TEMP staging
 * table lives there) and per short operation, and write transactions serialised by an in-process
 * mutex. Other processes are kept out by DuckDB's own file lock, which is why `lock` only needs
 * to exclude holders within this process. `close` checkpoints and releases the file so another
 * process (the next cron run, a notebook) can open it.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
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
import { LockedError, errorMessage } from '../../core/errors.js';

/** How often a waiting open tries the file again. */
const LOCK_POLL_MS = 250;
import { BULK_FIRST_LOAD_MIN_ROWS, settleBulk } from './duckdb-bulk.js';
import { describeTable } from './duckdb-catalog.js';
import {
  acquireDatabase,
  canonicalPath,
  connect,
  disconnect,
  lockStream,
  releaseDatabase,
  type SharedDatabase,
} from './duckdb-database.js';
import { classifyDuckDbError } from './duckdb-errors.js';
import { DuckDbLoad } from './duckdb-load.js';
import { MAX_IDENTIFIER_LENGTH, quoteIdent, type Namespace } from './duckdb-sql.js';
import {
  bootstrap,
  deleteState,
  readColumnMap,
  readRuns,
  readState,
  readStates,
  select,
  upsertRun,
} from './duckdb-state.js';
import { readWindows, upsertWindow } from './duckdb-ledger.js';

export interface DuckDbDestinationOptions {
  /** Database file; created (with its directory) if absent. */
  path: string;
  schema: string;
  log: Logger;
  /** How long to wait for another process to release the file before a LockedError (default 0). */
  lockWaitMs?: number;
  /**
   * A merge window of at least this many rows that creates its keyed table starts a bulk first
   * load (appends until `settle`, duckdb-bulk.ts). Default `BULK_FIRST_LOAD_MIN_ROWS`.
   */
  bulkFirstLoadMinRows?: number;
}

export function createDuckDbDestination(options: DuckDbDestinationOptions): Destination {
  return new DuckDbDestination(options);
}

class DuckDbDestination implements Destination {
  readonly capabilities: DestinationCapabilities = {
    name: 'duckdb',
    maxIdentifierLength: MAX_IDENTIFIER_LENGTH,
    // DuckDB documents no hard column limit; this keeps wide tables well inside what was tried.
    maxColumns: 5000,
    transactionalDdl: true,
  };
  private opening: Promise<SharedDatabase> | undefined;
  private readonly log: Logger;
  private readonly path: string;

  constructor(private readonly options: DuckDbDestinationOptions) {
    this.path = canonicalPath(options.path);
    this.log = options.log.child({ path: this.path, schema: options.schema });
    quoteIdent(options.schema); // validates the schema name early
  }

  async open(): Promise<void> {
    const db = await this.database();
    await this.write('creating the bookkeeping tables', (c) => bootstrap(c, this.ns(db)), db);
  }

  async close(): Promise<void> {
    const pending = this.opening;
    this.opening = undefined;
    if (!pending) return;
    const db = await pending.catch(() => undefined);
    if (db) await releaseDatabase(db, this.log);
  }

  async check(): Promise<CheckVerdict> {
    const target = `duckdb ${this.path} schema ${this.options.schema}`;
    const dir = dirname(this.path);
    try {
      if (existsSync(dir)) accessSync(dir, constants.W_OK);
      if (existsSync(this.path)) accessSync(this.path, constants.R_OK | constants.W_OK);
    } catch (err) {
      return { target, ok: false, message: `not writable: ${errorMessage(err)}` };
    }
    try {
      const [row] = await this.read('check', (c) => select<{ v: string }>(c, 'SELECT version() AS v'));
      return { target, ok: true, message: `DuckDB ${row?.v ?? '?'} opened read-write` };
    } catch (err) {
      return { target, ok: false, message: errorMessage(err) };
    }
  }

  describeTable(table: string): Promise<ExistingTable | null> {
    return this.read(`describing ${table}`, (c, db) => describeTable(c, this.ns(db), table));
  }

  getColumnMap(table: string): Promise<ColumnSpec[]> {
    return this.read(`reading the column map of ${table}`, (c, db) => readColumnMap(c, this.ns(db), table));
  }

  getState(streamKey: string): Promise<StreamState | null> {
    return this.read(`reading state of ${streamKey}`, (c, db) => readState(c, this.ns(db), streamKey));
  }

  listStates(): Promise<Array<{ streamKey: string; state: StreamState }>> {
    return this.read('listing states', (c, db) => readStates(c, this.ns(db)));
  }

  resetState(streamKey: string): Promise<boolean> {
    return this.write(`resetting state of ${streamKey}`, (c, db) => deleteState(c, this.ns(db), streamKey));
  }

  async lock(streamKey: string, waitMs: number): Promise<StreamLock> {
    return lockStream(`${this.path}\u0000${this.options.schema}`, streamKey, waitMs);
  }

  recordRun(run: RunRecord): Promise<void> {
    return this.write(`recording run ${run.runId}`, (c, db) => upsertRun(c, this.ns(db), run));
  }

  listRuns(limit: number): Promise<RunRecord[]> {
    return this.read('listing runs', (c, db) => readRuns(c, this.ns(db), limit));
  }

  recordWindow(record: WindowRecord): Promise<void> {
    if (record.status === 'done') {
      return Promise.reject(new Error('recordWindow: "done" is written by commit, with the rows'));
    }
    return this.write(`recording window of ${record.streamKey}`, (c, db) =>
      upsertWindow(c, this.ns(db), record),
    );
  }

  listWindows(streamKeys?: string[]): Promise<WindowRecord[]> {
    return this.read('listing backfill windows', (c, db) => readWindows(c, this.ns(db), streamKeys));
  }

  async beginLoad(request: LoadRequest): Promise<Load> {
    const db = await this.database();
    const bulkMinRows = this.options.bulkFirstLoadMinRows ?? BULK_FIRST_LOAD_MIN_ROWS;
    return DuckDbLoad.begin(
      db,
      this.ns(db),
      request,
      this.log.child({ stream: request.streamKey }),
      bulkMinRows,
    );
  }

  /**
   * Ends the bulk first load of `table` (duckdb-bulk.ts): one transaction under the commit mutex,
   * so no commit of this process runs in between (no other process can have the file open).
   */
  async settle(table: string): Promise<SettleResult> {
    return this.write(`settling the bulk first load of ${table}`, async (c, db) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const removed = await settleBulk(c, this.ns(db), table);
        await c.run('COMMIT');
        return { settled: removed !== null, duplicatesRemoved: removed ?? 0 };
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** The shared instance, opened on first use (so check() works before open()). */
  private database(): Promise<SharedDatabase> {
    if (!this.opening) {
      this.opening = this.acquireWaiting();
      this.opening.catch(() => (this.opening = undefined));
    }
    return this.opening;
  }

  /**
   * Opens the file, waiting up to `lockWaitMs` while another process holds it (DuckDB admits one
   * process per file), so `sync.lock_wait_ms` means the same as for a held stream lock elsewhere.
   */
  private async acquireWaiting(): Promise<SharedDatabase> {
    const deadline = Date.now() + (this.options.lockWaitMs ?? 0);
    for (let warned = false; ; warned = true) {
      try {
        return await acquireDatabase(this.path, this.log);
      } catch (err) {
        const left = deadline - Date.now();
        if (!(err instanceof LockedError) || left <= 0) throw err;
        if (!warned) {
          this.log.warn({ path: this.path, waitMs: left }, 'database file open in another process; waiting');
        }
        await new Promise((r) => setTimeout(r, Math.min(LOCK_POLL_MS, left)));
      }
    }
  }

  private ns(db: SharedDatabase): Namespace {
    return { catalog: db.catalog, schema: this.options.schema };
  }

  private async read<T>(
    what: string,
    fn: (c: DuckDBConnection, db: SharedDatabase) => Promise<T>,
  ): Promise<T> {
    const db = await this.database();
    let c: DuckDBConnection | undefined;
    try {
      c = await connect(db);
      return await fn(c, db);
    } catch (err) {
      throw classifyDuckDbError(err, what, { path: db.path });
    } finally {
      if (c) disconnect(db, c);
    }
  }

  /** Writes outside a load go through the same mutex as commits (concurrent writers would conflict). */
  private async write<T>(
    what: string,
    fn: (c: DuckDBConnection, db: SharedDatabase) => Promise<T>,
    known?: SharedDatabase,
  ): Promise<T> {
    const db = known ?? (await this.database());
    return db.writes.run(() => this.read(what, fn));
  }
}
