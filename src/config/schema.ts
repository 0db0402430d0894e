/**
 * The zod schema of the whole config file: `destination`, `sync`, `sources`, `metrics`. It is the single
 * description of what a valid file is: the loader validates with it, the JSON Schema for editors
 * is generated from it, and every default comes from DEFAULTS (src/core/defaults.ts), never
 * from a literal here. Objects are strict: a misspelt key is an error, not a silently ignored
 * setting (a typo'd `backfil_days` would otherwise backfill 31 days instead of 365 without a word).
 */
import { z } from 'zod';
import { DEFAULTS } from '../core/defaults.js';
import { bigqueryDestinationSchema } from './bigquery.js';
import { snowflakeDestinationSchema } from './snowflake.js';
import { sourceSchema } from './sources.js';

/** A whole number ≥ `min` (the error map turns every failure into "must be an integer ≥ min"). */
const int = (min: number) => z.number().int().min(min);

/** Warehouse schema names are quoted identifiers; lower snake_case keeps them usable unquoted. */
const schemaName = (fallback: string) =>
  z
    .string()
    .max(63)
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower snake_case: letters, digits, underscores, not starting with a digit')
    .default(fallback)
    .describe(`Warehouse schema holding the tables (default ${fallback}).`);

export const duckdbDestinationSchema = z
  .object({
    type: z.literal('duckdb'),
    path: z
      .string()
      .min(1)
      .default(DEFAULTS.duckdb_path)
      .describe(`DuckDB database file, relative to the working directory (default ${DEFAULTS.duckdb_path}).`),
    schema: schemaName(DEFAULTS.duckdb_schema),
    bulk_first_load: z
      .boolean()
      .default(DEFAULTS.bulk_first_load)
      .describe(
        "A new merge table's first run loads without its key and settles it at the end (faster; until then a key the source sends on two days is twice). false: keyed from the first commit.",
      ),
  })
  .strict();

export const postgresDestinationSchema = z
  .object({
    type: z.literal('postgres'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .describe('Connection URL; write ${DATABASE_URL} so the password stays in the environment.'),
    schema: schemaName(DEFAULTS.schema),
    statement_timeout_ms: int(1)
      .optional()
      .describe('Server-side statement_timeout per session (default: none).'),
    bulk_first_load: z
      .boolean()
      .default(DEFAULTS.bulk_first_load)
      .describe(
        "A new merge table's first run loads without its key and settles it at the end (faster; until then a key the source sends on two days is twice). false: keyed from the first commit.",
      ),
  })
  .strict();

export const destinationSchema = z.discriminatedUnion('type', [
  duckdbDestinationSchema,
  postgresDestinationSchema,
  bigqueryDestinationSchema,
  snowflakeDestinationSchema,
]);

export const retrySchema = z
  .object({
    attempts: int(1)
      .default(DEFAULTS.retry_attempts)
      .describe('Attempts per HTTP request on 429, 408, 5xx, resets and timeouts, the first try included.'),
    min_delay_ms: int(0)
      .default(DEFAULTS.retry_min_delay_ms)
      .describe('First backoff delay; doubles per attempt, with jitter.'),
    max_delay_ms: int(0)
      .default(DEFAULTS.retry_max_delay_ms)
      .describe('Cap on one backoff delay and on an honoured Retry-After.'),
  })
  .strict()
  .superRefine((retry, ctx) => {
    if (retry.max_delay_ms < retry.min_delay_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_delay_ms'],
        message: `must be ≥ min_delay_ms (${retry.min_delay_ms})`,
      });
    }
  });

