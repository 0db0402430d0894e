/**
 * Stream `events`: the raw package-event export, `GET /v2/packages/{owner}/events?start_date&end_date`
 * (CSV, one streamed download, no paging), merged on `id` (Scarf exports are at-least-once).
 * `company_events` reads the same CSV shape per company; `csvEventsRead` is shared by both.
 */
import type { ReadContext, RecordBatch, StreamDefinition, Window } from '../../src/core/contracts.js';
import { readCsv } from '../../src/http/csv.js';
import type { ScarfSourceConfig } from './config.js';
import { SCARF_EVENT_COLUMNS } from './dictionary.js';
import type { ScarfRequestInfo } from './errors.js';
import { dayRanges, describeRanges, scarfGet, type ScarfDayRange } from './request.js';

export interface ScarfEndpoint {
  owner: string;
  token: string;
  baseUrl: string;
  windowDays: number;
}

export function endpointOf(config: ScarfSourceConfig): ScarfEndpoint {
  return {
    owner: config.owner,
    token: config.token,
    baseUrl: config.base_url.replace(/\/+$/, ''),
    windowDays: config.window_days ?? 1,
  };
}

/** Streams one events CSV for one day range, batch by batch. */
export async function* readEventsCsv(
  e: ScarfEndpoint,
  path: string,
  range: ScarfDayRange,
  ctx: ReadContext,
  stream: string,
  info: Partial<ScarfRequestInfo> = {},
): AsyncIterable<RecordBatch> {
  const endpoint = `${e.baseUrl}${path}`;
  const response = await scarfGet(
    {
      endpoint,
      query: [
        ['start_date', range.startDate],
        ['end_date', range.endDate],
      ],
      token: e.token,
      info: { owner: e.owner, ...range, windowDays: e.windowDays, endpoint, ...info },
      expect: 'csv',
    },
    ctx,
  );
  yield* readCsv(response.body, { batchRows: ctx.batchRows, stream });
}

export function eventsStream(e: ScarfEndpoint): StreamDefinition {
  const path = `/v2/packages/${encodeURIComponent(e.owner)}/events`;
  return {
    name: 'events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: e.windowDays,
    writeMode: 'merge',
    columns: SCARF_EVENT_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      for (const range of dayRanges(window, e.windowDays)) {
        const log = ctx.log.child({ start_date: range.startDate, end_date: range.endDate });
        log.debug({}, 'requesting scarf events');
        let rows = 0;
        for await (const batch of readEventsCsv(e, path, range, ctx, 'events')) {
          rows += batch.records.length;
          yield batch;
        }
        log.debug({ rows }, 'scarf events read');
      }
    },
    describe: (window: Window) => describeRanges(path, dayRanges(window, e.windowDays), e.windowDays),
  };
}
