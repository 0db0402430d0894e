/**
 * A local stand-in for Scarf's export API on 127.0.0.1: raw events
 * (`GET /v2/packages/{owner}/events`), aggregates (`…/aggregates`, NDJSON), the company rollup
 * (`…/company-rollup`, CSV) and company events (`GET /v2/companies/{owner}/{domain}/events`).
 * It speaks the contract in notes/source-apis.md §2 (Bearer auth, `{message, code}` error bodies,
 * inclusive `start_date`/`end_date`, a streamed `text/csv` attachment) and can inject the faults a
 * real export shows. Rows are generated per day while writing, honouring backpressure, so it can
 * serve millions of rows in constant memory.
 *
 * If it drifts from the real API, the connector is tested against a fiction; every guessed part
 * is marked [G]/[I] in the notes and in connectors/scarf/README.md.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAY_MS, addDays, daysBetween, isoDate } from '../../src/core/time.js';
import { SIM_COMPANIES, aggregateRows, rollupRows } from './simulator-companies.js';
import { csvLine, dayRows, headerFor, type ScarfDataOptions } from './simulator-data.js';
import { CONTRACT_END_INCLUSIVE, variantRows, type ScarfContractVariant } from './simulator-variants.js';
import {
  DEFAULT_FAULT_KINDS,
  FaultPicker,
  faultLabel,
  type ScarfFault,
  type ScarfFaultPolicy,
} from './simulator-faults.js';

export { faults, type ScarfFault } from './simulator-faults.js';
export type { ScarfContractVariant } from './simulator-variants.js';

export interface ScarfSimulatorOptions extends Partial<ScarfDataOptions>, Partial<ScarfFaultPolicy> {
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** The one valid API token (default 'scarf-test-token'). */
  token?: string;
  /** Owners with export access (default ['acme']); any other owner is 404 not-found. */
  owners?: string[];
  /** Owners that exist but are not on a paid plan: 403 not-a-pro-member. */
  ineligibleOwners?: string[];
  /** Longest accepted range in days, both ends counted (default 31) [G: the real limit is unknown]. */
  maxRangeDays?: number;
  /** Fixes "now" to an instant: later days are empty, today only has events up to it. */
  now?: Date;
  /** Fixes "today" to a UTC day whose events are all visible (ignored when `now` is set). */
  today?: Date;
  /** Rows per socket write (default 256). */
  chunkRows?: number;
  /** Breaks one assumption of connectors/scarf/contract.ts (simulator-variants.ts); default none. */
  variant?: ScarfContractVariant;
}

/** One request as the simulator saw it. `rows` counts data rows written (grows while streaming). */
export interface RequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  /** HTTP status sent, 0 when the connection was reset before any header. */
  status: number;
  fault?: string;
  authorization?: string;
  rows: number;
  /** The body was written to the end (false for resets, truncations, client aborts). */
  completed: boolean;
}

