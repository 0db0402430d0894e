import type { DictionaryColumn } from '../../src/core/contracts.js';

/**
 * The 24 columns of Scarf's raw event export (`GET /v2/packages/{owner}/events`), in the physical
 * order of the CSV header (source-apis.md §2.1: the order scarf-postgres-exporter loads by
 * position). Types follow the exporter's `table-def.sql` and Scarf's data-export docs.
 *
 * If a type here is wrong, every value of that column is either rejected into `_extra` or typed
 * wrongly in the warehouse for every user; if a name is wrong, the real column arrives as a dynamic
 * column and this one stays empty forever. The order matters to the simulator and to anyone who
 * loads the CSV by position; the connector itself maps by header name.
 */
export const SCARF_EVENT_COLUMNS: DictionaryColumn[] = [
  { name: 'id', type: 'string', description: 'Unique id of the event; the dedupe (merge) key.' },
  {
    name: 'type',
    type: 'string',
    description: 'Kind of event, e.g. pixel-fetch, manifest-fetch, binary-download.',
  },
  { name: 'package', type: 'string', description: 'Package downloaded (package events only).' },
  { name: 'pixel', type: 'string', description: 'Tracking pixel viewed (pixel events only).' },
  { name: 'version', type: 'string', description: 'Package version downloaded (package events only).' },
  { name: 'time', type: 'timestamp', description: 'When the event happened, in UTC.' },
  { name: 'referer', type: 'string', description: 'Page that was viewed (pixel events).' },
  {
    name: 'user_agent',
    type: 'string',
    description: 'User-Agent of the client: installer, OS, architecture, browser.',
  },
  {
    name: 'platform',
    type: 'string',
    description: 'Platform Scarf derived for the event (absent from the docs table).',
  },
  { name: 'variables', type: 'string', description: 'Custom variables captured for file package downloads.' },
  { name: 'origin_id', type: 'string', description: 'Identifies the user device behind the event.' },
  { name: 'origin_latitude', type: 'decimal', description: 'Latitude of the location Scarf identified.' },
  { name: 'origin_longitude', type: 'decimal', description: 'Longitude of the location Scarf identified.' },
  { name: 'origin_country', type: 'string', description: 'Country of the location Scarf identified.' },
  { name: 'origin_city', type: 'string', description: 'City of the location Scarf identified.' },
  {
    name: 'origin_postal',
    type: 'string',
    description: 'Postal (ZIP) code of the location; text, leading zeros matter.',
  },
  {
    name: 'origin_connection_type',
    type: 'string',
    description: 'Kind of IP address: business, isp, hosting, ...',
  },
  { name: 'origin_company', type: 'string', description: 'Business entity Scarf associated with the event.' },
  { name: 'origin_domain', type: 'string', description: 'Web domain of that business entity.' },
  { name: 'dnt', type: 'boolean', description: 'The client sent a Do-Not-Track request.' },
  { name: 'confidence', type: 'decimal', description: 'Probability that the identification is correct.' },
  {
    name: 'endpoint_id',
    type: 'string',
    description: 'Public-facing device id; stable across client or user-agent changes.',
  },
  { name: 'origin_state', type: 'string', description: 'State or region of the location Scarf identified.' },
  {
    name: 'mtc_quota_exceeded',
    type: 'boolean',
    description: 'Company fields were scrubbed because the monthly tracked-company quota was exceeded.',
  },
];

/** Header names in physical order. */
export const SCARF_EVENT_FIELDS: readonly string[] = SCARF_EVENT_COLUMNS.map((c) => c.name);
