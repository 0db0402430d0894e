import { z } from 'zod';
import {
  FILES_BLOCK_DESCRIPTION,
  codeList,
  filesLocationDescribedFields,
  sourceCommonFields,
} from '../../src/config/source-common.js';
import { ADMIN_ONLY, DATASET_NAMES } from './dictionary.js';

/**
 * A field only api mode needs: optional in the schema, required in api mode by the refinement
 * below; typed as present because only api-mode code reads it.
 */
function apiOnly<T extends z.ZodType>(schema: T): T {
  return schema.optional() as unknown as T;
}

/**
 * The `sources[]` entry of a marketplace analytics source. The HTTP contract is OUR design (no
 * public API is documented, source-apis.md §3), so the base URL and export path are configurable.
 * A publisher listing an admin-only dataset is a config error here, before any request: otherwise
 * the run would only find out from a 403 and report a partial run every night.
 */
export const marketplaceSourceSchema = z
  .object({
    type: z.literal('marketplace'),
    ...sourceCommonFields,
    streams: sourceCommonFields.streams.describe(
      `Datasets to sync, each into \`<name>_<dataset>\`: ${codeList(DATASET_NAMES)}. ` +
        `Default: every dataset \`role\` can read (a publisher skips the admin-only ${codeList(ADMIN_ONLY)}); ` +
        'listing an admin-only one with `role: publisher`, or an unknown name, is a config error.',
    ),
    window_days: sourceCommonFields.window_days.describe(
      'UTC days per export request (inclusive `start_date`..`end_date`). Default 7; smaller windows keep an export ' +
        "under the 100,000 rows past which it becomes an asynchronous job. Files mode uses each report's own days.",
    ),
    /**
     * `api` (default): the export endpoint. `files`: saved weekly/monthly report files in a bucket
     * or folder (`files.url`), into the same tables; no API calls (docs/files.md).
     */
    mode: z
      .enum(['api', 'files'])
      .default('api')
      .describe(
        '`api`: read the export endpoint (needs `base_url` and `token`). `files`: load saved weekly/monthly report ' +
          'files from a bucket or folder (`files.url`) into the same tables, with no API call and no token; `role` ' +
          'still decides which datasets exist (docs/files.md).',
      ),
    /** Files mode: where the report files are, and how they are named. */
    files: z
      .object({
        ...filesLocationDescribedFields,
        /** File name without extension: `{dataset}`, `{start}`, `{end}` (YYYY-MM-DD, end inclusive), `*`. */
        name_pattern: z
          .string()
          .refine(
            (p) => ['{dataset}', '{start}', '{end}'].every((t) => p.includes(t)),
            'must contain {dataset}, {start} and {end}',
          )
          .optional()
          .describe(
            'Report file name without its extension (`.csv` or `.json`, optionally `.gz`): `{dataset}` (the dataset ' +
              'name, or its display name such as `Install events`), `{start}` and `{end}` (`YYYY-MM-DD`, `{end}` ' +
              'inclusive), all three required, and `*` for any text. Default: `{dataset}-{start}-{end}`. A file ' +
              'that does not match is skipped with a warning.',
          ),
      })
      .strict()
      .optional()
      .describe(FILES_BLOCK_DESCRIPTION),
    /** Origin of the marketplace (no default: there is no public endpoint). Required in api mode. */
    base_url: apiOnly(z.url()).describe(
      'Required with `mode: api`. Base URL of the marketplace, `export_path` appended; no default, as there is no ' +
        'public endpoint. The token is only sent to URLs on its origin.',
    ),
    /** API token, sent as `Authorization: Bearer <token>`; write `${MARKETPLACE_TOKEN}`. Required in api mode. */
    token: apiOnly(z.string().min(1)).describe(
      'Required with `mode: api`; unused in files mode. API token, sent as `Authorization: Bearer <token>`; write ' +
        '`${MARKETPLACE_TOKEN}` so it comes from the environment. Its role must match `role`.',
    ),
    /** The token's role: a publisher sees its own packages/account; admin datasets need `admin`. */
    role: z
      .enum(['publisher', 'admin'])
      .default('publisher')
      .describe(
        `The token's role: \`publisher\` (its own packages and account) or \`admin\` (everything). With ` +
          `\`publisher\` the admin-only datasets ${codeList(ADMIN_ONLY)} are left out of the default \`streams\`. ` +
          'A dataset the source refuses (403) fails only its stream.',
      ),
    /** Path of the export endpoint under base_url. */
    export_path: z
      .string()
      .regex(/^\//, 'must start with /')
      .default('/api/marketplace/analytics/export')
      .describe('Path of the export endpoint, appended to `base_url`; starts with `/`.'),
    /** Response format asked for: `csv` (raw rows) or `json` (arrays of period objects). */
    format: z
      .enum(['csv', 'json'])
      .default('csv')
      .describe(
        'Format asked of the export: `csv` (a header row, then one row per record) or `json` (`{dataset, periods: [...]}`); ' +
          'both give the same rows. Files mode reads each file by its extension instead.',
      ),
    /** Poll attempts of one async (202) export job before giving up. */
    max_job_polls: z
      .number()
      .int()
      .min(1)
      .default(60)
      .describe(
        'Status polls of one asynchronous export job (answered 202, over 100,000 rows) before its stream fails and the ' +
          "next run retries the window. Polls wait the server's `Retry-After`, at most 30 s each, and count against " +
          '`max_requests_per_run`.',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'files' && !c.files) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'required with mode: files (files.url)' });
    }
    if (c.mode !== 'files') {
      if (c.files) ctx.addIssue({ code: 'custom', path: ['files'], message: 'only with mode: files' });
      for (const key of ['base_url', 'token'] as const) {
        if (c[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required' });
      }
    }
    if (c.role !== 'publisher' || !c.streams) return;
    c.streams.forEach((s, i) => {
      if (ADMIN_ONLY.includes(s)) {
        ctx.addIssue({
          code: 'custom',
          path: ['streams', i],
          message: `dataset '${s}' is admin only; this source has role 'publisher' (set role: admin with an admin token, or remove it)`,
        });
      }
    });
  });

export type MarketplaceSourceConfig = z.infer<typeof marketplaceSourceSchema>;
