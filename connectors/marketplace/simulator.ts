/**
 * A local stand-in for the marketplace analytics export on 127.0.0.1, speaking OUR contract
 * (README.md "HTTP contract"; no public API exists, source-apis.md §3):
 *   GET {export_path}?dataset&start_date&end_date&format=csv|json   (Bearer token, dates inclusive)
 *     200 body · 202 {job_id, status_url} when the export exceeds `asyncThreshold` rows ·
 *     400 bad/too-old range · 401 bad token · 403 dataset not visible to the token's role
 *   GET /api/marketplace/analytics/jobs/{id}          {job_id, status, result_url?} (+ Retry-After)
 *   GET /api/marketplace/analytics/jobs/{id}/result   the export body
 * Publisher tokens see their own packages/account only. Faults (Scarf's picker and kinds) apply
 * to export requests. Bodies are generated while written, with backpressure.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { addDays, isoDate } from '../../src/core/time.js';
import { csvLine } from '../scarf/simulator-data.js';
import {
  DEFAULT_FAULT_KINDS,
  FaultPicker,
  faultLabel,
  type ScarfFault,
  type ScarfFaultPolicy,
} from '../scarf/simulator-faults.js';
import { MARKETPLACE_CONTRACTS } from './contract.js';
import { ADMIN_ONLY, DATASET_NAMES } from './dictionary.js';
import { retentionEdgeDate } from './retention.js';
import { datasetRows, type MarketplaceDataOptions, type SimRow, type Viewer } from './simulator-data.js';

export { faults } from '../scarf/simulator-faults.js';

export const PUBLISHER_TOKEN = 'mp-publisher-token';
export const ADMIN_TOKEN = 'mp-admin-token';
export const DEFAULT_EXPORT_PATH = '/api/marketplace/analytics/export';
const JOBS_PATH = '/api/marketplace/analytics/jobs';

export interface MarketplaceSimulatorOptions
  extends Partial<MarketplaceDataOptions>, Partial<ScarfFaultPolicy> {
  exportPath?: string;
  /** Fixes "now" (retention edge, last day with data). Default: the real clock. */
  now?: Date;
  /** Exports with more rows than this answer 202 with a job (default 100,000). */
  asyncThreshold?: number;
  /** Status polls a job answers `pending` before `done` (default 1). */
  jobPendingPolls?: number;
  /** Retry-After of a pending job status, in seconds (default '0'). */
  jobRetryAfter?: string;
  /** The next this-many jobs end `failed` instead of `done`. */
  failJobs?: number;
  /** The next this-many jobs answer 410 (expired) to their first status poll. */
  expireJobs?: number;
  /** Datasets answering 403 whatever the role (a permission revoked upstream). */
  forbidden?: string[];
  /** end_date includes its day (default: the contract's `endInclusive`). A contract variant. */
  endInclusive?: boolean;
  /** Appended to every date value, e.g. 'T00:00:00Z' (dates sent with a time). A contract variant. */
  dateSuffix?: string;
  /** JSON as a bare array instead of `{…, "<wrapper>": [...]}` (the contract's member). A contract variant. */
  bareJson?: boolean;
}

export interface MarketplaceRequestLog {
  path: string;
  query: Record<string, string>;
  status: number;
  authorization?: string;
  fault?: string;
  rows: number;
}

interface Job {
  id: string;
  polls: number;
  fails: boolean;
  expires: boolean;
  rows: () => Generator<string>;
  csv: boolean;
}

