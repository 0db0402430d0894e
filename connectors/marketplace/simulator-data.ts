/**
 * Deterministic marketplace data for the simulator: the same seed, day and viewer always give the
 * same rows, so tests compute their expectations from `datasetRows` (ground truth) instead of
 * pinning numbers. A "restated" day draws from a different seed: the source revised that day, and
 * a re-read window must replace the old rows exactly.
 */
import { hashSeed, mix, rng } from '../scarf/simulator-data.js';

export interface MarketplaceDataOptions {
  seed: string;
  /** Mean installs per package per day (default 6). */
  installsPerDay: number;
  /** Days (YYYY-MM-DD) whose rows the source has revised since the default data. */
  restatedDays: string[];
}

export interface Viewer {
  role: 'publisher' | 'admin';
  /** The publisher a publisher token belongs to. */
  publisherId?: string;
}

export const PUBLISHERS: Record<string, string[]> = {
  'pub-acme': ['acme-crm', 'acme-billing'],
  'pub-globex': ['globex-sso'],
  'pub-initech': ['initech-tps'],
};
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'];
const REGIONS = ['us-east', 'eu-west', 'ap-south'];
const COUNTRIES = ['BR', 'DE', 'IN', 'JP', 'US'];
const REPUTATION = ['review_received', 'certification', 'install_milestone'];
const TIERS = ['Bronze', 'Silver', 'Gold', 'Platinum'];

export type SimRow = Record<string, string | number>;

function dayRandom(o: MarketplaceDataOptions, day: string, ...parts: string[]): () => number {
  const revision = o.restatedDays.includes(day) ? 'r1' : 'r0';
  return rng(mix(hashSeed(o.seed), hashSeed(day), hashSeed(revision), hashSeed(parts.join('/'))));
}

function publishersOf(viewer: Viewer): string[] {
  if (viewer.role === 'admin') return Object.keys(PUBLISHERS);
  return viewer.publisherId && PUBLISHERS[viewer.publisherId] ? [viewer.publisherId] : [];
}

function packagesOf(viewer: Viewer): string[] {
  return publishersOf(viewer).flatMap((p) => PUBLISHERS[p] ?? []);
}

/** Install events of one package and day, each with the (unexported) country geo counts use. */
function installs(o: MarketplaceDataOptions, day: string, pkg: string) {
  const r = dayRandom(o, day, 'installs', pkg);
  const n = Math.floor(r() * o.installsPerDay * 2);
  const out: Array<{ row: SimRow; country: string }> = [];
  for (let i = 0; i < n; i++) {
    out.push({
      row: {
        package_id: pkg,
        version: VERSIONS[Math.floor(r() * VERSIONS.length)]!,
        tenant_region: REGIONS[Math.floor(r() * REGIONS.length)]!,
        install_date: day,
      },
      country: COUNTRIES[Math.floor(r() * COUNTRIES.length)]!,
    });
  }
  return out;
}

/** Rows of one dataset for one day as `viewer` sees them, in the dictionary's column order. */
export function* datasetRows(
  o: MarketplaceDataOptions,
  dataset: string,
  day: string,
  viewer: Viewer,
): Generator<SimRow> {
  const packages = packagesOf(viewer);
  switch (dataset) {
    case 'install_events':
      for (const pkg of packages) for (const i of installs(o, day, pkg)) yield i.row;
      return;
    case 'review_data':
      for (const pkg of packages) {
        const r = dayRandom(o, day, 'reviews', pkg);
        const n = Math.floor(r() * 3);
        for (let i = 0; i < n; i++)
          yield { package_id: pkg, star_rating: 1 + Math.floor(r() * 5), review_date: day };
      }
      return;
    case 'version_adoption_snapshot':
      for (const pkg of packages) {
        const r = dayRandom(o, day, 'adoption', pkg);
        for (const version of VERSIONS) {
          yield { package_id: pkg, version, active_tenant_count: Math.floor(r() * 500), snapshot_date: day };
        }
      }
      return;
    case 'geographic_summary': {
      const counts = new Map<string, number>();
      for (const pkg of packages) {
        for (const i of installs(o, day, pkg)) counts.set(i.country, (counts.get(i.country) ?? 0) + 1);
      }
      for (const c of COUNTRIES) {
        if (counts.has(c)) yield { country_code: c, period_date: day, install_count: counts.get(c)! };
      }
      return;
    }
    case 'reputation_event_log':
      for (const pub of publishersOf(viewer)) {
        const r = dayRandom(o, day, 'reputation', pub);
        const n = Math.floor(r() * 3);
        for (let i = 0; i < n; i++) {
          const type = REPUTATION[Math.floor(r() * REPUTATION.length)]!;
          yield {
            event_type: type,
            points: type === 'review_received' ? Math.floor(r() * 11) - 5 : 10,
            event_date: day,
            source_id: `${PUBLISHERS[pub]![0]}-${Math.floor(r() * 1000)}`,
          };
        }
      }
      return;
    case 'marketplace_summary': {
      const r = dayRandom(o, day, 'summary');
      let total = 0;
      for (const pkg of Object.values(PUBLISHERS).flat()) total += installs(o, day, pkg).length;
      yield {
        date: day,
        total_installs: total,
        active_publishers: 1 + Math.floor(r() * Object.keys(PUBLISHERS).length),
        new_packages: Math.floor(r() * 3),
        certifications_granted: Math.floor(r() * 2),
      };
      return;
    }
    case 'publisher_leaderboard_history': {
      const scored = Object.keys(PUBLISHERS).map((pub) => {
        const r = dayRandom(o, day, 'leaderboard', pub);
        return { pub, score: Math.floor(r() * 100_000) / 100 };
      });
      scored.sort((a, b) => b.score - a.score || a.pub.localeCompare(b.pub));
      for (const [i, s] of scored.entries()) {
        yield {
          publisher_id: s.pub,
          date: day,
          rank: i + 1,
          weighted_score: s.score.toFixed(2),
          tier: TIERS[Math.min(3, Math.floor(s.score / 250))]!,
        };
      }
      return;
    }
    default:
      throw new Error(`unknown dataset ${dataset}`);
  }
}
