import type { DictionaryColumn } from '../../src/core/contracts.js';

/**
 * Keys of Scarf's `Aggregate` object (`GET /v2/packages/{owner}/aggregates`, NDJSON; source-apis.md
 * §2.2, from the spec's `components.schemas.Aggregate`). `date`, `artifact`, `breakdown`, `total`
 * and `rollup` are required; the rest appear only for the breakdown that uses them (by-company →
 * company_name/company_domain, by-country → country, …), so one table holding every breakdown
 * has them NULL elsewhere.
 *
 * `date` is the cursor of a replace_window stream: if it were typed as anything but `date`, the
 * window delete would miss rows and every re-read would add them again.
 */
export const SCARF_AGGREGATE_COLUMNS: DictionaryColumn[] = [
  { name: 'date', type: 'date', description: 'UTC day the counts are for (daily rollup).' },
  { name: 'artifact', type: 'string', description: 'Package or pixel the counts are for.' },
  {
    name: 'breakdown',
    type: 'string',
    description:
      'Breakdown of the row (by-total, by-company, …): filter on it, totals of different breakdowns overlap.',
  },
  {
    name: 'rollup',
    type: 'string',
    description: 'Rollup period of the row; daily (the connector asks for daily).',
  },
  {
    name: 'total',
    type: 'integer',
    description: 'Events in the group that day (restated by Scarf for recent days).',
  },
  { name: 'total_unique', type: 'integer', description: 'Distinct sources in the group that day.' },
  { name: 'company_name', type: 'string', description: 'by-company: company name.' },
  { name: 'company_domain', type: 'string', description: 'by-company: company web domain.' },
  { name: 'cloud_provider_name', type: 'string', description: 'by-cloudprovider: provider name.' },
  { name: 'cloud_provider_domain', type: 'string', description: 'by-cloudprovider: provider domain.' },
  { name: 'country', type: 'string', description: 'by-country: country code.' },
  { name: 'platform', type: 'string', description: 'by-platform: platform.' },
  { name: 'version', type: 'string', description: 'by-version: artifact version.' },
  { name: 'client', type: 'string', description: 'by-client: installing client.' },
  { name: 'variable', type: 'string', description: 'by-variable: variable name.' },
  { name: 'value', type: 'string', description: 'by-variable and similar: the group value.' },
  { name: 'domain', type: 'string', description: 'by-domain / by-referer: domain.' },
];
