import { z } from 'zod';
import { codeList, sourceCommonFields } from '../../src/config/source-common.js';

/** The `sources[]` entry of a Replicated source (Vendor API v3). */
export const replicatedSourceSchema = z
  .object({
    type: z.literal('replicated'),
    ...sourceCommonFields,
    streams: sourceCommonFields.streams.describe(
      `Streams to sync, each into \`<name>_<stream>\`: ${codeList(['instance_events', 'customer_instances'])} ` +
        '(instance events, merged; the customers-and-instances export, a daily snapshot with history). ' +
        'Default: both. An unknown name is a config error listing the streams.',
    ),
    window_days: sourceCommonFields.window_days.describe(
      'UTC days per `instance_events` request (the API has no paging: one streamed body per window). Default 1. ' +
        '`customer_instances` is one snapshot per run.',
    ),
    /** Application id (`{app_id}` in the API paths). */
    app_id: z
      .string()
      .min(1)
      .describe(
        'Replicated application id (`{app_id}` in the Vendor API paths), as the Vendor Portal or `replicated app ls` shows it.',
      ),
    /**
     * Vendor API token (service account or user token); write `${REPLICATED_API_TOKEN}`. Sent raw as
     * `Authorization: <token>`, with no `Bearer ` prefix (source-apis.md §1.0 [C]).
     */
    token: z
      .string()
      .min(1)
      .describe(
        'Vendor API token (a service-account or user API token that can read the app); write ' +
          '`${REPLICATED_API_TOKEN}` so it comes from the environment. Sent raw as `Authorization: <token>`, without `Bearer`.',
      ),
    /** API origin (without `/vendor/v3`); point it at a proxy or the simulator. */
    base_url: z
      .url()
      .default('https://api.replicated.com')
      .describe(
        'Base URL of the Vendor API, without `/vendor/v3` (the connector appends it); change it only for a proxy or the local simulator.',
      ),
    /** Only events of these customers (`customerIds`); unknown ids silently give no events. */
    customer_ids: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Only these customer ids (the `customerIds` filter), for both streams. Default: every customer. ' +
          'Unknown ids silently give no rows; adding the filter later marks the customers it leaves out deleted in `customer_instances`.',
      ),
    /** Only events of these field names (`eventTypes`, e.g. custom metric keys). */
    event_types: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Only these field names in `instance_events` (the `eventTypes` filter): built-in fields or custom metric keys, e.g. `[numUsers]`. Default: every field.',
      ),
    /** Response format asked for (`format=csv` and `Accept: text/csv` for csv) [G: mechanism unconfirmed]. */
    format: z
      .enum(['json', 'csv'])
      .default('json')
      .describe(
        'Response format asked of the API: `json`, or `csv` (sent as `format=csv` with `Accept: text/csv`; the mechanism is assumed). ' +
          "Both give the same rows; the response's content type decides the parser.",
      ),
  })
  .strict();

export type ReplicatedSourceConfig = z.infer<typeof replicatedSourceSchema>;
