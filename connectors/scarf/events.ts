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
import { dateQuery, dayRanges, describeRanges, scarfGet, type ScarfDayRange } from './request.js';

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
      query: dateQuery(range),
      token: e.token,
      info: { owner: e.owner, ...range, windowDays: e.windowDays, endpoint, ...info },
      expect: 'csv',
    },
    ctx,
  );
  // records go to the mapper as read: regular ones may take the CSV pass-through
  yield* readCsv(response.body, { batchRows: ctx.batchRows, stream, passThrough: ctx.csvPassThrough });
}

/** Stream `events`: package events of the whole owner. */
export function eventsStream(e: ScarfEndpoint): StreamDefinition {
  return csvEventStream(e, { name: 'events', path: `/v2/packages/${encodeURIComponent(e.owner)}/events` });
}

/**
 * Stream `pixel_events`: tracking-pixel views, `GET /v2/tracking-pixels/{owner}/events` (the
 * notes' `exportEntityTrackingPixelEvents`; same CSV columns as package events [C], parameters
 * presumed the same [I]). Same table shape as `events`, plus `entity_kind = 'tracking-pixel'`, so
 * the two tables can be UNIONed without losing where a row came from.
 */
export function pixelEventsStream(e: ScarfEndpoint): StreamDefinition {
  return csvEventStream(e, {
    name: 'pixel_events',
    path: `/v2/tracking-pixels/${encodeURIComponent(e.owner)}/events`,
    entityKind: 'tracking-pixel',
  });
}

export const ENTITY_KIND_COLUMN = {
  name: 'entity_kind',
  type: 'string',
  description: "What the event is about: 'tracking-pixel' (added by exportsync, not a Scarf column).",
} as const;

function csvEventStream(
  e: ScarfEndpoint,
  o: { name: string; path: string; entityKind?: string },
): StreamDefinition {
  const { name, path, entityKind } = o;
  return {
    name,
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: e.windowDays,
    writeMode: 'merge',
    columns: entityKind ? [...SCARF_EVENT_COLUMNS, ENTITY_KIND_COLUMN] : SCARF_EVENT_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      for (const range of dayRanges(window, e.windowDays)) {
        const log = ctx.log.child({ start_date: range.startDate, end_date: range.endDate });
        log.debug({}, `requesting scarf ${name}`);
        let rows = 0;
        // pixel_events adds a field to every record: no pass-through for it
        const readCtx = entityKind ? { ...ctx, csvPassThrough: undefined } : ctx;
        for await (const batch of readEventsCsv(e, path, range, readCtx, name)) {
          rows += batch.csv?.rows ?? batch.records.length;
          yield entityKind ? withEntityKind(batch, entityKind) : batch;
        }
        log.debug({ rows }, `scarf ${name} read`);
      }
    },
    describe: (window: Window) => describeRanges(path, dayRanges(window, e.windowDays), e.windowDays),
  };
}

/** The batch with one more field, `entity_kind`, on every record (rejects stay as they are). */
function withEntityKind(batch: RecordBatch, kind: string): RecordBatch {
  for (const record of batch.records) {
    while (record.length < batch.fields.length) record.push(null);
    record.push(kind);
  }
  return { ...batch, fields: [...batch.fields, ENTITY_KIND_COLUMN.name] };
}
