import { z } from 'zod';
import { filesLocationFields } from '../files/config.js';

/**
 * Fields every source section accepts, whatever its connector. Per-source overrides of the
 * `sync` defaults; unset means "use `sync.<same key>`". Each `.describe()` is the user-facing
 * text of docs/config.md and of editor hovers (schema/exportsync.schema.json); a connector whose
 * meaning differs (its `streams`, its default `window_days`) re-describes the field in its own
 * schema, keeping the validation here.
 */
export const sourceCommonFields = {
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'lower snake_case: letters, digits, underscores, starting with a letter')
    .optional()
    .describe(
      'Name of this source, unique in the config, lower snake_case. Tables are `<name>_<stream>` and ' +
        'state keys `<name>.<stream>`, so renaming a source later starts new, empty tables (the old ones stay). ' +
        'Default: its `type`; a second source of the same type needs its own name.',
    ),
  streams: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(
      "Streams to sync. Default: every stream the connector has. An unknown name is a config error listing the connector's streams.",
    ),
  backfill_days: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "UTC days the first run of each of this source's streams loads, today included. Later runs continue from the stored mark; for older history use `exportsync backfill`.",
    ),
  lookback_days: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'Whole days each later run re-reads before the day of the stored mark, to pick up late or restated data; re-read rows replace or merge, never duplicate.',
    ),
  window_days: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("UTC days per request window. Default: each stream's own (see the connector)."),
  max_requests_per_run: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'HTTP requests this source may make in one run, retries and polls included: a guard against runaway API cost. ' +
        'Past it the stream at hand fails with `request budget exhausted` (windows committed before stay) and the next run goes on from there. ' +
        'A backfill counts it per process.',
    ),
};

/**
 * The `files:` location keys (src/files/config.ts) with their user-facing descriptions, for the
 * connectors with a files mode. Validation is exactly `filesLocationFields`'.
 */
export const filesLocationDescribedFields = {
  url: filesLocationFields.url.describe(
    'Folder holding the export files: `s3://bucket/prefix`, `gs://bucket/prefix` or `file:///absolute/dir`; ' +
      'every object under it is listed, sub-folders included. No credentials here: S3 uses the AWS default chain ' +
      '(environment, profile, IRSA, instance role), GCS Application Default Credentials (docs/files.md).',
  ),
  region: filesLocationFields.region.describe(
    "S3 only: the bucket's region. Default: the AWS chain's (`AWS_REGION`, the profile).",
  ),
  endpoint: filesLocationFields.endpoint.describe(
    'S3: endpoint of an S3-compatible server (MinIO, Ceph, R2), path-style unless `force_path_style: false`. ' +
      "GCS: the JSON API endpoint, e.g. an emulator (no credentials are sent to it). Default: the cloud's own endpoint.",
  ),
  force_path_style: filesLocationFields.force_path_style.describe(
    'S3 only: address objects as `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint>/<key>`. Default: true when `endpoint` is set, else false.',
  ),
};

/** Description of a connector's `files:` block (the row above its keys in docs/config.md). */
export const FILES_BLOCK_DESCRIPTION =
  'Required with `mode: files`, an error with `mode: api`: where the export files are.';

/** `a`, `b`, `c`: names as inline code, for descriptions that list a connector's streams. */
export const codeList = (names: readonly string[]): string => names.map((n) => `\`${n}\``).join(', ');
