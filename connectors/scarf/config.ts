import { z } from 'zod';
import {
  FILES_BLOCK_DESCRIPTION,
  codeList,
  filesLocationDescribedFields,
  sourceCommonFields,
} from '../../src/config/source-common.js';

/** Every stream the Scarf connector has, in the order `Source.streams` lists them. */
export const SCARF_STREAMS = [
  'events',
  'aggregates',
  'company_rollup',
  'company_events',
  'pixel_events',
] as const;

/**
 * Streams synced when a source omits `streams`: only `events`. Every Scarf call costs the user
 * "runs" (billing), so a config written before the other streams existed must not start making
 * several times the calls after an upgrade; the other streams are opt-in.
 */
export const SCARF_DEFAULT_STREAMS = ['events'];

/** Streams Scarf's scheduled exports deliver (`events-…` and `company-rollups-…` objects). */
export const SCARF_FILE_STREAMS = ['events', 'company_rollup'] as const;

/** Values of the aggregates `breakdown` parameter (source-apis.md §2.2; `govermental` [sic] as Scarf spells it). */
export const SCARF_BREAKDOWNS = [
  'by-total',
  'by-total-do-not-track',
  'by-company',
  'by-country',
  'by-cloudprovider',
  'by-variable',
  'by-platform',
  'by-version',
  'by-client',
  'by-domain',
  'by-referer',
  'by-educational-organization',
  'by-govermental-organization',
] as const;

/** Companies `company_domains: all` reads events for, at most (one request per company per day). */
export const DEFAULT_MAX_COMPANIES = 100;

/**
 * A field only api mode needs: optional in the schema (files mode has no token), required in api
 * mode by the refinement below. Typed as present, since only api-mode code reads it (and the
 * refinement guarantees it there); files mode (files.ts) never touches it.
 */
function apiOnly(schema: z.ZodString): z.ZodString {
  return schema.optional() as unknown as z.ZodString;
}

/**
 * The `sources[]` entry of a Scarf source. Strict: a misspelt key is an error naming it, not a
 * silently ignored setting (a typo in `company_domains` would otherwise sync nothing, quietly).
 */
