/**
 * The Scarf connector. Stream `events`: the raw package-event export,
 * `GET /v2/packages/{owner}/events?start_date&end_date` (CSV, one streamed download, no paging).
 *
 * Bounds: a window is half-open [from, to) in UTC; Scarf takes whole days with BOTH ends
 * inclusive (assumed, as scarf-postgres-exporter does; [I] unverified, source-apis.md §2.1). So
 * each request asks for `start_date = first day`, `end_date = last day = to - 1 day`. If Scarf's
 * end_date were exclusive we would miss the last day of every request; if we sent `to` as the
 * end_date under the inclusive reading, adjacent windows would both fetch the boundary day (merge
 * would hide it, but every day would cost two export runs).
 */
import type {
  CheckVerdict,
  HttpResponse,
  ReadContext,
  RecordBatch,
  Source,
  StreamDefinition,
  Window,
} from '../../src/core/contracts.js';
import { errorMessage } from '../../src/core/errors.js';
import { DAY_MS, addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { readCsv } from '../../src/http/csv.js';
import { scarfSourceSchema, type ScarfSourceConfig } from './config.js';
import { SCARF_EVENT_COLUMNS } from './dictionary.js';
import { SCARF_ERROR_STATUSES, notCsvError, scarfError } from './errors.js';

export { scarfSourceSchema, type ScarfSourceConfig } from './config.js';

/** One request's inclusive day range. */
export interface ScarfDayRange {
  startDate: string;
  endDate: string;
}

/**
 * The inclusive `start_date`/`end_date` pairs covering [from, to), `windowDays` days each. A
 * window that does not start or end on a UTC midnight is widened to whole days (Scarf only takes
 * days): records outside it are what the source returns for those days, and merge keeps them right.
 */
export function dayRanges(window: Window, windowDays: number): ScarfDayRange[] {
  const first = startOfUtcDay(window.from);
  const end = startOfUtcDay(new Date(window.to.getTime() - 1 + DAY_MS)); // exclusive, whole days
  const ranges: ScarfDayRange[] = [];
  for (let day = first; day < end; day = addDays(day, windowDays)) {
    const last = addDays(day, windowDays - 1);
    const lastDay = last < end ? last : addDays(end, -1);
    ranges.push({ startDate: isoDate(day), endDate: isoDate(lastDay) });
  }
  return ranges;
}

export function createScarfSource(config: ScarfSourceConfig): Source {
  const owner = config.owner;
  const windowDays = config.window_days ?? 1;
  const baseUrl = config.base_url.replace(/\/+$/, '');
  const path = `/v2/packages/${encodeURIComponent(owner)}/events`;
  const endpoint = `${baseUrl}${path}`;

  /** One GET; non-2xx answers become SourceErrors with Scarf's explanation. */
  async function request(range: ScarfDayRange, ctx: ReadContext): Promise<HttpResponse> {
    const query = new URLSearchParams({ start_date: range.startDate, end_date: range.endDate });
    const response = await ctx.http.get(`${endpoint}?${query.toString()}`, {
      headers: { Authorization: `Bearer ${config.token}` },
      signal: ctx.signal,
      acceptStatus: SCARF_ERROR_STATUSES,
    });
    const info = { owner, ...range, windowDays, endpoint };
    if (response.status < 200 || response.status >= 300) throw await scarfError(response, info);
    // A JSON answer (e.g. an async export's status) parsed as CSV would load garbage rows.
    if (/json/i.test(response.headers.get('content-type') ?? '')) throw await notCsvError(response, info);
    return response;
  }

  const events: StreamDefinition = {
    name: 'events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays,
    writeMode: 'merge',
    columns: SCARF_EVENT_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      for (const range of dayRanges(window, windowDays)) {
        const log = ctx.log.child({ start_date: range.startDate, end_date: range.endDate });
        log.debug({}, 'requesting scarf events');
        const response = await request(range, ctx);
        let rows = 0;
        for await (const batch of readCsv(response.body, { batchRows: ctx.batchRows, stream: 'events' })) {
          rows += batch.records.length;
          yield batch;
        }
        log.debug({ rows }, 'scarf events read');
      }
    },
    describe(window: Window): string {
      const ranges = dayRanges(window, windowDays);
      const first = ranges[0];
      const last = ranges[ranges.length - 1];
      if (!first || !last) return `GET ${path} (nothing: empty window)`;
      const one = (r: ScarfDayRange): string => `start_date=${r.startDate} end_date=${r.endDate}`;
      if (ranges.length === 1) return `GET ${path} ${one(first)}`;
      return `GET ${path} ${one(first)} … ${one(last)} (×${ranges.length} requests of ${windowDays} day${windowDays === 1 ? '' : 's'})`;
    },
  };

  return {
    name: config.name ?? 'scarf',
    type: 'scarf',
    streams: [events],
    /** Today's one-day export: proves the token, the owner and the plan; reads only the header. */
    async check(ctx: ReadContext): Promise<CheckVerdict> {
      const target = `scarf (${owner})`;
      const today = isoDate(new Date());
      try {
        const response = await request({ startDate: today, endDate: today }, ctx);
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
