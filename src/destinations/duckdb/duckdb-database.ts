/**
 * One DuckDB instance per database file per process, shared by every destination object on that
 * file, plus the process-wide commit mutex and stream locks.
 *
 * Why shared: opening the same file twice in one process gives two independent engines that both
 * write the file (DuckDB's file lock is per process, so it does not stop them) — each sees stale
 * data and the file can be corrupted. Other processes are excluded by DuckDB's own file lock, so
 * a lock taken here is exclusive across processes too: no other process can have the file open.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Logger, StreamLock } from '../../core/contracts.js';
import { LockedError } from '../../core/errors.js';
import { classifyDuckDbError } from './duckdb-errors.js';

/**
 * DuckDB's worker threads: one core fewer than the machine has, at least one. A sync's Node thread
 * reads and encodes window N+1 while DuckDB commits window N; with DuckDB's default (a thread per
 * core) the two fight for the same cores and DuckDB's threads spend CPU waiting on each other.
 * Measured on 2 cores, 1M rows in 100k-row windows (bench/results/duckdb-commit.md): 1 thread
 * instead of 2 cut the commits' CPU by a quarter to a third and their wall time with it.
 */
export function workerThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/**
 * Never download an extension (json, icu and parquet are built into the binding). Never set
 * `preserve_insertion_order = false`: the spool's staging order (duckdb-spool.ts) relies on it.
 *
 * `allocator_bulk_deallocation_flush_threshold`: DuckDB's allocator (the jemalloc linked into the
 * binding) keeps freed pages for reuse and gives them back to the system only when a single
 * release exceeds this (default 512 MiB, never reached by a window's statements), so a sync's RSS
 * ratcheted up to ~400 MB over its first windows while DuckDB itself held < 40 MB. At 32 MB the
 * pages go back after each large statement: peak RSS of 10 windows of 100k rows 411 → ~300 MB
 * for ~0.5 s more system CPU per million rows (bench/results/duckdb-commit.md).
 *
 * `allocator_background_threads`: a jemalloc thread that returns freed dirty pages in the background
 * instead of keeping them until the next allocation. With the bulk first load the buffer pool stays
 * flat, and what still grew was those pages: peak RSS of 10 windows of 100k rows (destination
 * alone) 388–417 → 329–360 MB, same CPU (bench/results/duckdb-commit.md, 2026-11-26 session 4).
 */
const INSTANCE_OPTIONS = {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  threads: String(workerThreads()),
  allocator_bulk_deallocation_flush_threshold: '32MiB',
  allocator_background_threads: 'true',
  memory_limit: `${memoryLimitMiB(0)}MiB`,
};

/**
 * DuckDB's `memory_limit` (its buffer pool: cached table blocks, hash tables, sorts; past it,
 * operators spill to `<database>.tmp`) for a schema of `columns` columns: a base plus a share per
 * column, since the Appender and a wide insert hold a block per column. DuckDB's default (80 % of
 * the machine's RAM) let the pool keep every block a sync ever read: RSS grew ~3.8 MB per 100k
 * rows loaded. Measured (bench/results/duckdb-commit.md): 128 MiB keeps the narrow Scarf load flat;
 * the 252-column customer_instances load fails its Appender at 128 MiB ("could not allocate
 * block") and passes at 512 MiB. Too low for a schema and a commit fails; too high and RSS grows.
 */
export function memoryLimitMiB(columns: number, longestLine = 0): number {
  return 128 + 2 * columns + lineMiB(longestLine);
}

/**
 * What `read_csv` needs beyond that for lines longer than its default 2 MB `max_line_size`: its
 * buffers are 16 lines long, two per reading thread (a 2.5 MB line failed a commit at 150 MiB).
 */
function lineMiB(longestLine: number): number {
  if (longestLine <= 2_000_000) return 0;
  return Math.ceil((32 * workerThreads() * longestLine) / 2 ** 20);
}

/** Runs callbacks one at a time, in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((r) => (done = r));
    await previous;
    try {
      return await fn();
    } finally {
      done();
    }
  }
}

export interface SharedDatabase {
  readonly path: string;
  readonly instance: DuckDBInstance;
  /** The database's catalog name (DuckDB derives it from the file name). */
  readonly catalog: string;
  /** Serialises write transactions: concurrent ones on the shared `_exportsync_*` rows would abort. */
  readonly writes: Mutex;
  refs: number;
  readonly connections: Set<DuckDBConnection>;
  /** The `memory_limit` set (MiB): only ever raised, by `fitMemoryLimit`. */
  memoryLimitMiB: number;
}

