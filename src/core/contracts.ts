/**
 * The contracts every part of exportsync is built on. Data flows
 *   config → plan (windows) → connector.read → mapper (rows) → destination load → commit
 * and each arrow is one of the interfaces below. Each doc comment says what breaks when an
 * implementation gets it wrong.
 */
import type { Logger } from 'pino';

// ───────────────────────────── types and rows ─────────────────────────────

/**
 * Logical column types. Dynamic (inferred) columns only ever use the lattice
 * boolean < integer < decimal < string; the others come from a stream's dictionary
 * (timestamp/date also from an unambiguous ISO-8601 shape).
 */
export type LogicalType =
  'boolean' | 'integer' | 'decimal' | 'float' | 'string' | 'timestamp' | 'date' | 'json';

/**
 * A warehouse column. `name` is the normalised warehouse identifier and never changes once
 * persisted in `_exportsync_columns`; `source` is the field name the source used.
 */
export interface ColumnSpec {
  name: string;
  source: string;
  type: LogicalType;
  origin: 'dictionary' | 'dynamic' | 'audit';
}

export interface TableSchema {
  /** Normalised warehouse table name (unqualified; the destination adds its schema/dataset). */
  table: string;
  /** Value order of every Row. Only ever grows at the end; types only widen. */
  columns: ColumnSpec[];
  /** Warehouse column names of the merge key (empty for replace_window streams). */
  primaryKey: string[];
  /**
   * Warehouse column that orders duplicates (latest wins) and scopes replace_window deletes.
   * Must be a timestamp or date column.
   */
  cursorColumn: string;
}

/**
 * One row, aligned with `TableSchema.columns`; a shorter row means trailing NULLs (rows staged
 * before a column appeared). Values are canonical text for their column's type, so they are
 * lossless (int64 and decimals are never doubles) and every bulk path can take them as-is:
 *   boolean 'true'|'false' · integer /^-?\d+$/ (int64 range) · decimal /^-?\d+(\.\d+)?$/ ·
 *   float a JS number string · timestamp 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' · date 'YYYY-MM-DD' ·
 *   json JSON text · string any text without NUL.
 * A destination that receives a value not in this form may fail the whole batch: the mapper
 * guarantees the form, and values that cannot be put in it go to `_extra`.
 */
export type Row = (string | null)[];

/** Audit columns present on every table, in this order after the data columns. */
export const AUDIT_COLUMNS = {
  loadedAt: '_exportsync_loaded_at',
  runId: '_exportsync_run_id',
  extra: '_extra',
} as const;

// ───────────────────────────── windows and state ─────────────────────────────

/** Half-open UTC interval [from, to). Adjacent windows share a boundary and never overlap. */
export interface Window {
  from: Date;
  to: Date;
}

export type WriteMode = 'merge' | 'replace_window' | 'snapshot';

/**
 * Per-stream state, stored in the destination (`_exportsync_state`) and written in the same
 * transaction as the window's rows. If it ever runs ahead of the committed rows, data is lost
 * silently on the next run; if it lags, data is only re-read (harmless, merge is idempotent).
 */
export interface StreamState {
  version: 1;
  /**
   * ISO UTC instant: the end of the last fully committed window, or the fetch instant when that
   * window reached into the present. Never max(cursor) of loaded rows.
   */
  highWaterMark: string | null;
  /** Incremented each time the table's schema changed in a commit. */
  schemaVersion: number;
  updatedAt: string;
  /**
   * File streams only: every object already loaded, by object key. A new key is loaded once; the
   * same key with the same ETag is skipped; a changed ETag loads its window again. Written in the
   * commit of the object's rows, so a crash never marks a file loaded that is not.
   */
  objects?: Record<string, ObjectMark>;
}

/** One loaded file object (file streams). */
export interface ObjectMark {
  etag: string;
  size: number;
  /** The window its rows were committed under, `YYYY-MM-DD..YYYY-MM-DD` (half-open). */
  window: string;
  loadedAt: string;
}

