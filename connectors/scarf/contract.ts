/**
 * What each Scarf stream expects of the API, point by point, confirmed or assumed, with its source
 * (the seed is Scarf's data-export docs, /work/shared/seeds/001_…; the notes are
 * /work/shared/notes/source-apis.md §2). The connector reads `endInclusive` from here (request.ts),
 * the simulator reads field names, the `time` format and the end-date semantics from here, and
 * `exportsync check --contract` compares the real API with it. If Scarf turns out to differ, change
 * the point here (and its status/source): connector and simulator follow.
 */
import type { ContractPoint, LogicalType } from '../../src/core/contracts.js';
import {
  assumed,
  confirmed,
  fieldPoints,
  type ContractMap,
  type SourceContract,
} from '../../src/contract/types.js';
import { SCARF_AGGREGATE_COLUMNS } from './dictionary-aggregates.js';
import { SCARF_COMPANY_ROLLUP_COLUMNS } from './dictionary-company.js';
import { SCARF_EVENT_COLUMNS } from './dictionary.js';

const SEED = 'seeds/001 (Scarf data-export docs)';
const NOTES = 'notes/source-apis.md';
const BEARER = confirmed(
  'Authorization: Bearer <token>',
  `${NOTES} §2.0 (spec ApiToken; ${SEED} curl examples)`,
);

/** `start_date`/`end_date`: shared by every dated Scarf export. */
const DATE_PARAMS = {
  start_date: confirmed('first UTC day, YYYY-MM-DD, inclusive', `${NOTES} §2.1 (spec format: date)`),
  end_date: assumed(
    'last UTC day, YYYY-MM-DD, inclusive (the connector sends the day before the window end)',
    `${NOTES} §2.1 (scarf-postgres-exporter assumes inclusive; the v2 spec does not say)`,
  ),
};
const END_INCLUSIVE = assumed(true, `${NOTES} §2.1 / open question 4 (exporter's assumption, unverified)`);
const MAX_RANGE = assumed(
  31,
  `${NOTES} §2.1 (range-too-long exists [C], its limit is undocumented [G]; the connector splits on it)`,
);

/** The 24 event columns: names and types confirmed by the docs table, except where noted. */
const EVENT_FIELDS: Record<string, ContractPoint<LogicalType>> = fieldPoints(
  SCARF_EVENT_COLUMNS,
  'confirmed',
  `${SEED} "Export Fields"; ${NOTES} §2.1`,
  {
    pixel: assumed('string', `${NOTES} §2.1 (exporter table-def.sql; not in the docs table)`),
    platform: assumed('string', `${NOTES} §2.1 (exporter table-def.sql; not in the docs table)`),
    mtc_quota_exceeded: assumed('boolean', `${NOTES} §2.1 (exporter table-def.sql; not in the docs table)`),
  },
);

function eventsContract(path: string, endpointSource: string): SourceContract {
  return {
    endpoint: confirmed(`GET {base_url}${path}?start_date&end_date`, endpointSource),
    auth: BEARER,
    format: confirmed('csv', `${NOTES} §2.1 (200 text/csv attachment, one download, no paging)`),
    endInclusive: END_INCLUSIVE,
    maxRangeDays: MAX_RANGE,
    params: DATE_PARAMS,
    fields: EVENT_FIELDS,
    key: confirmed(
      ['id'],
      `${NOTES} §2.1 ("consumers should de-duplicate by id", data-export.md 2026-01-28)`,
    ),
    cursor: confirmed('time', `${SEED} (time: "the time in UTC that the event occurred")`),
    formats: {
      time: assumed(
        'YYYY-MM-DDTHH:MM:SS.sssZ',
        `${NOTES} §2.1 (the exact time string is not stored anywhere [G]; ISO-8601 UTC proposed)`,
      ),
    },
    // CSV: every column is in the header, but many are empty for a given event kind
    optional: [],
  };
}

const events = eventsContract('/v2/packages/{owner}/events', `${NOTES} §2.1 exportEntityPackageEvents`);

const pixelEvents: SourceContract = {
  ...eventsContract(
    '/v2/tracking-pixels/{owner}/events',
    `${NOTES} §2.1 exportEntityTrackingPixelEvents (same columns [C], parameters presumed the same [I])`,
  ),
  computed: ['entity_kind'],
};

const companyEvents: SourceContract = eventsContract(
  '/v2/companies/{owner}/{domain}/events',
  `${NOTES} §2.4 exportEntityCompanyEvents (${SEED} curl example)`,
);