export interface ScarfSimulator {
  /** Base URL, e.g. http://127.0.0.1:54321 (use as the source's `base_url`). */
  url: string;
  port: number;
  requests: RequestLog[];
  /** Changes data and fault settings for the next requests. */
  setFaults(settings: Partial<ScarfDataOptions> & Partial<ScarfFaultPolicy>): void;
  /** Exact faults for the next `/events` requests, in order; `null` = one clean request. */
  queueFaults(list: Array<ScarfFault | null>): void;
  /** Moves the simulator's clock (undefined: back to the real clock or `today`). */
  setNow(now: Date | undefined): void;
  /** Serves the next requests with this contract variant ({} = the contract as written). */
  setVariant(variant: ScarfContractVariant): void;
  /** The rows a request for [startDate, endDate] (inclusive, YYYY-MM-DD) returns now, header first. */
  rows(startDate: string, endDate: string): Generator<string[]>;
  /** The aggregate objects `/aggregates` returns now for the days and one breakdown. */
  aggregates(startDate: string, endDate: string, breakdown: string): Generator<Record<string, unknown>>;
  /** The company rollup CSV rows `/company-rollup` returns now, header first. */
  rollup(): string[][];
  /** The rows `/v2/companies/{owner}/{domain}/events` returns now, header first. */
  companyEvents(domain: string, startDate: string, endDate: string): Generator<string[]>;
  /** The rows `/v2/tracking-pixels/{owner}/events` returns now, header first. */
  pixelEvents(startDate: string, endDate: string): Generator<string[]>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

export async function startScarfSimulator(options: ScarfSimulatorOptions = {}): Promise<ScarfSimulator> {
  const token = options.token ?? 'scarf-test-token';
  const owners = new Set(options.owners ?? ['acme']);
  const ineligible = new Set(options.ineligibleOwners ?? []);
  const maxRangeDays = options.maxRangeDays ?? 31;
  const chunkRows = options.chunkRows ?? 256;
  const data: ScarfDataOptions = {
    seed: options.seed ?? 'scarf',
    eventsPerDay: options.eventsPerDay ?? 24,
    duplicateRate: options.duplicateRate ?? 0,
    crossDayDuplicates: options.crossDayDuplicates ?? 0,
    lateEvents: options.lateEvents ?? 0,
    lateEventDelayDays: options.lateEventDelayDays ?? 2,
    newColumnFrom: options.newColumnFrom,
    newColumnName: options.newColumnName ?? 'origin_asn',
  };
  const picker = new FaultPicker({
    faultRate: options.faultRate ?? 0,
    failEvery: options.failEvery ?? 0,
    faultKinds: options.faultKinds ?? DEFAULT_FAULT_KINDS,
    faultSeed: options.faultSeed ?? data.seed,
  });
  let fixedNow = options.now;
  let variant: ScarfContractVariant = options.variant ?? {};
  const requests: RequestLog[] = [];

  /** The clock and whether today's rows stop at it. */
  const clock = (): { now: Date; cut: boolean } => {
    if (fixedNow) return { now: fixedNow, cut: true };
    if (options.today)
      return {
        now: new Date(Math.floor(options.today.getTime() / DAY_MS) * DAY_MS + DAY_MS - 1),
        cut: false,
      };
    return { now: new Date(), cut: true };
  };

  function* rows(startDate: string, endDate: string): Generator<string[]> {
    const header = headerFor(endDate, data);
    yield header;
    const { now, cut } = clock();
    const start = new Date(`${startDate}T00:00:00Z`);
    for (let d = start; isoDate(d) <= endDate; d = addDays(d, 1)) {
      yield* dayRows(d.getTime(), now, cut, header.length, data);
    }
  }

  const sendJson = (
    res: ServerResponse,
    entry: RequestLog,
    status: number,
    body: Json,
    headers: Json = {},
  ): void => {
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
    entry.completed = true;
  };

  /** Routes the simulator serves; `owner` is checked for all, dates for those with `dated`. */
  const ROUTES: Array<{
    re: RegExp;
    kind: 'events' | 'pixel-events' | 'aggregates' | 'rollup' | 'company-events';
  }> = [
    { re: /^\/v2\/packages\/([^/]+)\/events$/, kind: 'events' },
    { re: /^\/v2\/tracking-pixels\/([^/]+)\/events$/, kind: 'pixel-events' },
    { re: /^\/v2\/packages\/([^/]+)\/aggregates$/, kind: 'aggregates' },
    { re: /^\/v2\/packages\/([^/]+)\/company-rollup$/, kind: 'rollup' },
    { re: /^\/v2\/companies\/([^/]+)\/([^/]+)\/events$/, kind: 'company-events' },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: RequestLog = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      authorization: req.headers.authorization,
      rows: 0,
      completed: false,
    };
    requests.push(entry);
    let match: RegExpExecArray | null = null;
    const route = ROUTES.find((r) => (match = r.re.exec(url.pathname)) !== null);
    if (!route || !match)
      return sendJson(res, entry, 404, { message: `No route for ${url.pathname}`, code: 'not-found' });
    const groups = match as RegExpExecArray;
    if (req.method !== 'GET')
      return sendJson(res, entry, 405, { message: 'Method not allowed', code: 'method-not-allowed' });

    const fault = picker.next();
    if (fault) entry.fault = faultLabel(fault);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') await sleep(fault.delayMs);
    if (fault?.kind === 'status') {
      const headers: Json = fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
      const message = fault.status === 429 ? 'Too many requests' : 'Internal server error';
      return sendJson(res, entry, fault.status, fault.body ? JSON.parse(fault.body) : { message }, headers);
    }

    // [G] the 401 body is unknown; {message, code} like the documented export errors.
    if (req.headers.authorization !== `Bearer ${token}`) {
      return sendJson(res, entry, 401, { message: 'Invalid or missing API token', code: 'unauthorized' });
    }
    const owner = decodeURIComponent(groups[1] as string);
    if (ineligible.has(owner)) {
      return sendJson(res, entry, 403, {
        message: `${owner} is not eligible for export: raw event exports require a paid plan`,
        code: 'not-a-pro-member',
      });
    }
    if (!owners.has(owner))
      return sendJson(res, entry, 404, { message: `Entity ${owner} not found`, code: 'not-found' });

    if (route.kind === 'rollup') {
      const today = isoDate(clock().now);
      const lines = (function* () {
        for (const fields of rollupRows(data.seed, today)) yield csvLine(fields);
      })();
      return stream(res, entry, lines, 1, fault, 'text/csv', `${owner}-company-rollup-${today}.csv`);
    }

    const startDate = url.searchParams.get('start_date') ?? '';
    const endDate = url.searchParams.get('end_date') ?? '';
    for (const [name, value] of [
      ['start_date', startDate],
      ['end_date', endDate],
    ] as const) {
      const d = new Date(`${value}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(d.getTime()) || isoDate(d) !== value) {
        // [G] servant answers unparsable query parameters with a plain-text 400.
        entry.status = 400;
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Error parsing query parameter ${name} failed: could not parse: \`${value}'`);
        entry.completed = true;
        return;
      }
    }
    const asked = daysBetween(new Date(`${startDate}T00:00:00Z`), new Date(`${endDate}T00:00:00Z`)) + 1;
    if (asked < 1) {
      return sendJson(res, entry, 400, {
        message: 'start_date must not be after end_date',
        code: 'invalid-package-query',
      });
    }
    // The contract's end_date semantics (or the variant's): exclusive serves one day less, and
    // start_date = end_date then serves nothing (the silent loss `check --contract` must catch).
    const inclusive = variant.endInclusive ?? CONTRACT_END_INCLUSIVE;
    const lastDay = inclusive ? endDate : isoDate(addDays(new Date(`${endDate}T00:00:00Z`), -1));
    const days = inclusive ? asked : asked - 1;
    if (days > maxRangeDays) {
      return sendJson(res, entry, 400, {
        message: `Date range of ${days} days is longer than the maximum of ${maxRangeDays} days`,
        code: 'range-too-long',
      });
    }
    if (route.kind === 'aggregates') {
      const rollup = url.searchParams.getAll('rollup');
      if (rollup.some((r) => r !== 'daily')) {
        // [G] the simulator only knows daily rollups.
        return sendJson(res, entry, 400, {
          message: `unsupported rollup ${rollup.join(',')}`,
          code: 'invalid-package-query',
        });
      }
      const breakdowns = url.searchParams.getAll('breakdown');
      const lines = (function* () {
        for (const b of breakdowns.length > 0 ? breakdowns : ['by-total'])
          for (const o of aggregates(startDate, lastDay, b)) yield `${JSON.stringify(o)}\n`;
      })();
      return stream(
        res,
        entry,
        lines,
        0,
        fault,
        'application/x-ndjson',
        `${owner}-aggregates-${startDate}-${endDate}.jsonl`,
      );
    }
    if (route.kind === 'company-events') {
      const domain = decodeURIComponent(groups[2] as string);
      if (!SIM_COMPANIES.some((c) => c[1] === domain)) {
        return sendJson(res, entry, 404, { message: `Company ${domain} not found`, code: 'not-found' });
      }
      const lines = (function* () {
        for (const fields of variantRows(companyEventRows(domain, startDate, lastDay), variant))
          yield csvLine(fields);
      })();
      return stream(
        res,
        entry,
        lines,
        1,
        fault,
        'text/csv',
        `${owner}-${domain}-events-${startDate}-${endDate}.csv`,
      );
    }
    if (route.kind === 'pixel-events') {
      const lines = (function* () {
        for (const fields of variantRows(pixelRows(startDate, lastDay), variant)) yield csvLine(fields);
      })();
      return stream(
        res,
        entry,
        lines,
        1,
        fault,
        'text/csv',
        `${owner}-pixel-events-${startDate}-${endDate}.csv`,
      );
    }
    const lines = (function* () {
      for (const fields of variantRows(rows(startDate, lastDay), variant)) yield csvLine(fields);
    })();
    await stream(res, entry, lines, 1, fault, 'text/csv', `${owner}-events-${startDate}-${endDate}.csv`);
  }

  /** Aggregate objects of every day in [startDate, endDate] for one breakdown, as served now. */
  function* aggregates(
    startDate: string,
    endDate: string,
    breakdown: string,
  ): Generator<Record<string, unknown>> {
    const today = isoDate(clock().now);
    for (let d = new Date(`${startDate}T00:00:00Z`); isoDate(d) <= endDate; d = addDays(d, 1)) {
      yield* aggregateRows(data.seed, isoDate(d), breakdown, today);
    }
  }

  /**
   * Pixel views of [startDate, endDate], header first: the package-event generator's rows turned
   * into pixel fetches (own ids, `type` pixel-fetch, `pixel` set, no package or version).
   */
  function* pixelRows(startDate: string, endDate: string): Generator<string[]> {
    const it = rows(startDate, endDate);
    const header = it.next();
    if (header.done) return;
    const cols = header.value;
    yield cols;
    const at = (name: string) => cols.indexOf(name);
    for (const fields of it) {
      const f = [...fields];
      f[at('id')] = `px-${f[at('id')]}`;
      f[at('type')] = 'pixel-fetch';
      f[at('pixel')] = 'docs-pixel';
      f[at('package')] = '';
      f[at('version')] = '';
      yield f;
    }
  }

  /** The events of [startDate, endDate] whose origin_domain is `domain`, header first. */
  function* companyEventRows(domain: string, startDate: string, endDate: string): Generator<string[]> {
    const it = rows(startDate, endDate);
    const header = it.next().value as string[];
    yield header;
    const at = header.indexOf('origin_domain');
    for (const r of it) if (r[at] === domain) yield r;
  }

  /**
   * Streams `lines` (already formatted, `headerLines` of them before the data) as a 200 attachment,
   * applying a truncate/stall fault after `afterRows` data lines.
   */
  async function stream(
    res: ServerResponse,
    entry: RequestLog,
    source: Generator<string>,
    headerLines: number,
    fault: ScarfFault | null,
    contentType: string,
    filename: string,
  ) {
    entry.status = 200;
    res.writeHead(200, {
      'content-type': `${contentType}; charset=utf-8`,
      'content-disposition': `attachment; filename="${filename}"`,
    });
    let closed = false;
    res.on('close', () => (closed = true));
    let chunk = '';
    let inChunk = 0;
    let rowNumber = -headerLines; // data lines written so far
    for (const line of source) {
      chunk += line;
      rowNumber++;
      inChunk++;
      const boundary =
        (fault?.kind === 'truncate' || fault?.kind === 'stall') && rowNumber === fault.afterRows;
      if (inChunk < chunkRows && !boundary) continue;
      if (!(await write(res, chunk, () => closed, boundary))) return;
      entry.rows = rowNumber;
      chunk = '';
      inChunk = 0;
      if (boundary && fault?.kind === 'truncate') {
        res.socket?.destroy();
        return;
      }
      if (boundary && fault?.kind === 'stall') await sleep(fault.delayMs);
      if (closed) return;
    }
    if (fault?.kind === 'truncate') {
      // Fewer rows than afterRows: still cut the body before its end.
      if (!(await write(res, chunk, () => closed, true))) return;
      entry.rows = Math.max(rowNumber, 0);
      res.socket?.destroy();
      return;
    }
    entry.rows = Math.max(rowNumber, 0);
    res.end(chunk);
    if (!res.writableFinished && !closed) {
      await new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      });
    }
    entry.completed = res.writableFinished;
  }

  /** Writes with backpressure (or until flushed to the socket); false when the client went away. */
  async function write(
    res: ServerResponse,
    text: string,
    isClosed: () => boolean,
    flush = false,
  ): Promise<boolean> {
    if (isClosed()) return false;
    if (text.length === 0) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      const ok = res.write(text, flush ? done : undefined);
      if (!ok || flush) {
        res.on('close', done);
        if (!ok) res.on('drain', done);
      } else done();
    });
    return !isClosed();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(err), code: 'simulator-error' }));
      } else res.destroy();
    });
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setFaults(settings) {
      const { faultRate, failEvery, faultKinds, faultSeed, ...dataSettings } = settings;
      Object.assign(
        data,
        Object.fromEntries(Object.entries(dataSettings).filter(([, v]) => v !== undefined)),
      );
      if ('newColumnFrom' in settings) data.newColumnFrom = settings.newColumnFrom;
      const policy = Object.fromEntries(
        Object.entries({ faultRate, failEvery, faultKinds, faultSeed }).filter(([, v]) => v !== undefined),
      );
      picker.update(policy);
    },
    queueFaults: (list) => picker.enqueue(list),
    setNow(now) {
      fixedNow = now;
    },
    setVariant(v) {
      variant = v;
    },
    rows,
    aggregates,
    rollup: () => rollupRows(data.seed, isoDate(clock().now)),
    companyEvents: companyEventRows,
    pixelEvents: pixelRows,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
