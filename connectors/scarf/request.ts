/**
 * What every Scarf stream shares: the inclusive day ranges of a window, one authenticated GET that
 * turns Scarf's `{message, code}` answers into SourceErrors, and the `describe` text `plan` counts.
 *
 * Bounds: a window is half-open [from, to) in UTC; Scarf takes whole days with BOTH ends
 * inclusive (assumed, as scarf-postgres-exporter does; [I] unverified, source-apis.md §2.1). So
 * each request asks for `start_date = first day`, `end_date = last day = to - 1 day`. If Scarf's
 * end_date were exclusive we would miss the last day of every request; if we sent `to` as the
 * end_date under the inclusive reading, adjacent windows would both fetch the boundary day (every
 * day would cost two export runs, and a replace_window stream would load the day twice).
 */
import type { HttpResponse, ReadContext, Window } from '../../src/core/contracts.js';
import { DAY_MS, addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { SCARF_EVENTS_CONTRACT } from './contract.js';
import { SCARF_ERROR_STATUSES, notCsvError, scarfError, type ScarfRequestInfo } from './errors.js';

/** Whether Scarf's end_date includes its day: the contract's point (connectors/scarf/contract.ts). */
export const END_INCLUSIVE = SCARF_EVENTS_CONTRACT.endInclusive?.value ?? true;

/**
 * The `start_date`/`end_date` query pair of an inclusive day range under the contract's end-date
 * semantics: the last day itself when end_date is inclusive, the day after it when exclusive.
 */
export function dateQuery(range: ScarfDayRange, inclusive = END_INCLUSIVE): Array<[string, string]> {
  const end = inclusive ? range.endDate : isoDate(addDays(new Date(`${range.endDate}T00:00:00Z`), 1));
  return [
    ['start_date', range.startDate],
    ['end_date', end],
  ];
}

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

export interface ScarfGet {
  /** Full URL without query string. */
  endpoint: string;
  query: Array<[string, string]>;
  token: string;
  info: ScarfRequestInfo;
  /** The body format the stream parses: a JSON answer to a CSV request is a SourceError. */
  expect: 'csv' | 'ndjson';
}

/** One GET; non-2xx answers become SourceErrors with Scarf's explanation. */
export async function scarfGet(request: ScarfGet, ctx: ReadContext): Promise<HttpResponse> {
  const query = new URLSearchParams(request.query).toString();
  const response = await ctx.http.get(query ? `${request.endpoint}?${query}` : request.endpoint, {
    headers: { Authorization: `Bearer ${request.token}` },
    signal: ctx.signal,
    acceptStatus: SCARF_ERROR_STATUSES,
  });
  if (response.status < 200 || response.status >= 300) throw await scarfError(response, request.info);
  // A JSON answer (e.g. an async export's status) parsed as CSV would load garbage rows.
  const type = response.headers.get('content-type') ?? '';
  if (request.expect === 'csv' && /json/i.test(type)) throw await notCsvError(response, request.info);
  return response;
}

/**
 * `GET <path> start_date=… end_date=…` for `plan`; `perRange` requests per day range. The text
 * `(×N requests …)` is what `plan` adds up, so N must be the requests `read` makes (an upper
 * bound when it depends on the source, marked "at most").
 */
export function describeRanges(
  path: string,
  ranges: ScarfDayRange[],
  windowDays: number,
  perRange = 1,
  extra = '',
): string {
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  if (!first || !last) return `GET ${path} (nothing: empty window)`;
  const one = (r: ScarfDayRange): string => `start_date=${r.startDate} end_date=${r.endDate}`;
  const total = ranges.length * perRange;
  const days = `${windowDays} day${windowDays === 1 ? '' : 's'}`;
  if (total === 1) return `GET ${path} ${one(first)}${extra ? ` (1 request${extra})` : ''}`;
  if (ranges.length === 1) return `GET ${path} ${one(first)} (×${total} requests${extra})`;
  return `GET ${path} ${one(first)} … ${one(last)} (×${total} requests of ${days}${extra})`;
}