/**
 * Raises the instance's `memory_limit` (SET GLOBAL: every connection) to fit a schema of `columns`
 * columns, never lowers it: a load of a narrower table must not starve a wider one running at
 * the same time. Called when a load begins, when its schema grows, and before a commit reads
 * spooled lines longer than `read_csv`'s default limit.
 */
export async function fitMemoryLimit(
  db: SharedDatabase,
  conn: DuckDBConnection,
  columns: number,
  longestLine = 0,
): Promise<void> {
  const want = memoryLimitMiB(columns, longestLine);
  if (want <= db.memoryLimitMiB) return;
  db.memoryLimitMiB = want;
  await conn.run(`SET GLOBAL memory_limit = '${want}MiB'`);
}

const databases = new Map<string, Promise<SharedDatabase>>();

/** Absolute path with symlinks of the directory resolved, so two spellings share one instance. */
export function canonicalPath(path: string): string {
  const abs = resolve(path);
  try {
    return join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

export async function acquireDatabase(path: string, log: Logger): Promise<SharedDatabase> {
  const key = canonicalPath(path);
  let pending = databases.get(key);
  if (!pending) {
    pending = (async () => {
      try {
        mkdirSync(dirname(key), { recursive: true });
        const instance = await DuckDBInstance.create(key, INSTANCE_OPTIONS);
        const c = await instance.connect();
        let catalog: string;
        try {
          catalog = String((await c.runAndReadAll('SELECT current_database()')).getRows()[0]?.[0]);
        } finally {
          c.closeSync();
        }
        log.debug({ path: key, catalog }, 'duckdb opened');
        return {
          path: key,
          instance,
          catalog,
          writes: new Mutex(),
          refs: 0,
          connections: new Set<DuckDBConnection>(),
          memoryLimitMiB: memoryLimitMiB(0),
        };
      } catch (err) {
        databases.delete(key);
        throw classifyDuckDbError(err, `opening ${key}`, { path: key });
      }
    })();
    databases.set(key, pending);
  }
  const db = await pending;
  db.refs += 1;
  return db;
}

/** Drops one reference; the last one checkpoints (WAL folded into the file) and releases the file. */
export async function releaseDatabase(db: SharedDatabase, log: Logger): Promise<void> {
  db.refs -= 1;
  if (db.refs > 0) return;
  databases.delete(db.path);
  for (const c of db.connections) c.closeSync();
  db.connections.clear();
  try {
    const c = await db.instance.connect();
    try {
      await c.run('CHECKPOINT');
    } finally {
      c.closeSync();
    }
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'duckdb checkpoint at close failed');
  } finally {
    db.instance.closeSync();
    log.debug({ path: db.path }, 'duckdb closed');
  }
}

/** A new connection in UTC (timestamps and date/timestamp comparisons never depend on the host zone). */
export async function connect(db: SharedDatabase): Promise<DuckDBConnection> {
  const c = await db.instance.connect();
  db.connections.add(c);
  try {
    await c.run(`SET TimeZone = 'UTC'`);
  } catch (err) {
    disconnect(db, c);
    throw err;
  }
  return c;
}

export function disconnect(db: SharedDatabase, c: DuckDBConnection): void {
  if (db.connections.delete(c)) c.closeSync();
}

// ───────────────────────────── stream locks ─────────────────────────────

interface Holder {
  released: Promise<void>;
  release: () => void;
}

const streamLocks = new Map<string, Holder>();

/**
 * Exclusive lock on `streamKey` of the database `dbKey` within this process (other processes
 * cannot open the file at all). Waits up to `waitMs` for the holder, then throws LockedError.
 */
export async function lockStream(dbKey: string, streamKey: string, waitMs: number): Promise<StreamLock> {
  const key = `${dbKey}\u0000${streamKey}`;
  const deadline = Date.now() + Math.max(0, waitMs);
  for (;;) {
    const holder = streamLocks.get(key);
    if (!holder) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new LockedError(
        `stream ${streamKey} is locked by another run in this process (waited ${waitMs} ms)`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([holder.released, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
    clearTimeout(timer);
  }
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const mine: Holder = { released, release };
  streamLocks.set(key, mine);
  return {
    async release() {
      if (streamLocks.get(key) === mine) streamLocks.delete(key);
      mine.release();
    },
  };
}
