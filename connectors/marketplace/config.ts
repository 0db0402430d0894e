import { z } from 'zod';
import { sourceCommonFields } from '../../src/config/source-common.js';
import { ADMIN_ONLY } from './dictionary.js';

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
    /** Origin of the marketplace (no default: there is no public endpoint). */
    base_url: z.url(),
    /** API token, sent as `Authorization: Bearer <token>`; write `${MARKETPLACE_TOKEN}`. */
    token: z.string().min(1),
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