export const scarfSourceSchema = z
  .object({
    type: z.literal('scarf'),
    ...sourceCommonFields,
    /**
     * Streams to sync: events, aggregates, company_rollup, company_events. Default: [events] only
     * (API calls cost runs). Names are checked by the engine, which lists the streams that exist.
     */
    streams: z
      .array(z.string().min(1))
      .min(1)
      .default([...SCARF_DEFAULT_STREAMS])
      .describe(
        `Streams to sync, each into \`<name>_<stream>\`: ${codeList(SCARF_STREAMS)}. ` +
          'Default: `[events]` only, since Scarf bills every API call in "runs"; the others are opt-in. ' +
          `With \`mode: files\` only ${codeList(SCARF_FILE_STREAMS)} (what the scheduled exports carry). ` +
          'An unknown name is a config error listing the streams.',
      ),
    window_days: sourceCommonFields.window_days.describe(
      'UTC days per API request (inclusive `start_date`..`end_date`) of `events`, `pixel_events`, `aggregates` ' +
        'and `company_events`. Default 1, the safest: more days mean fewer billed requests, but Scarf refuses ' +
        'ranges it finds too long (`range-too-long`; 31 days assumed). `company_rollup` is one snapshot per run; ' +
        "files mode uses each export's own days.",
    ),
    /**
     * `api` (default): the export API. `files`: Scarf's daily scheduled exports in a bucket or
     * folder (`files.url`), into the same tables; no API calls (docs/files.md).
     */
    mode: z
      .enum(['api', 'files'])
      .default('api')
      .describe(
        '`api`: read the Scarf export API (needs `owner` and `token`). `files`: load the daily scheduled exports ' +
          'Scarf writes to your bucket or folder (`files.url`) into the same tables, with no API call and no token ' +
          '(docs/files.md).',
      ),
    /** Files mode: where the scheduled exports land. */
    files: z.object(filesLocationDescribedFields).strict().optional().describe(FILES_BLOCK_DESCRIPTION),
    /** Scarf user or organisation name (`{owner}` in the API paths). Required in api mode. */
    owner: apiOnly(z.string().min(1)).describe(
      'Required with `mode: api`; unused in files mode. The Scarf user or organisation whose packages and ' +
        'pixels are exported (`{owner}` in the API paths).',
    ),
    /** API token; write `${SCARF_API_TOKEN}` so it comes from the environment. Required in api mode. */
    token: apiOnly(z.string().min(1)).describe(
      'Required with `mode: api`; unused in files mode. Scarf API token (https://app.scarf.sh/account); write ' +
        '`${SCARF_API_TOKEN}` so it comes from the environment. Sent as `Authorization: Bearer <token>`; raw ' +
        'event exports need a paid Scarf plan.',
    ),
    /** API origin; point it at a proxy or the simulator. */
    base_url: z
      .url()
      .default('https://api.scarf.sh')
      .describe(
        'Base URL the API paths (`/v2/…`) are appended to; change it only for a proxy or the local simulator.',
      ),
    /** Breakdowns the `aggregates` stream fetches (one request per breakdown per window). Default [by-total]. */
    aggregates_breakdowns: z
      .array(z.enum(SCARF_BREAKDOWNS))
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'each breakdown at most once')
      .default(['by-total'])
      .describe(
        'Breakdowns the `aggregates` stream fetches, each at most once: one request per breakdown per window. ' +
          'All land in one table, told apart by its `breakdown` column (never sum across breakdowns). ' +
          'A breakdown removed loses its rows on every day re-read afterwards; one added starts from the next day ' +
          're-read. Used only when `streams` includes `aggregates`.',
      ),
    /**
     * Companies whose events `company_events` reads: a list of domains (e.g. [scarf.sh]) or `all`
     * (every domain of the current company rollup, at most `max_companies`). Required with company_events.
     */
    company_domains: z
      .union([
        z.literal('all'),
        z
          .array(z.string().regex(/^[^\s/?#]+$/, 'a bare domain such as scarf.sh'))
          .min(1)
          .refine((list) => new Set(list).size === list.length, 'each domain at most once'),
      ])
      .optional()
      .describe(
        'Companies whose events the `company_events` stream reads, one request per company per window: ' +
          'a list of bare domains (e.g. `[scarf.sh]`; an unknown one fails its window), or `all` for the ' +
          'domains of the current company rollup, most active first, at most `max_companies` (one more request ' +
          'per run). Required when `streams` includes `company_events`; otherwise unused.',
      ),
    /** With `company_domains: all`: companies read at most (a warning names the ones left out). Default 100. */
    max_companies: z
      .number()
      .int()
      .min(1)
      .default(DEFAULT_MAX_COMPANIES)
      .describe(
        'With `company_domains: all`: the most companies read (by `total_events`, most active first); a warning ' +
          'names the ones left out. Unused with a list of domains.',
      ),
  })
  .strict()
  .superRefine((source, ctx) => {
    if (source.mode === 'files') {
      if (!source.files)
        ctx.addIssue({ code: 'custom', path: ['files'], message: 'required with mode: files (files.url)' });
      source.streams.forEach((s, i) => {
        if (!(SCARF_FILE_STREAMS as readonly string[]).includes(s)) {
          ctx.addIssue({
            code: 'custom',
            path: ['streams', i],
            message: `stream '${s}' has no scheduled export files; mode files has: ${SCARF_FILE_STREAMS.join(', ')}`,
          });
        }
      });
      return;
    }
    if (source.files) ctx.addIssue({ code: 'custom', path: ['files'], message: 'only with mode: files' });
    for (const key of ['owner', 'token'] as const) {
      if (source[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required' });
    }
    if (source.streams.includes('company_events') && source.company_domains === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['company_domains'],
        message: 'required when streams include company_events: a list of domains, or all',
      });
    }
  });

export type ScarfSourceConfig = z.infer<typeof scarfSourceSchema>;
export type ScarfBreakdown = (typeof SCARF_BREAKDOWNS)[number];
