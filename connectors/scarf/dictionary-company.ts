import type { DictionaryColumn } from '../../src/core/contracts.js';

/**
 * Columns of Scarf's company rollup CSV (`GET /v2/packages/{owner}/company-rollup`), in the order
 * of source-apis.md §2.3 (the data-export docs table plus the columns the notes list), then
 * `snapshot_date`, which Scarf does NOT send: the connector fills it with the snapshot's UTC day,
 * and it is the stream's cursor (history keeps one row per company per snapshot_date).
 *
 * Scarf documents the dates as text `yyyy-mm-dd` and the counts as numeric; they are typed as date
 * and integer here so funnel questions are plain SQL. A value that does not fit (e.g. a timestamp
 * in first_seen [G]) is not lost: the mapper keeps it in `_extra` and logs a warning.
 */
export const SCARF_COMPANY_ROLLUP_COLUMNS: DictionaryColumn[] = [
  { name: 'company_name', type: 'string', description: 'Name of the company.' },
  { name: 'company_domain', type: 'string', description: 'Domain of the company (the key), e.g. scarf.sh.' },
  {
    name: 'funnel_stage',
    type: 'string',
    description: 'interest, investigation, experimentation, ongoing usage or inactive.',
  },
  { name: 'total_events', type: 'integer', description: 'Count of total events.' },
  { name: 'total_downloads', type: 'integer', description: 'Package downloads.' },
  { name: 'total_unique_downloads', type: 'integer', description: 'Distinct sources of downloads.' },
  { name: 'total_views', type: 'integer', description: 'Pixel views.' },
  { name: 'total_unique_views', type: 'integer', description: 'Distinct sources of views.' },
  { name: 'unique_sources', type: 'integer', description: 'Distinct sources of traffic from this company.' },
  { name: 'first_seen', type: 'date', description: 'Day of the first event.' },
  { name: 'last_seen', type: 'date', description: 'Day of the last event.' },
  { name: 'company_linkedin_url', type: 'string', description: "The company's LinkedIn link." },
  { name: 'company_industry', type: 'string', description: 'Industry, e.g. Tech, Government.' },
  { name: 'company_size', type: 'string', description: 'Approximate employee count (a range, text).' },
  { name: 'company_country', type: 'string', description: "The company's country." },
  { name: 'company_state', type: 'string', description: "The company's state." },
  { name: 'interest_start_date', type: 'date', description: 'Day the company entered interest.' },
  { name: 'investigation_start_date', type: 'date', description: 'Day the company entered investigation.' },
  {
    name: 'experimentation_start_date',
    type: 'date',
    description: 'Day the company entered experimentation.',
  },
  { name: 'ongoing_usage_start_date', type: 'date', description: 'Day the company entered ongoing usage.' },
  { name: 'inactive_start_date', type: 'date', description: 'Day the company became inactive.' },
  { name: 'scarf_url', type: 'string', description: "The company's page in the Scarf dashboard." },
  {
    name: 'package_totals',
    type: 'string',
    description: 'Per-package totals as name=total pairs joined with & (kept as Scarf sends it).',
  },
  {
    name: 'tracking_pixel_totals',
    type: 'string',
    description: 'Per-pixel totals as name=total pairs joined with & (kept as Scarf sends it).',
  },
  {
    name: 'snapshot_date',
    type: 'date',
    description: 'UTC day of the snapshot; filled by exportsync (not a Scarf column). The cursor.',
  },
];

/** Header names Scarf sends, in order (everything but snapshot_date). */
export const SCARF_COMPANY_ROLLUP_FIELDS: readonly string[] = SCARF_COMPANY_ROLLUP_COLUMNS.map(
  (c) => c.name,
).filter((n) => n !== 'snapshot_date');
