/**
 * The Scarf connector: streams `events` (raw package events, merge on id), `aggregates` (daily
 * NDJSON aggregates, replace_window on date), `company_rollup` (company snapshot with history)
 * and `company_events` (raw events per company, merge on id). Each stream's file says what it
 * assumes of the API; README.md has the user-facing summary. Only `events` runs by default.
 */
import type { CheckVerdict, ReadContext, Source } from '../../src/core/contracts.js';
import { errorMessage } from '../../src/core/errors.js';
import { isoDate } from '../../src/core/time.js';
import { aggregatesStream } from './aggregates.js';
import { companyEventsStream } from './company-events.js';
import { companyRollupStream } from './company-rollup.js';
import { scarfSourceSchema, type ScarfSourceConfig } from './config.js';
import { endpointOf, eventsStream, pixelEventsStream } from './events.js';
import { createScarfFilesSource } from './files.js';
import { scarfGet } from './request.js';

export { scarfSourceSchema, type ScarfSourceConfig } from './config.js';
export { dayRanges, type ScarfDayRange } from './request.js';

export function createScarfSource(config: ScarfSourceConfig): Source {
  // files mode: the scheduled exports in a bucket or folder, same tables (connectors/scarf/files.ts)
  if (config.mode === 'files') return createScarfFilesSource(config);
  const e = endpointOf(config);
  const path = `/v2/packages/${encodeURIComponent(e.owner)}/events`;
  const endpoint = `${e.baseUrl}${path}`;

  return {
    name: config.name ?? 'scarf',
    type: 'scarf',
    streams: [
      eventsStream(e),
      aggregatesStream(e, config.aggregates_breakdowns),
      companyRollupStream(e),
      companyEventsStream(e, {
        domains: config.company_domains ?? [],
        maxCompanies: config.max_companies,
      }),
      pixelEventsStream(e),
    ],
    /** Today's one-day events export: proves the token, the owner and the plan; reads only the header. */
    async check(ctx: ReadContext): Promise<CheckVerdict> {
      const target = `scarf (${e.owner})`;
      const today = isoDate(new Date());
      try {
        const response = await scarfGet(
          {
            endpoint,
            query: [
              ['start_date', today],
              ['end_date', today],
            ],
            token: e.token,
            info: { owner: e.owner, startDate: today, endDate: today, windowDays: e.windowDays, endpoint },
            expect: 'csv',
          },
          ctx,
        );
        let head = '';
        for await (const chunk of response.body) {
          head += Buffer.from(chunk).toString('utf8');
          if (head.includes('\n') || head.length > 4096) break; // leaving the loop cancels the download
        }
        const header = head.split(/\r?\n/)[0] ?? '';
        if (!header.split(',').includes('id')) {
          return {
            target,
            ok: false,
            message: `GET ${path} answered, but not with the events CSV (first line: ${JSON.stringify(header.slice(0, 120))})`,
          };
        }
        return { target, ok: true, message: `events export reachable (${header.split(',').length} columns)` };
      } catch (err) {
        return { target, ok: false, message: errorMessage(err) };
      }
    },
  };
}

export const scarfConnector = {
  type: 'scarf',
  configSchema: scarfSourceSchema,
  create: createScarfSource,
} as const;
