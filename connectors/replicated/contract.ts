/**
 * What each Replicated stream expects of the Vendor API v3, point by point, confirmed or assumed,
 * with its source (the seed is Replicated's instance-data-export docs, /work/shared/seeds/000_…;
 * the notes are /work/shared/notes/source-apis.md §1). The connector reads `endInclusive` from here
 * (the `before` date it sends), the simulator reads the event keys, the `createdAt` format, the JSON
 * wrapping and the `before` semantics from here, and `exportsync check --contract` compares the
 * real API with it.
 */
import type { ContractPoint, LogicalType } from '../../src/core/contracts.js';
import {
  assumed,
  confirmed,
  fieldPoints,
  type ContractMap,
  type SourceContract,
} from '../../src/contract/types.js';
import { CUSTOMER_INSTANCE_COLUMNS, DYNAMIC_FAMILIES, SNAPSHOT_DATE } from './dictionary.js';

const SEED = 'seeds/000 (Replicated instance-data-export docs)';
const NOTES = 'notes/source-apis.md';
const RAW_TOKEN = confirmed(
  'Authorization: <token> (raw, no Bearer)',
  `${NOTES} §1.0 (docs example; CLI setCommonHeaders)`,
);
const SHAPE = `${NOTES} §1.1 "Proposed JSON shape" [G: no stored source documents it]`;

/** `/events` JSON keys as the API is assumed to spell them (camelCase like every v3 payload [I]). */
const EVENT_FIELDS: Record<string, ContractPoint<LogicalType>> = {
  appId: assumed('string', SHAPE),
  customerId: assumed('string', SHAPE),
  instanceId: assumed('string', SHAPE),
  fieldName: assumed('string', SHAPE),
  fieldValue: assumed('string', `${SHAPE}; custom metric values are JSON scalars [C], kept as text`),
  isCustom: assumed('boolean', SHAPE),
  createdAt: assumed('timestamp', SHAPE),
};

const instanceEvents: SourceContract = {
  endpoint: confirmed('GET {base_url}/vendor/v3/app/{app_id}/events?after&before', `${SEED}; ${NOTES} §1.1`),
  auth: RAW_TOKEN,
  format: assumed(
    'json-array',
    `${SEED} ("an empty array is returned"); ${NOTES} §1.1 proposes {events:[...]}: both are read`,
  ),
  endInclusive: confirmed(true, `${SEED} ("at or before the query date"; range [after, before])`),
  wrapper: assumed('events', `${NOTES} §1.1 proposes {events:[...]} [G]; a bare array is read too`),
  params: {
    after: confirmed('first UTC day, YYYY-MM-DD, inclusive ("at or after")', SEED),
    before: confirmed(
      'last UTC day, YYYY-MM-DD, inclusive ("at or before"; the connector sends the day before the window end)',
      SEED,
    ),
    customerIds: confirmed('comma-separated customer ids (was customerIDs until 2025-10)', `${NOTES} §1.1`),
    eventTypes: confirmed('comma-separated event types (field names)', SEED),
    format: assumed('csv selects CSV (with Accept: text/csv)', `${NOTES} §1.1 (mechanism undocumented [G])`),
  },
  fields: EVENT_FIELDS,
  key: assumed(['instanceId', 'fieldName', 'createdAt'], `${NOTES} §1.1 (synthetic key [G])`),
  cursor: assumed('createdAt', SHAPE),
  formats: { createdAt: assumed('YYYY-MM-DDTHH:MM:SS.sssZ', `${SHAPE} (ISO-8601 UTC)`) },
  computed: ['field_value_numeric'],
};

const customerInstances: SourceContract = {
  endpoint: confirmed(
    'GET {base_url}/vendor/v3/app/{app_id}/customer_instances',
    `${NOTES} §1.2 (_download.mdx)`,
  ),
  auth: RAW_TOKEN,
  format: assumed('json-array', `${NOTES} §1.2 (JSON [C]; its shape and the CSV selector are unknown [G])`),
  wrapper: assumed(
    'customerInstances',
    `${NOTES} §1.2 (the wrapping member is not documented [G]; camelCase like every v3 payload); a bare array is read too`,
  ),
  params: {
    customerIds: confirmed('comma-separated customer ids', `${NOTES} §1.2 (release note V2024.02.26-0)`),
  },
  fields: fieldPoints(
    CUSTOMER_INSTANCE_COLUMNS.filter((c) => c.name !== SNAPSHOT_DATE),
    'confirmed',
    `${SEED} Data Dictionary (CSV labels; JSON keys assumed the same [G])`,
  ),
  key: assumed(['customer_id', 'instance_id'], `${NOTES} §1.2 (one row per customer and instance [I])`),
  formats: Object.fromEntries(
    CUSTOMER_INSTANCE_COLUMNS.filter((c) => c.type === 'timestamp').map((c) => [
      c.name,
      assumed('YYYY-MM-DDTHH:MM:SS.sssZ', `${SEED} (timestamptz; the text form is not documented [G])`),
    ]),
  ),
  computed: [SNAPSHOT_DATE],
  dynamic: [...DYNAMIC_FAMILIES],
};

/** Contracts by stream name (attached to the streams by src/engine/sources.ts). */
export const REPLICATED_CONTRACTS: ContractMap = {
  instance_events: instanceEvents,
  customer_instances: customerInstances,
};

/** The CSV header of `/events`: the JSON keys in snake_case [G]. */
export const EVENT_CSV_FIELDS: readonly string[] = Object.keys(EVENT_FIELDS).map((k) =>
  k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(),
);