export interface MarketplaceSimulator {
  url: string;
  requests: MarketplaceRequestLog[];
  data: MarketplaceDataOptions;
  set(
    settings: Partial<MarketplaceDataOptions> &
      Partial<ScarfFaultPolicy> &
      Partial<
        Pick<
          MarketplaceSimulatorOptions,
          | 'asyncThreshold'
          | 'failJobs'
          | 'expireJobs'
          | 'forbidden'
          | 'jobPendingPolls'
          | 'endInclusive'
          | 'dateSuffix'
          | 'bareJson'
        >
      >,
  ): void;
  queueFaults(list: Array<ScarfFault | null>): void;
  /** Ground truth: rows of `dataset` for the inclusive day range as `role` sees them. */
  rows(dataset: string, start: string, end: string, role?: 'publisher' | 'admin'): SimRow[];
  close(): Promise<void>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function startMarketplaceSimulator(
  options: MarketplaceSimulatorOptions = {},
): Promise<MarketplaceSimulator> {
  const exportPath = options.exportPath ?? DEFAULT_EXPORT_PATH;
  const data: MarketplaceDataOptions = {
    seed: options.seed ?? 'marketplace',
    installsPerDay: options.installsPerDay ?? 6,
    restatedDays: options.restatedDays ?? [],
  };
  const s = {
    asyncThreshold: options.asyncThreshold ?? 100_000,
    jobPendingPolls: options.jobPendingPolls ?? 1,
    failJobs: options.failJobs ?? 0,
    expireJobs: options.expireJobs ?? 0,
    forbidden: options.forbidden ?? [],
    endInclusive: options.endInclusive,
    dateSuffix: options.dateSuffix ?? '',
    bareJson: options.bareJson ?? false,
  };
  const picker = new FaultPicker({
    faultRate: options.faultRate ?? 0,
    failEvery: options.failEvery ?? 0,
    faultKinds: options.faultKinds ?? DEFAULT_FAULT_KINDS,
    faultSeed: options.faultSeed ?? data.seed,
  });
  const now = () => options.now ?? new Date();
  const requests: MarketplaceRequestLog[] = [];
  const jobs = new Map<string, Job>();
  let jobCount = 0;
  let origin = '';

  const viewers: Record<string, Viewer> = {
    [`Bearer ${PUBLISHER_TOKEN}`]: { role: 'publisher', publisherId: 'pub-acme' },
    [`Bearer ${ADMIN_TOKEN}`]: { role: 'admin' },
  };

  function* rowsOf(dataset: string, start: string, end: string, viewer: Viewer): Generator<SimRow> {
    const last = isoDate(now()) < end ? isoDate(now()) : end;
    for (let d = new Date(`${start}T00:00:00Z`); isoDate(d) <= last; d = addDays(d, 1)) {
      yield* datasetRows(data, dataset, isoDate(d), viewer);
    }
  }

  function body(
    dataset: string,
    start: string,
    end: string,
    viewer: Viewer,
    csv: boolean,
  ): () => Generator<string> {
    // field names, date fields and the JSON wrapper come from the contract (connectors/marketplace/contract.ts)
    const contract = MARKETPLACE_CONTRACTS[dataset]!;
    const header = Object.keys(contract.fields);
    const dates = header.filter((h) => contract.fields[h]?.value === 'date');
    const wrapper = contract.wrapper?.value ?? 'periods';
    const inclusive = s.endInclusive ?? contract.endInclusive?.value ?? true;
    const last = inclusive ? end : isoDate(addDays(new Date(`${end}T00:00:00Z`), -1));
    const served = function* (): Generator<SimRow> {
      for (const r of rowsOf(dataset, start, last, viewer)) {
        if (s.dateSuffix) for (const d of dates) if (r[d]) r[d] = `${String(r[d])}${s.dateSuffix}`;
        yield r;
      }
    };
    return function* () {
      if (csv) {
        yield csvLine(header);
        for (const r of served()) yield csvLine(header.map((h) => String(r[h] ?? '')));
        return;
      }
      yield s.bareJson ? '[' : `{"dataset":${JSON.stringify(dataset)},${JSON.stringify(wrapper)}:[`;
      let first = true;
      for (const r of served()) {
        yield `${first ? '' : ','}\n${JSON.stringify(r)}`;
        first = false;
      }
      yield s.bareJson ? '\n]' : '\n]}';
    };
  }

  const sendJson = (
    res: ServerResponse,
    entry: MarketplaceRequestLog,
    status: number,
    payload: unknown,
    headers = {},
  ) => {
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(payload));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const q = url.searchParams;
    const entry: MarketplaceRequestLog = {
      path: url.pathname,
      query: Object.fromEntries(q),
      status: 0,
      authorization: req.headers.authorization,
      rows: 0,
    };
    requests.push(entry);
    const viewer = viewers[req.headers.authorization ?? ''];
    const jobMatch = new RegExp(`^${JOBS_PATH}/([^/]+)(/result)?$`).exec(url.pathname);
    if (jobMatch) {
      if (!viewer) return sendJson(res, entry, 401, { error: 'invalid or missing bearer token' });
      const job = jobs.get(jobMatch[1]!);
      if (!job) return sendJson(res, entry, 404, { error: 'job not found or expired' });
      if (jobMatch[2]) return stream(res, entry, job.rows(), null, job.csv);
      job.polls++;
      if (job.expires) return sendJson(res, entry, 410, { error: `job ${job.id} expired` });
      if (job.polls <= s.jobPendingPolls) {
        return sendJson(
          res,
          entry,
          200,
          { job_id: job.id, status: 'pending' },
          { 'retry-after': options.jobRetryAfter ?? '0' },
        );
      }
      if (job.fails)
        return sendJson(res, entry, 200, {
          job_id: job.id,
          status: 'failed',
          error: 'export worker crashed',
        });
      return sendJson(res, entry, 200, {
        job_id: job.id,
        status: 'done',
        result_url: `${origin}${JOBS_PATH}/${job.id}/result`,
      });
    }
    if (url.pathname !== exportPath)
      return sendJson(res, entry, 404, { error: `no route for ${url.pathname}` });

    const fault = picker.next();
    if (fault) entry.fault = faultLabel(fault);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'slow') await sleep(fault.delayMs);
    if (fault?.kind === 'status') {
      const headers = fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
      return sendJson(
        res,
        entry,
        fault.status,
        { error: fault.status === 429 ? 'Too many requests' : 'Internal server error' },
        headers,
      );
    }
    if (!viewer) return sendJson(res, entry, 401, { error: 'invalid or missing bearer token' });
    const dataset = q.get('dataset') ?? '';
    if (!DATASET_NAMES.includes(dataset))
      return sendJson(res, entry, 400, { error: `unknown dataset '${dataset}'` });
    if (s.forbidden.includes(dataset) || (viewer.role !== 'admin' && ADMIN_ONLY.includes(dataset))) {
      return sendJson(res, entry, 403, { error: `dataset '${dataset}' is not available to this token` });
    }
    const start = q.get('start_date') ?? '';
    const end = q.get('end_date') ?? '';
    for (const [name, v] of [
      ['start_date', start],
      ['end_date', end],
    ] as const) {
      if (!DATE.test(v) || isoDate(new Date(`${v}T00:00:00Z`)) !== v)
        return sendJson(res, entry, 400, { error: `invalid ${name}: '${v}'` });
    }
    if (end < start) return sendJson(res, entry, 400, { error: 'end_date is before start_date' });
    const edge = retentionEdgeDate(now());
    if (start < edge)
      return sendJson(res, entry, 400, {
        error: `start_date ${start} is beyond the 24-month retention (earliest ${edge})`,
      });
    const csv = (q.get('format') ?? 'csv') !== 'json';
    const make = body(dataset, start, end, viewer, csv);

