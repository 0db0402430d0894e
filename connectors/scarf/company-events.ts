/**
 * Stream `company_events`: `GET /v2/companies/{owner}/{domain}/events?start_date&end_date` (CSV,
 * the same columns as `events`), for each configured company domain, merged on `id`.
 *
 * `company_domains: all` reads the domains from the current company rollup once per run (one
 * extra request), most active first (total_events, then domain), at most `max_companies`; the
 * rest are named in a warning. A company that leaves the rollup is no longer read: its events of
 * later days are not loaded (what is already loaded stays).
 *
 * Cost: one request per company per day range. 100 companies and a 31-day backfill are 3,100
 * requests (and Scarf runs); `plan` shows the count before a run.
 */
import type { ReadContext, RecordBatch, StreamDefinition, Window } from '../../src/core/contracts.js';
import { DataError } from '../../src/core/errors.js';
import { readRollupCsv } from './company-rollup.js';
import { SCARF_EVENT_COLUMNS } from './dictionary.js';
import { readEventsCsv, type ScarfEndpoint } from './events.js';
import { dayRanges, describeRanges } from './request.js';

export interface CompanySelection {
  domains: readonly string[] | 'all';
  maxCompanies: number;
}

export function companyEventsPath(owner: string, domain: string): string {
  return `/v2/companies/${encodeURIComponent(owner)}/${encodeURIComponent(domain)}/events`;
}

/**
 * The domains of the current rollup, most active first, at most `max`. Exported for tests.
 * A rollup without a company_domain column is a DataError (we would read no company at all).
 */
export async function rollupDomains(
  e: ScarfEndpoint,
  max: number,
  ctx: ReadContext,
): Promise<{ domains: string[]; skipped: string[] }> {
  const seen = new Map<string, number>();
  for await (const batch of readRollupCsv(e, ctx, 'company_events')) {
    const at = batch.fields.indexOf('company_domain');
    if (at < 0) {
      throw new DataError(
        `company_events: the company rollup has no company_domain column (columns: ${batch.fields.join(', ')})`,
        { stream: 'company_events', field: 'company_domain' },
      );
    }
    const totalAt = batch.fields.indexOf('total_events');
    for (const record of batch.records) {
      const domain = record[at];
      if (typeof domain !== 'string' || domain === '') continue;
      const total = totalAt >= 0 ? Number(record[totalAt]) : 0;
      seen.set(domain, Math.max(seen.get(domain) ?? 0, Number.isFinite(total) ? total : 0));
    }
  }
  const ordered = [...seen.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([d]) => d);
  return { domains: ordered.slice(0, max), skipped: ordered.slice(max) };
}

export function companyEventsStream(e: ScarfEndpoint, selection: CompanySelection): StreamDefinition {
  // One rollup read per source instance (= per run); a failed read is not cached.
  let cached: Promise<string[]> | undefined;
  const domainsFor = (ctx: ReadContext): Promise<string[]> => {
    if (selection.domains !== 'all') return Promise.resolve([...selection.domains]);
    cached ??= rollupDomains(e, selection.maxCompanies, ctx).then(
      ({ domains, skipped }) => {
        if (skipped.length > 0) {
          ctx.log.warn(
            {
              companies: domains.length + skipped.length,
              max_companies: selection.maxCompanies,
              skipped: skipped.slice(0, 20),
            },
            'more companies than max_companies; the least active are not read',
          );
        }
        ctx.log.info({ companies: domains.length }, 'company domains from the rollup');
        return domains;
      },
      (err: unknown) => {
        cached = undefined;
        throw err;
      },
    );
    return cached;
  };

  return {
    name: 'company_events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: e.windowDays,
    writeMode: 'merge',
    columns: SCARF_EVENT_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      const domains = await domainsFor(ctx);
      for (const range of dayRanges(window, e.windowDays)) {
        for (const domain of domains) {
          const path = companyEventsPath(e.owner, domain);
          yield* readEventsCsv(e, path, range, ctx, 'company_events', {
            notFound: `Scarf has no company '${domain}' for owner '${e.owner}'. Check company_domains (bare domains such as scarf.sh)`,
          });
        }
      }
    },
    describe(window: Window): string {
      const ranges = dayRanges(window, e.windowDays);
      const path = companyEventsPath(e.owner, '{domain}');
      if (selection.domains === 'all') {
        return describeRanges(
          path,
          ranges,
          e.windowDays,
          selection.maxCompanies,
          `; at most: one per company of the rollup, max_companies=${selection.maxCompanies}; plus 1 company-rollup request per run`,
        );
      }
      return describeRanges(
        path,
        ranges,
        e.windowDays,
        selection.domains.length,
        `, domains ${selection.domains.join(', ')}`,
      );
    },
  };
}
