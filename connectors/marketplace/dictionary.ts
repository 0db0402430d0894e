import type { DictionaryColumn, LogicalType, WriteMode } from '../../src/core/contracts.js';

/**
 * The seven marketplace datasets, with the columns and grain the export documentation gives them
 * (seed 002, source-apis.md §3 [C] for names; types are ours [G]). One dataset = one stream = one
 * table. If a key here is wrong, merge collapses distinct rows (too short) or keeps restated rows
 * twice (too long); if a replace_window cursor is wrong, a re-run deletes the wrong days.
 */
const col = (name: string, type: LogicalType, description: string): DictionaryColumn => ({
  name,
  type,
  description,
});

export type MarketplaceRole = 'publisher' | 'admin';

export interface DatasetSpec {
  name: string;
  /** Who may export it: admin-only datasets answer 403 to a publisher token. */
  access: 'all' | 'admin';
  writeMode: Extract<WriteMode, 'merge' | 'replace_window'>;
  key: string[];
  cursor: string;
  columns: DictionaryColumn[];
}

export const DATASETS: DatasetSpec[] = [
  {
    name: 'install_events',
    access: 'all',
    writeMode: 'replace_window',
    key: [],
    cursor: 'install_date',
    columns: [
      col('package_id', 'string', 'Installed package.'),
      col('version', 'string', 'Installed package version.'),
      col('tenant_region', 'string', 'Region of the installing tenant.'),
      col('install_date', 'date', 'UTC day of the install. The cursor: a window replaces its days.'),
    ],
  },
  {
    name: 'review_data',
    access: 'all',
    writeMode: 'replace_window',
    key: [],
    cursor: 'review_date',
    columns: [
      col('package_id', 'string', 'Reviewed package (no reviewer identity is exported).'),
      col('star_rating', 'integer', 'Stars, 1 to 5.'),
      col('review_date', 'date', 'UTC day of the review. The cursor: a window replaces its days.'),
    ],
  },
  {
    name: 'version_adoption_snapshot',
    access: 'all',
    writeMode: 'merge',
    key: ['package_id', 'version', 'snapshot_date'],
    cursor: 'snapshot_date',
    columns: [
      col('package_id', 'string', 'Package. Key part.'),
      col('version', 'string', 'Package version. Key part.'),
      col('active_tenant_count', 'integer', 'Tenants running this version on the snapshot day.'),
      col('snapshot_date', 'date', 'Day of the snapshot. Key part and cursor.'),
    ],
  },
  {
    name: 'geographic_summary',
    access: 'all',
    writeMode: 'merge',
    key: ['country_code', 'period_date'],
    cursor: 'period_date',
    columns: [
      col('country_code', 'string', 'ISO 3166-1 alpha-2 country. Key part.'),
      col('period_date', 'date', 'Day of the period. Key part and cursor.'),
      col('install_count', 'integer', 'Installs from this country that day (own packages for a publisher).'),
    ],
  },
  {
    name: 'reputation_event_log',
    access: 'all',
    writeMode: 'replace_window',
    key: [],
    cursor: 'event_date',
    columns: [
      col('event_type', 'string', 'Kind of reputation event.'),
      col('points', 'integer', 'Points gained (negative: lost).'),
      col('event_date', 'date', 'UTC day of the event. The cursor: a window replaces its days.'),
      col('source_id', 'string', 'What caused the event (package, review, certification id).'),
    ],
  },
  {
    name: 'marketplace_summary',
    access: 'admin',
    writeMode: 'merge',
    key: ['date'],
    cursor: 'date',
    columns: [
      col('date', 'date', 'Day. Key and cursor.'),
      col('total_installs', 'integer', 'Installs across the marketplace that day.'),
      col('active_publishers', 'integer', 'Publishers with activity that day.'),
      col('new_packages', 'integer', 'Packages published that day.'),
      col('certifications_granted', 'integer', 'Certifications granted that day.'),
    ],
  },
  {
    name: 'publisher_leaderboard_history',
    access: 'admin',
    writeMode: 'merge',
    key: ['publisher_id', 'date'],
    cursor: 'date',
    columns: [
      col('publisher_id', 'string', 'Publisher. Key part.'),
      col('date', 'date', 'Day of the leaderboard snapshot. Key part and cursor.'),
      col('rank', 'integer', 'Rank that day (1 = top).'),
      col('weighted_score', 'decimal', 'Score after decay, exact decimal.'),
      col('tier', 'string', 'Bronze, Silver, Gold or Platinum.'),
    ],
  },
];

export const DATASET_NAMES = DATASETS.map((d) => d.name);
export const ADMIN_ONLY = DATASETS.filter((d) => d.access === 'admin').map((d) => d.name);

export function datasetSpec(name: string): DatasetSpec {
  const spec = DATASETS.find((d) => d.name === name);
  if (!spec) throw new Error(`unknown marketplace dataset ${name}`);
  return spec;
}