/**
 * A unit of work of a file stream: one window and the objects that fill it (the parts of one
 * export). Committed as one window; its `objects` are merged into the state in the same commit.
 */
export interface FileUnit {
  window: Window;
  /** For logs and plan: e.g. the export's base name. */
  label: string;
  objects: Record<string, ObjectMark>;
}

// ───────────────────────────── sources ─────────────────────────────

/**
 * A batch of source records. `records[i][j]` is the raw value of `fields[j]`: string, number,
 * boolean, null, or a JSON object/array. A record shorter than `fields` has trailing nulls.
 */
export interface RecordBatch {
  fields: string[];
  records: unknown[][];
  /** 1-based line (CSV) or record number (JSON) of each record, for error messages. */
  positions?: number[];
  /**
   * Records the reader could not split into fields as the header says (wrong column count).
   * They are never dropped: the mapper keeps them as rows with their raw text in `_extra`.
   */
  rejects?: Array<{ position: number; raw: string; error: string; values?: string[] }>;
  /**
   * Rows the reader already encoded through `ReadContext.csvPassThrough` (the CSV pass-through).
   * A batch with `csv` has no `records` and no `rejects`: the mapper is skipped for it, and the
   * engine stages it with `Load.writeCsv`. Batches keep the source's record order, so a reader
   * must cut a batch wherever it switches between encoded rows and records.
   */
  csv?: CsvRows;
}

/**
 * Rows already in bulk-load form: one CSV line per row (',' between fields, '"' quoting with '""'
 * inside, '\n' after each line, no header), each with exactly `width` fields in
 * `TableSchema.columns` order. An unquoted empty field is NULL; a quoted field is never empty.
 * Every non-NULL field, unquoted, is the canonical Row text of its column's type — exactly what the
 * mapper would have produced for the record. Produced only by a `CsvRecordWriter`; if a line breaks
 * this, a destination loads a wrong value or fails the window.
 */
export interface CsvRows {
  text: Uint8Array;
  rows: number;
  width: number;
  /**
   * Every line carries the load's audit values (`_exportsync_loaded_at`, `_exportsync_run_id`
   * where the schema has them), as the pass-through writer's constants do. A destination may then
   * write the lines where nothing fills a NULL audit value later (Postgres: a bulk first load's
   * COPY straight into the table); if it were set on lines without them, those rows would keep
   * NULL audit columns.
   */
  auditFilled?: boolean;
  /**
   * One per line, in line order: the hash of the line's primary key values (src/core/key-hash.ts;
   * equal keys hash equal). Absent when the writer could not hash every line's key. If a hash
   * differed for equal keys, a destination relying on it would miss a key repeated in a window.
   */
  keyHashes?: Float64Array;
  /**
   * What the writer measured of these lines, so a destination may skip measuring them itself
   * (DuckDB's spool check). `longestLine`: bytes of the longest line, its '\n' included.
   * `decimals`: for each listed column (index into the line), the most integer digits (sign and
   * leading zeros not counted; '0.5' has 0) and fraction digits (trailing zeros counted) of any
   * value in it, NULL counting as 0/0. A column is listed only when every line's value was
   * measured (an integer or decimal column, or one that is NULL in every line); unlisted columns
   * must be measured by whoever needs them. If a size is too small, a DECIMAL column sized from it
   * fails the cast or, worse, rounds the values; if `longestLine` is too small, the read fails.
   */
  stats?: {
    longestLine: number;
    decimals: Array<{ column: number; integerDigits: number; fractionDigits: number }>;
  };
}

/**
 * One CSV record as the byte reader split it: field `i` is `src[starts[i], ends[i])`, quotes
 * excluded; `quoted[i]` is 1 when the field was quoted (its bytes may then hold '""' pairs, and
 * an empty quoted field is NULL like an empty unquoted one). Only regular records get here: no
 * NUL byte, valid UTF-8, no '"' inside an unquoted field, nothing after a closing quote, no line
 * break inside quotes.
 */