    let count = 0;
    for (const _ of rowsOf(dataset, start, end, viewer)) if (++count > s.asyncThreshold) break;
    if (count > s.asyncThreshold) {
      const id = `job-${++jobCount}`;
      const fails = s.failJobs > 0;
      if (fails) s.failJobs--;
      const expires = !fails && s.expireJobs > 0;
      if (expires) s.expireJobs--;
      jobs.set(id, { id, polls: 0, fails, expires, rows: make, csv });
      return sendJson(res, entry, 202, { job_id: id, status_url: `${origin}${JOBS_PATH}/${id}` });
    }
    return stream(res, entry, make(), fault, csv);
  }

  async function stream(
    res: ServerResponse,
    entry: MarketplaceRequestLog,
    pieces: Generator<string>,
    fault: ScarfFault | null,
    csv: boolean,
  ) {
    entry.status = 200;
    res.writeHead(200, {
      'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    });
    let closed = false;
    res.on('close', () => (closed = true));
    const cutAt = fault?.kind === 'truncate' || fault?.kind === 'stall' ? fault.afterRows : -1;
    let chunk = '';
    let n = -1;
    for (const piece of pieces) {
      chunk += piece;
      n++;
      if (n === cutAt && fault?.kind === 'truncate') {
        // wait until the bytes are on the socket: the client must see headers and rows, then a cut
        await new Promise<void>((r) => res.write(chunk, () => r()));
        await sleep(20);
        return void res.socket?.destroy();
      }
      if (n === cutAt && fault?.kind === 'stall') {
        res.write(chunk);
        chunk = '';
        await sleep(fault.delayMs);
      }
      if (chunk.length < 64 * 1024) continue;
      if (closed) return;
      if (!res.write(chunk))
        await new Promise<void>((r) => {
          res.once('drain', r);
          res.once('close', r);
        });
      chunk = '';
    }
    entry.rows = Math.max(n - (csv ? 0 : 1), 0);
    if (!closed) res.end(chunk);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      } else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    requests,
    data,
    set(settings) {
      const {
        faultRate,
        failEvery,
        faultKinds,
        faultSeed,
        asyncThreshold,
        failJobs,
        forbidden,
        jobPendingPolls,
        endInclusive,
        dateSuffix,
        bareJson,
        ...rest
      } = settings;
      if (endInclusive !== undefined) s.endInclusive = endInclusive;
      if (dateSuffix !== undefined) s.dateSuffix = dateSuffix;
      if (bareJson !== undefined) s.bareJson = bareJson;
      Object.assign(data, rest);
      if (asyncThreshold !== undefined) s.asyncThreshold = asyncThreshold;
      if (failJobs !== undefined) s.failJobs = failJobs;
      if (forbidden !== undefined) s.forbidden = forbidden;
      if (jobPendingPolls !== undefined) s.jobPendingPolls = jobPendingPolls;
      picker.update(
        Object.fromEntries(
          Object.entries({ faultRate, failEvery, faultKinds, faultSeed }).filter(([, v]) => v !== undefined),
        ),
      );
    },
    queueFaults: (list) => picker.enqueue(list),
    rows: (dataset, start, end, role = 'publisher') => [
      ...rowsOf(dataset, start, end, role === 'admin' ? { role } : { role, publisherId: 'pub-acme' }),
    ],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
