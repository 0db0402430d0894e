import { z } from 'zod';
import { sourceCommonFields } from '../../src/config/source-common.js';

/** The `sources[]` entry of a Replicated source (Vendor API v3). */
export const replicatedSourceSchema = z
  .object({
    type: z.literal('replicated'),
    ...sourceCommonFields,
    /** Application id (`{app_id}` in the API paths). */
    app_id: z.string().min(1),
    /**
     * Vendor API token (service account or user token); write `${REPLICATED_API_TOKEN}`. Sent raw as
     * `Authorization: <token>`, with no `Bearer ` prefix (source-apis.md §1.0 [C]).
     */
    token: z.string().min(1),
    /** API origin (without `/vendor/v3`); point it at a proxy or the simulator. */
    base_url: z.url().default('https://api.replicated.com'),
    /** Only events of these customers (`customerIds`); unknown ids silently give no events. */
    customer_ids: z.array(z.string().min(1)).min(1).optional(),
    /** Only events of these field names (`eventTypes`, e.g. custom metric keys). */
    event_types: z.array(z.string().min(1)).min(1).optional(),
    /** Response format asked for (`format=csv` and `Accept: text/csv` for csv) [G: mechanism unconfirmed]. */
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

export type ReplicatedSourceConfig = z.infer<typeof replicatedSourceSchema>;
