import { z } from 'zod';
import { sourceCommonFields } from '../../src/config/source-common.js';
import { filesLocationFields } from '../../src/files/config.js';
import { ADMIN_ONLY } from './dictionary.js';

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
    /**
     * `api` (default): the export endpoint. `files`: saved weekly/monthly report files in a bucket
     * or folder (`files.url`), into the same tables; no API calls (docs/files.md).
     */
    mode: z.enum(['api', 'files']).default('api'),
    /** Files mode: where the report files are, and how they are named. */
    files: z
      .object({
        ...filesLocationFields,
        /** File name without extension: `{dataset}`, `{start}`, `{end}` (YYYY-MM-DD, end inclusive), `*`. */
        name_pattern: z
          .string()
          .refine(
            (p) => ['{dataset}', '{start}', '{end}'].every((t) => p.includes(t)),
            'must contain {dataset}, {start} and {end}',
          )
          .optional(),
      })
      .strict()
      .optional(),
    /** Origin of the marketplace (no default: there is no public endpoint). Required in api mode. */
    base_url: apiOnly(z.url()),
    /** API token, sent as `Authorization: Bearer <token>`; write `${MARKETPLACE_TOKEN}`. Required in api mode. */
    token: apiOnly(z.string().min(1)),
    /** The token's role: a publisher sees its own packages/account; admin datasets need `admin`. */
    role: z.enum(['publisher', 'admin']).default('publisher'),
    /** Path of the export endpoint under base_url. */
    export_path: z.string().regex(/^\//, 'must start with /').default('/api/marketplace/analytics/export'),
    /** Response format asked for: `csv` (raw rows) or `json` (arrays of period objects). */
    format: z.enum(['csv', 'json']).default('csv'),
    /** Poll attempts of one async (202) export job before giving up. */
    max_job_polls: z.number().int().min(1).default(60),
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
