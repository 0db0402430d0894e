/**
 * Every default exportsync uses, in one place. The config schema, the JSON Schema for editors
 * and the README table all read from here.
 */
export const DEFAULTS = {
  /** First run of a stream loads this many UTC days, ending with today (today included). */
  backfill_days: 31,
  /** Each later run re-reads this many whole days before the day of the stored mark (late data). */
  lookback_days: 1,
  /** Streams synced at once. Windows within a stream are always committed in order. */
  concurrency: 2,
  /** Rows handed to the destination per write call. */
  batch_rows: 10_000,
  /**
   * Regular CSV records go from the response bytes straight into the destination's bulk load
   * (every destination), skipping the mapper; off = every record through the mapper (slower).
   */
  csv_pass_through: true,
  /** Attempts per HTTP request (first try included) on 429, 5xx, resets and timeouts. */
  retry_attempts: 6,
  /** First backoff delay; doubles each attempt with jitter, capped by retry_max_delay_ms. */
  retry_min_delay_ms: 500,
  /** Cap on one backoff delay, and on an honoured Retry-After. */
  retry_max_delay_ms: 60_000,
  /** Attempts per window when the body fails midway (truncated, reset): the window restarts. */
  window_attempts: 3,
  /** No byte received for this long ends the request (retried). */
  request_timeout_ms: 120_000,
  /** Requests one source may make in one run; a guard against runaway loops and API cost. */
  max_requests_per_run: 5_000,
  /** How long a run waits for another run's lock on a stream before exiting with code 4. */
  lock_wait_ms: 0,
  /** Dynamic columns per table before further new fields go to `_extra` (below every warehouse limit). */
  column_budget: 500,
  /** Where the embedded default destination writes. */
  duckdb_path: './exportsync.duckdb',
  /** Warehouse schema (Postgres) holding the tables. */
  schema: 'exportsync',
  /**
   * DuckDB keeps tables in `main`: the file's own name is already the catalog (`exportsync`),
   * so `SELECT * FROM scarf_events` works in the duckdb shell without qualification.
   */
  duckdb_schema: 'main',
  /**
   * A new merge table's first run loads without the key and settles it at the end (Postgres,
   * DuckDB): about a third faster on Postgres; meanwhile a key the source sends on two days is
   * twice and the Postgres table has no primary key (README "How it works").
   */
  bulk_first_load: true,
} as const;