export interface CsvRecordSpans {
  src: Uint8Array;
  count: number;
  starts: Int32Array;
  ends: Int32Array;
  quoted: Uint8Array;
}

/** A growable byte buffer (src/core/bytes.ts) that writers append to. */
export interface ByteSink {
  /** Bytes written so far; a writer that gives up resets it to where it started. */
  length: number;
  /** Room for `n` more bytes; returns the backing array (it may move on growth). */
  reserve(n: number): Uint8Array;
}

/** Encodes records of one header straight to `CsvRows` lines, or refuses a record. */
export interface CsvRecordWriter {
  /**
   * Appends the record's line to `out` and returns true, or returns false with `out` unchanged:
   * the record then goes through the mapper as a record (a value to canonicalise or widen a
   * column for, a new column, `_extra`, a reject, an empty merge key). Never true for a record the
   * mapper would map to different text.
   */
  write(record: CsvRecordSpans, out: ByteSink): boolean;
  /** Width of the lines `write` produces now; changes only after the mapper mapped records. */
  readonly width: number;
  /**
   * What the lines written since the last call measured (`CsvRows.stats` of a batch `width` wide),
   * then reset. The reader calls it at every batch it hands over, so a batch's stats cover exactly
   * its lines; a writer without it sends batches without stats.
   */
  takeStats?(width: number): NonNullable<CsvRows['stats']>;
  /**
   * `CsvRows.keyHashes` of the lines written since the last call, then reset; undefined when some
   * line's key could not be hashed (a key column the writer respells). Called with `takeStats`.
   */
  takeKeyHashes?(): Float64Array | undefined;
}

/** Offered by the engine to CSV readers when the destination stages encoded rows. */
export interface CsvPassThrough {
  /** A writer for records under this header, or null: read the body as records. */
  writerFor(fields: string[]): CsvRecordWriter | null;
}

export interface DictionaryColumn {
  /** Field name as the source spells it. */
  name: string;
  type: LogicalType;
  description?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  url: string;
  /** The body, streamed. A read error here (reset, truncation) is a retryable SourceError. */
  body: AsyncIterable<Uint8Array>;
}

export interface HttpRequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses returned to the caller instead of thrown (e.g. 403 to skip a stream). */
  acceptStatus?: number[];
}

/**
 * GET with retries on 429 (honouring Retry-After), 5xx, resets and timeouts, and a per-source
 * request budget. Resolves once a 2xx (or accepted) status and headers arrived; the body streams.
 * Throws SourceError: retryable=false for 4xx and an exhausted budget or retry policy.
 */