const aggregates: SourceContract = {
  endpoint: confirmed(
    'GET {base_url}/v2/packages/{owner}/aggregates?start_date&end_date&rollup=daily&breakdown=<b>',
    `${NOTES} §2.2 exportEntityAggregates (${SEED} curl example)`,
  ),
  auth: BEARER,
  format: confirmed('ndjson', `${NOTES} §2.2 (200 application/x-ndjson, one Aggregate per line)`),
  endInclusive: END_INCLUSIVE,
  maxRangeDays: MAX_RANGE,
  params: {
    ...DATE_PARAMS,
    rollup: confirmed('daily (array, form/explode)', `${NOTES} §2.2`),
    breakdown: confirmed('one breakdown per request (by-total, by-company, …)', `${NOTES} §2.2`),
  },
  fields: fieldPoints(
    SCARF_AGGREGATE_COLUMNS,
    'confirmed',
    `${NOTES} §2.2 (spec components.schemas.Aggregate)`,
    {
      date: confirmed('date', `${NOTES} §2.2 (Aggregate.date, format: date; required)`),
    },
  ),
  key: confirmed([], `${NOTES} §2.2 (no natural key: replace_window on date)`),
  cursor: confirmed('date', `${NOTES} §2.2 (Aggregate.date, required)`),
  formats: { date: confirmed('YYYY-MM-DD', `${NOTES} §2.2 (format: date)`) },
  // per-breakdown keys; `breakdown` is required by the spec but the connector fills it when absent
  optional: SCARF_AGGREGATE_COLUMNS.map((c) => c.name).filter(
    (n) => !['date', 'artifact', 'total', 'rollup'].includes(n),
  ),
};

const companyRollup: SourceContract = {
  endpoint: confirmed(
    'GET {base_url}/v2/packages/{owner}/company-rollup',
    `${NOTES} §2.3 exportCompanyRollup (${SEED})`,
  ),
  auth: BEARER,
  format: confirmed('csv', `${NOTES} §2.3 (${SEED} curl -o company-rollup.csv)`),
  params: {},
  fields: fieldPoints(
    SCARF_COMPANY_ROLLUP_COLUMNS.filter((c) => c.name !== 'snapshot_date'),
    'confirmed',
    `${SEED} company data table; ${NOTES} §2.3`,
    {
      total_downloads: assumed('integer', `${NOTES} §2.3 (not in the seed's table)`),
      total_unique_downloads: assumed('integer', `${NOTES} §2.3 (not in the seed's table)`),
      total_views: assumed('integer', `${NOTES} §2.3 (not in the seed's table)`),
      total_unique_views: assumed('integer', `${NOTES} §2.3 (not in the seed's table)`),
      first_seen: assumed('date', `${SEED} says text "Date of when the first event occured"`),
      last_seen: assumed('date', `${SEED} says text "Date of when the last event occured"`),
      scarf_url: assumed('string', `${NOTES} §2.3 (not in the seed's table)`),
      package_totals: assumed('string', `${NOTES} §2.3 (not in the seed's table)`),
      tracking_pixel_totals: assumed('string', `${NOTES} §2.3 (not in the seed's table)`),
    },
  ),
  key: assumed(['company_domain'], `${NOTES} §2.3 (natural key [I])`),
  formats: {
    interest_start_date: confirmed('YYYY-MM-DD', `${SEED} (format: yyyy-mm-dd)`),
    investigation_start_date: confirmed('YYYY-MM-DD', `${SEED} (format: yyyy-mm-dd)`),
    experimentation_start_date: confirmed('YYYY-MM-DD', `${SEED} (format: yyyy-mm-dd)`),
    ongoing_usage_start_date: confirmed('YYYY-MM-DD', `${SEED} (format: yyyy-mm-dd)`),
    inactive_start_date: confirmed('YYYY-MM-DD', `${SEED} (format: yyyy-mm-dd)`),
    first_seen: assumed('YYYY-MM-DD', `${SEED} (text, a date)`),
    last_seen: assumed('YYYY-MM-DD', `${SEED} (text, a date)`),
  },
  computed: ['snapshot_date'],
};

/** Contracts by stream name (attached to the streams by src/engine/sources.ts). */
export const SCARF_CONTRACTS: ContractMap = {
  events,
  pixel_events: pixelEvents,
  company_events: companyEvents,
  aggregates,
  company_rollup: companyRollup,
};

/** The contract every Scarf request and the simulator share for end-date semantics and formats. */
export const SCARF_EVENTS_CONTRACT = events;
