/**
 * Deterministic company rollup and aggregates for the Scarf simulator: pure functions of
 * (seed, the day asked for, the simulator's today), so tests compute their expectations from
 * the same functions and a re-run sees the same bytes.
 *
 * Companies live through a 30-day cycle shifted per company: interest (4 days), investigation
 * (4), experimentation (4), ongoing usage (8), inactive (4), then 6 days absent from the rollup
 * (they "disappear", then reappear as new). With 8 companies spread 4 days apart, at least 6 are
 * present on every day, and some stage moves every day.
 * Aggregates are restated: a day's totals are half-counted on the day itself, complete the next
 * day, and grow once more from the second day on. A test that reads a day twice must see different
 * totals, or it cannot tell "replaced" from "kept".
 */
import { DAY_MS, isoDate } from '../../src/core/time.js';
import { SCARF_COMPANY_ROLLUP_FIELDS } from './dictionary-company.js';
import { hashSeed, mix } from './simulator-data.js';

/** name, domain, industry, size, country, state. The first four also appear in the raw events. */
export const SIM_COMPANIES: ReadonlyArray<readonly [string, string, string, string, string, string]> = [
  ['Acme, Inc.', 'acme.example', 'Tech', '51-200', 'US', 'California'],
  ['Globex "Global" Corporation', 'globex.example', 'Manufacturing', '1001-5000', 'US', 'Oregon'],
  ['Initech', 'initech.example', 'Tech', '201-500', 'US', 'Texas'],
  ['Müller & Söhne GmbH', 'mueller.example', 'Retail', '11-50', 'DE', 'Bavaria'],
  ['Hooli', 'hooli.example', 'Tech', '5001-10000', 'US', 'California'],
  ['Umbrella Corp', 'umbrella.example', 'Health', '1001-5000', 'GB', ''],
  ['Stark Industries', 'stark.example', 'Government', '10001+', 'US', 'New York'],
  ['Wayne Enterprises', 'wayne.example', 'Finance', '5001-10000', 'US', 'New Jersey'],
];

export const FUNNEL_STAGES = [
  'interest',
  'investigation',
  'experimentation',
  'ongoing usage',
  'inactive',
] as const;
const CYCLE = 30;
const PRESENT = 24;
/** First day of each stage within the cycle. */
const STAGE_START = [0, 4, 8, 12, 20];

const dayNumber = (day: string): number => Math.round(new Date(`${day}T00:00:00Z`).getTime() / DAY_MS);
const dayOf = (n: number): string => isoDate(new Date(n * DAY_MS));

/** A company's position in its cycle on `day` (0..29); present in the rollup when < 24. */
export function cyclePosition(seed: string | number, companyIndex: number, day: string): number {
  return (dayNumber(day) + companyIndex * 4 + (hashSeed(seed) % CYCLE)) % CYCLE;
}

/** The rollup CSV as Scarf would serve it on `day`: header, then one row per present company. */
export function rollupRows(seed: string | number, day: string): string[][] {
  const out: string[][] = [[...SCARF_COMPANY_ROLLUP_FIELDS]];
  const s = hashSeed(seed);
  SIM_COMPANIES.forEach(([name, domain, industry, size, country, state], i) => {
    const p = cyclePosition(seed, i, day);
    if (p >= PRESENT) return;
    const start = dayNumber(day) - p;
    const stage = STAGE_START.filter((b) => p >= b).length - 1;
    const starts = STAGE_START.map((b, k) => (k <= stage ? dayOf(start + b) : ''));
    const activeDays = Math.min(p, 19) + 1;
    const total = activeDays * (3 + (mix(s, i) % 7));
    const downloads = Math.ceil((total * 2) / 3);
    const views = total - downloads;
    const uniqueDownloads = Math.ceil(downloads / 3);
    const uniqueViews = Math.ceil(views / 3);
    const cli = Math.ceil(downloads / 2);
    const row: Record<string, string> = {
      company_name: name,
      company_domain: domain,
      funnel_stage: FUNNEL_STAGES[stage] as string,
      total_events: String(total),
      total_downloads: String(downloads),
      total_unique_downloads: String(uniqueDownloads),
      total_views: String(views),
      total_unique_views: String(uniqueViews),
      unique_sources: String(uniqueDownloads + uniqueViews),
      first_seen: dayOf(start),
      last_seen: p < 20 ? day : dayOf(start + 19),
      company_linkedin_url: `https://www.linkedin.com/company/${domain.split('.')[0] as string}`,
      company_industry: industry,
      company_size: size,
      company_country: country,
      company_state: state,
      interest_start_date: starts[0] as string,
      investigation_start_date: starts[1] as string,
      experimentation_start_date: starts[2] as string,
      ongoing_usage_start_date: starts[3] as string,
      inactive_start_date: starts[4] as string,
      scarf_url: `https://app.scarf.sh/companies/${domain}`,
      package_totals: `acme/cli=${cli}&acme-sdk=${downloads - cli}`,
      tracking_pixel_totals: views > 0 ? `docs-pixel=${views}` : '',
    };
    out.push(SCARF_COMPANY_ROLLUP_FIELDS.map((f) => row[f] ?? ''));
  });
  return out;
}

const ARTIFACTS = ['acme/cli', 'acme/server', 'acme-sdk'];

/** Group keys of each breakdown (one aggregate row per artifact per group per day). */
function groups(breakdown: string): Array<Record<string, string>> {
  switch (breakdown) {
    case 'by-company':
      return SIM_COMPANIES.slice(0, 4).map(([company_name, company_domain]) => ({
        company_name,
        company_domain,
      }));
    case 'by-country':
      return ['DE', 'US', 'BR'].map((country) => ({ country }));
    case 'by-platform':
      return ['linux', 'darwin', 'windows'].map((platform) => ({ platform }));
    case 'by-version':
      return ['1.4.2', '2.0.0'].map((version) => ({ version }));
    case 'by-client':
      return ['pip', 'docker', 'npm'].map((client) => ({ client }));
    case 'by-cloudprovider':
      return [{ cloud_provider_name: 'AWS', cloud_provider_domain: 'aws.amazon.com' }];
    case 'by-variable':
      return [
        { variable: 'os', value: 'linux' },
        { variable: 'os', value: 'darwin' },
      ];
    case 'by-domain':
    case 'by-referer':
      return [{ domain: 'github.com' }, { domain: 'docs.acme.example' }];
    default:
      return [{}];
  }
}

/**
 * Aggregate objects for `day` as the API answers when its today is `today` (nothing for later
 * days). Restated: the value of a day depends on how old it is (see the file comment).
 */
export function aggregateRows(
  seed: string | number,
  day: string,
  breakdown: string,
  today: string,
): Array<Record<string, unknown>> {
  const age = dayNumber(today) - dayNumber(day);
  if (age < 0) return [];
  const s = hashSeed(seed);
  const b = hashSeed(breakdown);
  const out: Array<Record<string, unknown>> = [];
  ARTIFACTS.forEach((artifact, a) => {
    groups(breakdown).forEach((group, g) => {
      const base = 10 + (mix(s, dayNumber(day), a, g, b) % 90);
      const total =
        age === 0
          ? Math.floor(base / 2)
          : age === 1
            ? base
            : base + 1 + (mix(s, dayNumber(day), a, g, b, 1) % 5);
      out.push({
        date: day,
        artifact,
        breakdown,
        rollup: 'daily',
        total,
        total_unique: Math.floor(total / 3) + 1,
        ...group,
      });
    });
  });
  return out;
}