export interface HttpClient {
  get(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** Requests made so far (for the run summary and the budget). */
  readonly requestCount: number;
}

export interface ReadContext {
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
  /** Records per yielded batch (`sync.batch_rows`). */
  batchRows: number;
  /**
   * Set when the destination takes encoded rows: a CSV reader may hand it to `readCsv` so that
   * regular records skip the mapper (src/http/csv-bytes.ts). Readers that change records after
   * reading them (add a field, rename) must not pass it on.
   */
  csvPassThrough?: CsvPassThrough;
}

/**
 * One dataset = one warehouse table. `read` must yield every record of the window exactly as the
 * source has it (duplicates included: dedupe is the destination's merge), and must not yield
 * records outside what the source returns for the window. Bounds conversion (inclusive API
 * `end_date`) happens inside `read`: the window itself is half-open.
 */
export interface StreamDefinition {
  name: string;
  /** Source field names of the merge key. */
  primaryKey: string[];
  /** Source field of the event time; must be a timestamp or date column of the dictionary. */
  cursorField: string;
  /** Days per window (= per request, for APIs that take a date range). */
  windowDays: number;
  writeMode: WriteMode;
  /**
   * Snapshot streams (`writeMode: 'snapshot'`) read the source's whole current state once per run:
   * the engine gives them one window, the current UTC day, whose `from` day is the snapshot date.
   * Their `cursorField` is a `date` dictionary column the connector fills with that date, so rows
   * carry it. With `history`, the destination also keeps one row per key per snapshot date in
   * `<table>_history` (re-running a day replaces that day's rows).
   */
  history?: boolean;
  columns: DictionaryColumn[];
  /** Fields not in the dictionary: typed columns (true) or only into `_extra` (false). */
  dynamicColumns: boolean;
  /**
   * The earliest instant the source still has (retention). The engine clamps every window to it
   * before fetching: without the clamp a replace_window re-run over a range the source has already
   * deleted would delete the warehouse's archived copy of it and insert nothing — data lost.
   */
  earliestAvailable?(now: Date): Date;
  /**
   * File streams: the units still to load, from a listing of the bucket/folder compared with
   * `state.objects` (new keys and changed ETags only). When present the engine loads these units
   * instead of planning date windows, and passes each to `read` as `unit`.
   */
  listUnits?(state: StreamState | null, ctx: ReadContext): Promise<FileUnit[]>;
  /**
   * The stream's source contract (endpoint, fields, date semantics; each point confirmed or
   * assumed). The engine compares the first batch of each run with it and warns on drift.
   */
  contract?: StreamContract;
  read(window: Window, ctx: ReadContext, unit?: FileUnit): AsyncIterable<RecordBatch>;
  /** Human description of the requests `read` will make for a window, for `plan`. */
  describe(window: Window): string;
}

/** How sure we are of one point of a source contract, and where it comes from. */
export interface ContractPoint<T> {
  value: T;
  status: 'confirmed' | 'assumed';
  /** Where the point comes from: a doc URL, a seed file, "guess". */
  source: string;
}

/**
 * What a stream expects of its API, as data (connectors/<name>/contract.ts). The simulators and the
 * connectors both read it, so they cannot drift apart; `check --contract` compares the real API
 * with it. A wrong `endInclusive` doubles or loses a day at every window boundary.
 */
export interface StreamContract {
  endpoint: ContractPoint<string>;
  auth: ContractPoint<string>;
  format: ContractPoint<'csv' | 'ndjson' | 'json-array' | 'json-object'>;
  /** The API's end date parameter includes its day (`end_date=2024-01-31` returns the 31st). */
  endInclusive?: ContractPoint<boolean>;
  /** Longest range one request may ask for, in days. */
  maxRangeDays?: ContractPoint<number>;
  /** Field name → expected logical type, as the source spells the field. */
  fields: Record<string, ContractPoint<LogicalType>>;
  key: ContractPoint<string[]>;
}

export interface CheckVerdict {
  target: string;
  ok: boolean;
  message: string;
}

/** A configured source instance, built by a connector from its validated config section. */
export interface Source {
  /** Unique per config (default: the connector type). Prefixes table names and state keys. */
  name: string;
  type: string;
  streams: StreamDefinition[];
  /** What the user should know about this configuration (e.g. datasets skipped for a role); each run logs them once as warnings. */
  notices?: string[];
  check(ctx: ReadContext): Promise<CheckVerdict>;
}

// ───────────────────────────── destinations ─────────────────────────────

export interface DestinationCapabilities {
  name: string;
  maxIdentifierLength: number;
  /** Hard column limit of a table; the mapper's column budget stays below it. */
  maxColumns: number;
  /** DDL can run inside the commit transaction (Postgres, DuckDB) or commits implicitly. */
  transactionalDdl: boolean;
}

export interface ExistingTable {
  table: string;
  columns: Array<{ name: string; type: LogicalType | 'unknown'; nativeType: string }>;
  rowCount?: number;
}

export interface RunRecord {
  runId: string;
  command: string;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'ok' | 'partial' | 'failed' | 'interrupted';
  streams: string[];
  rows: number;
  error?: string;
  /** Per-stream figures, filled when the run ends (stored as JSON). */
  stats?: RunStreamStats[];
}

export interface RunStreamStats {
  streamKey: string;
  status: 'ok' | 'failed' | 'locked' | 'interrupted';
  windows: number;
  staged: number;
  upserted: number;
  deleted: number;
  /** Rows inserted or changed in windows that lay before the previous mark (late data). */
  lateRows: number;
  requests: number;
  bytes: number;
  durationMs: number;
  error?: string;
}

/**
 * One window of a backfill in `_exportsync_windows`. Keyed by (streamKey, window): a window done
 * by any backfill is done, so a re-run resumes; `shard` records which process took it.
 */
export interface WindowRecord {
  streamKey: string;
  window: Window;
  backfillId: string;
  /** `i/n` of the process that took the window. */
  shard: string;
  status: 'running' | 'done' | 'failed';
  rows: number;
  attempts: number;
  durationMs: number;
  error?: string;
  updatedAt: string;
}

export interface StreamLock {
  release(): Promise<void>;
}

export interface LoadRequest {
  /** `<source>.<stream>`: the state key. */
  streamKey: string;
  schema: TableSchema;
  runId: string;
  /**
   * The `mode` and `history` the commit will be given, when the caller knows them at begin (the
   * engine always does). A destination may use them to write rows where the commit would put
   * them before the commit (Postgres: a new merge table's first window COPYs straight into it).
   * If they differed from the commit's, such rows would have gone in under the wrong mode; a
   * destination must treat their absence as "unknown", never as a default.
   */
  mode?: WriteMode;
  history?: boolean;
}

export interface CommitRequest {
  /** Final schema for this window (a superset of every schema passed to write). */
  schema: TableSchema;
  mode: WriteMode;
  window: Window;
  /**
   * The stream's new state. Absent for a backfill window: the state row (the daily run's mark) is
   * left as it is, so a backfill never moves the daily mark backwards or past a gap.
   */
  state?: StreamState;
  /**
   * Backfill only: upsert this row (status 'done') into `_exportsync_windows` in the same
   * transaction, so the ledger never says done for a window whose rows were rolled back.
   */
  ledger?: WindowRecord;
  /**
   * Snapshot only: also write the deduplicated staged rows to `<schema.table>_history` (same
   * columns, key = primaryKey + cursorColumn), replacing that table's rows whose cursor lies in the
   * window. Same transaction as everything else. Staged cursors must lie in the window (else
   * DataError, nothing committed). History has no `_deleted_at` and no column-map entries of its
   * own: its columns follow the target's.
   */
  history?: boolean;
}

export interface CommitResult {
  /** Rows staged for the window (before dedupe). */
  staged: number;
  /** Rows inserted or updated in the target. */
  upserted: number;
  /** Rows deleted from the target (replace_window). */
  deleted: number;
}

/**
 * A load of one window of one stream. Nothing it does is visible in the target table or the
 * state until `commit` returns.
 */
export interface Load {
  /**
   * Stage rows through the bulk path. `schema` may have grown since the previous call (columns
   * appended, types widened): the staging area follows. Must not hold all rows in memory.
   */
  write(rows: Row[], schema: TableSchema): Promise<void>;
  /**
   * Optional fast path: stage rows already encoded (`rows.width === schema.columns.length`).
   * Calls to `write` and `writeCsv` are staged in call order, which is the order "latest staged
   * wins" goes by: reordering them lets an older duplicate overwrite a newer one.
   */
  writeCsv?(rows: CsvRows, schema: TableSchema): Promise<void>;
  /**
   * In ONE transaction: bring the target table to `schema` (create, add columns, widen), apply
   * `mode` for the window (merge: upsert on the key, latest cursor then latest staged wins;
   * replace_window: delete target rows with cursor in [from, to), insert staged — a staged row
   * whose cursor is NULL or outside the window is refused with a DataError, since no re-run of
   * its own window would ever replace it), persist the
   * column map and write `state` (and `ledger`). Commits of one table may run at once from several
   * processes (a sharded backfill): the destination serialises what must be (schema changes, the
   * column map). A crash before it returns leaves rows and state untouched;
   * after it returns both are durable. Getting this wrong loses or doubles data.
   */
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Drops staged rows; target and state untouched. Safe after a failed write or commit. */
  abort(): Promise<void>;
}

export interface Destination {
  readonly capabilities: DestinationCapabilities;
  /** Connect; create the schema and the `_exportsync_*` tables if absent. Idempotent. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Connectivity and permissions; never writes user tables. */
  check(): Promise<CheckVerdict>;
  describeTable(table: string): Promise<ExistingTable | null>;
  /** Persisted column map of a table, in column order ([] when the table is new). */
  getColumnMap(table: string): Promise<ColumnSpec[]>;
  getState(streamKey: string): Promise<StreamState | null>;
  listStates(): Promise<Array<{ streamKey: string; state: StreamState }>>;
  /** Deletes the state row; the next run starts from `backfill_days`. Returns false if absent. */
  resetState(streamKey: string): Promise<boolean>;
  /**
   * Exclusive lock on a stream across processes until released (or the process dies). If held
   * elsewhere: wait up to `waitMs`, then throw LockedError. Two holders at once double data.
   */
  lock(streamKey: string, waitMs: number): Promise<StreamLock>;
  /** Upsert of the run row in `_exportsync_runs`. */
  recordRun(run: RunRecord): Promise<void>;
  /** The last `limit` runs, newest first. */
  listRuns(limit: number): Promise<RunRecord[]>;
  /**
   * Upsert of one ledger row outside any load (status running or failed). Never use it for
   * 'done': that is written by `commit` with the rows.
   */
  recordWindow(record: WindowRecord): Promise<void>;
  /** Ledger rows of these streams (all when omitted), ordered by stream and window start. */
  listWindows(streamKeys?: string[]): Promise<WindowRecord[]>;
  /**
   * Starts the load of one window. The engine holds at most two loads of one stream at once (it
   * stages window N+1 while window N commits) under one stream lock, and commits them strictly in
   * order: a destination must let a second load stage while the first commits, and must not let
   * one load's staging area or connection leak into the other.
   */
  beginLoad(request: LoadRequest): Promise<Load>;
  /**
   * Optional: ends the bulk first load of `table`. A destination may fill a merge table that the
   * commit of its first window created without enforcing the key (no index to maintain, no key
   * check per window: the bulk-load speed), remembering that, with the creating run, in its
   * bookkeeping in that same transaction. Until settled, that run's commits into the table append,
   * so a key the source repeats in two windows is in it twice meanwhile. The first commit of any
   * other run (the run after a crash) must settle the table before it merges (in its own
   * transaction or first thing in its commit's): otherwise the days its lookback re-reads would be appended a second time and stay
   * doubled until some run reached its end. `settle` keeps one row per key — the latest cursor,
   * then the latest `_exportsync_loaded_at`, then the latest staged (unlike a keyed merge, a later
   * window with an older cursor does not win) — and enforces the key, in ONE transaction; a crash
   * leaves the table unsettled, never half-deduplicated. A no-op (`{ settled: false }`) for a table
   * that is not in a bulk first load. Safe while other processes commit into the table: their
   * commits either finish before it or see the settled table and merge. The engine calls it after
   * a stream's windows (run and backfill), holding the stream's lock.
   */
  settle?(table: string): Promise<SettleResult>;
}

export interface SettleResult {
  /** The table was in a bulk first load and is now keyed. */
  settled: boolean;
  /** Rows removed because a later row of the same key replaced them. */
  duplicatesRemoved: number;
}

export type { Logger };