export const syncSchema = z
  .object({
    backfill_days: int(1)
      .default(DEFAULTS.backfill_days)
      .describe("UTC days a stream's first run loads, today included."),
    lookback_days: int(0)
      .default(DEFAULTS.lookback_days)
      .describe(
        'Whole days each later run re-reads before the day of the stored mark, for late-arriving data.',
      ),
    concurrency: int(1)
      .default(DEFAULTS.concurrency)
      .describe('Streams synced at once (the windows of one stream are always in order).'),
    batch_rows: int(1)
      .default(DEFAULTS.batch_rows)
      .describe('Records per batch from the parser to the destination.'),
    csv_pass_through: z
      .boolean()
      .default(DEFAULTS.csv_pass_through)
      .describe(
        'Let regular CSV records skip the mapper and go from the response bytes straight into the bulk load (every destination); the loaded values are the same either way. false: map every record (slower).',
      ),
    window_attempts: int(1)
      .default(DEFAULTS.window_attempts)
      .describe('Attempts per window when a response breaks off midway or a commit hits a transient error.'),
    request_timeout_ms: int(1)
      .default(DEFAULTS.request_timeout_ms)
      .describe('No byte for this long ends a request (then retried).'),
    max_requests_per_run: int(1)
      .default(DEFAULTS.max_requests_per_run)
      .describe('Requests one source may make in one run, retries included (cost guard).'),
    lock_wait_ms: int(0)
      .default(DEFAULTS.lock_wait_ms)
      .describe("How long to wait for another run's lock on a stream before giving up (exit 4)."),
    column_budget: int(1)
      .default(DEFAULTS.column_budget)
      .describe('Dynamic columns per table; past it, new fields go to the _extra JSON column.'),
    retry: retrySchema
      .prefault({})
      .describe(
        'HTTP retry policy for 429, 408, 5xx, resets and timeouts (exponential backoff with jitter).',
      ),
  })
  .strict();

/**
 * Source names must be unique: they prefix table names and state keys, so two sources with one
 * name would write into each other's tables and share a high-water mark. Checked on the raw
 * entries (`when`), so a duplicate is reported even when another entry has errors.
 */
const sourcesSchema = z
  .array(sourceSchema)
  .min(1)
  .superRefine(
    (entries: unknown[], ctx) => {
      const firstIndex = new Map<string, number>();
      entries.forEach((entry, index) => {
        const name = effectiveName(entry);
        if (name === undefined) return;
        const first = firstIndex.get(name);
        if (first === undefined) firstIndex.set(name, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate source name "${name}" (also sources[${first}]); give each source a distinct name`,
          });
        }
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

/** `name`, else `type`: the name a source entry will have once defaults are applied. */
export function effectiveName(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { name, type } = entry as { name?: unknown; type?: unknown };
  if (typeof name === 'string') return name;
  return typeof type === 'string' ? type : undefined;
}

/**
 * Where a run publishes its Prometheus metrics (src/metrics). Both optional; with neither, no
 * metrics are written. A `textfile` that does not end in `.prom` would be silently ignored by
 * node_exporter's textfile collector, so it is refused here rather than discovered when an alert
 * never fires.
 */
export const metricsSchema = z
  .object({
    textfile: z
      .string()
      .regex(/\.prom$/, "must end in .prom (node_exporter's textfile collector reads only *.prom files)")
      .optional()
      .describe(
        "Prometheus text file written atomically at the end of each run, for node_exporter's textfile collector (e.g. /var/lib/node_exporter/textfile/exportsync.prom).",
      ),
    pushgateway_url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .optional()
      .describe(
        'Pushgateway base URL; each run PUTs its metrics to <url>/metrics/job/exportsync. A failed push is a warning, never a failed run.',
      ),
  })
  .strict();

export const configSchema = z
  .object({
    destination: destinationSchema.describe(
      'Where the data goes: duckdb (embedded file), postgres, bigquery or snowflake.',
    ),
    sync: syncSchema.prefault({}).describe('Run settings; every key optional.'),
    sources: sourcesSchema.describe(
      'The sources to sync (an API, or its export files in files mode); each entry is discriminated on `type`.',
    ),
    metrics: metricsSchema
      .optional()
      .describe('Optional Prometheus metrics of each run: a textfile, a Pushgateway, or both.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    // a union member cannot carry its own refinement, so the cross-key rule lives here
    const d = config.destination;
    if (d.type !== 'snowflake') return;
    const set = SNOWFLAKE_CREDENTIALS.filter((k) => d[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination', set[1] ?? 'password'],
        message: `set exactly one of ${SNOWFLAKE_CREDENTIALS.join(', ')} (${set.length === 0 ? 'none is set' : `${set.join(' and ')} are set`})`,
      });
    }
  });

const SNOWFLAKE_CREDENTIALS = ['private_key_path', 'private_key', 'password'] as const;

/** The validated file, before source names and per-source settings are resolved (see load.ts). */
export type ParsedConfig = z.output<typeof configSchema>;
/** The `metrics:` section as validated. */
export type MetricsSettings = z.output<typeof metricsSchema>;
/** What a user may write (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
