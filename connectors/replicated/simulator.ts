/**
 * A local stand-in for the Replicated Vendor API v3 on 127.0.0.1: `GET /vendor/v3/app/{app_id}/events`
 * and `GET /vendor/v3/app/{app_id}/customer_instances`, speaking the contract of source-apis.md §1
 * (raw-token auth, inclusive `after`/`before`, `customerIds` / `eventTypes` filters, unknown ids →
 * 200 with an empty array, 400 for an unscoped `/events`, JSON by default and CSV on `format=csv`
 * or `Accept: text/csv`). Bodies are generated while writing, honouring backpressure, so a huge
 * window streams in constant memory. Faults are the Scarf simulator's (same picker and kinds).
 *
 * Every guessed part is marked [G] here and in connectors/replicated/README.md: if it drifts from
 * the real API, the connector is tested against a fiction.
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
import {
  EVENT_CSV_HEADER,
  cellText,
  customerInstanceHeader,
  customerInstanceRows,
  dayEvents,
  eventCells,
  type ReplicatedDataOptions,
  type SimEvent,
} from './simulator-data.js';

import { REPLICATED_CONTRACTS } from './contract.js';

export { faults } from '../scarf/simulator-faults.js';
export type ReplicatedFault = ScarfFault;

export interface ReplicatedSimulatorOptions
  extends Partial<ReplicatedDataOptions>, Partial<ScarfFaultPolicy> {
  port?: number;
  /** The one valid token (default 'replicated-test-token'), expected raw in `Authorization`. */
  token?: string;
  /**
   * JSON bodies as `{events: [...]}` / `{customerInstances: [...]}` instead of a bare array
   * (default: the contract's format, connectors/replicated/contract.ts).
   */
  wrapJson?: boolean;
  /** `before` includes its day (default: the contract's `endInclusive`). A contract variant. */
  endInclusive?: boolean;
  /** `/events` JSON keys as the contract spells them (camel, default) or in snake_case. A contract variant. */
  eventKeys?: 'camel' | 'snake';
  /** Fixes "now": later events are invisible, the snapshot is as of this instant. */
  now?: Date;
  /** Records per socket write (default 256). */
  chunkRows?: number;
}

export interface RequestLog {
  path: string;
  query: Record<string, string>;
  status: number;
  fault?: string;
  authorization?: string;
  accept?: string;
  rows: number;
  completed: boolean;
}

export interface ReplicatedSimulator {
  url: string;
  requests: RequestLog[];
  /** Changes data, format or fault settings for the next requests. */
  set(
    settings: Partial<ReplicatedDataOptions> &
      Partial<ScarfFaultPolicy> & {
        wrapJson?: boolean;
        endInclusive?: boolean;
        eventKeys?: 'camel' | 'snake';
      },
  ): void;
  queueFaults(list: Array<ScarfFault | null>): void;
  setNow(now: Date | undefined): void;
  /** Ground truth: the events `/events?after&before` returns now (both days inclusive). */
  events(after: string, before: string, filter?: { customers?: string[]; types?: string[] }): SimEvent[];
  /** Ground truth: the customer_instances export now. */
  customerInstances(): ReturnType<typeof customerInstanceRows>;
  data: ReplicatedDataOptions;
  close(): Promise<void>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function startReplicatedSimulator(
  options: ReplicatedSimulatorOptions = {},
): Promise<ReplicatedSimulator> {
  const token = options.token ?? 'replicated-test-token';
  const chunkRows = options.chunkRows ?? 256;
  const contract = REPLICATED_CONTRACTS.instance_events!;
  let wrapJson = options.wrapJson ?? contract.format.value === 'json-object';
  let endInclusive = options.endInclusive ?? contract.endInclusive?.value ?? true;
  let eventKeys = options.eventKeys ?? 'camel';
  /** The JSON keys of an event: the contract's field names (or their snake_case variant). */
  const eventKeyNames = Object.keys(contract.fields);
  const eventJson = (e: SimEvent): Record<string, unknown> =>
    Object.fromEntries(
      eventKeyNames.map((k) => [
        eventKeys === 'snake' ? k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : k,
        e[k as keyof SimEvent],
      ]),
    );
  const data: ReplicatedDataOptions = {
    seed: options.seed ?? 'replicated',
    appId: options.appId ?? 'app-acme',
    customers: options.customers ?? 8,
    epoch: options.epoch ?? '2026-01-01',
    newMetricFrom: options.newMetricFrom,
    decimalFrom: options.decimalFrom,
    stringFrom: options.stringFrom,
    extraMetricKeys: options.extraMetricKeys ?? 0,
    hiddenInstances: options.hiddenInstances ?? [],
    hugeWindow: options.hugeWindow,
  };
  const picker = new FaultPicker({
    faultRate: options.faultRate ?? 0,
    failEvery: options.failEvery ?? 0,
    faultKinds: options.faultKinds ?? DEFAULT_FAULT_KINDS,
    faultSeed: options.faultSeed ?? data.seed,
  });
  let fixedNow = options.now;
  const nowMs = (): number => (fixedNow ?? new Date()).getTime();
  const requests: RequestLog[] = [];

  const list = (v: string | null): Set<string> | undefined =>
    v === null || v === '' ? undefined : new Set(v.split(',').map((s) => s.trim()));

  function* events(after: string, before: string, customers?: Set<string>, types?: Set<string>) {
    for (let d = new Date(`${after}T00:00:00Z`); isoDate(d) <= before; d = addDays(d, 1)) {
      yield* dayEvents(data, isoDate(d), nowMs(), { customers, types });
    }
  }

  const sendJson = (res: ServerResponse, entry: RequestLog, status: number, body: unknown, headers = {}) => {
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
    entry.completed = true;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: RequestLog = {
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      rows: 0,
      completed: false,
    };
    requests.push(entry);
    const match = /^\/vendor\/v3\/app\/([^/]+)\/(events|customer_instances)$/.exec(url.pathname);
    if (!match) return sendJson(res, entry, 404, { error: `no route for ${url.pathname}` });

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
    // [G] the 401 body is unknown. A `Bearer ` prefix is a wrong token: the API takes it raw [C].
    if (req.headers.authorization !== token) return sendJson(res, entry, 401, { error: 'Unauthorized' });
    const appId = decodeURIComponent(match[1] as string);
    if (appId !== data.appId) return sendJson(res, entry, 404, { error: `app ${appId} not found` });

    const csv = url.searchParams.get('format') === 'csv' || /text\/csv/.test(req.headers.accept ?? '');
    const customers = list(url.searchParams.get('customerIds') ?? url.searchParams.get('customerIDs'));

    if (match[2] === 'customer_instances') {
      const rows = customerInstanceRows(data, nowMs(), customers);
      const header = customerInstanceHeader(rows);
      const records = csv
        ? (function* () {
            yield csvLine(header);
            for (const r of rows) yield csvLine(header.map((h) => cellText(r[h])));
          })()
        : jsonBody(rows, 'customerInstances');
      return stream(res, entry, records, fault, csv);
    }

    const scoped = ['after', 'before', 'customerIds', 'customerIDs', 'eventTypes', 'instanceIds'].some((p) =>
      url.searchParams.has(p),
    );
    // [G] the docs only say a parameter is required "in order to receive a response".
    if (!scoped) return sendJson(res, entry, 400, { error: 'at least one query parameter is required' });
    const after = url.searchParams.get('after') ?? data.epoch;
    const before = url.searchParams.get('before') ?? isoDate(new Date(nowMs()));
    for (const [name, value] of [
      ['after', after],
      ['before', before],
    ] as const) {
      if (!DATE.test(value) || isoDate(new Date(`${value}T00:00:00Z`)) !== value) {
        return sendJson(res, entry, 400, { error: `invalid ${name} date: ${value}` });
      }
    }
    const types = list(url.searchParams.get('eventTypes'));
    const last = endInclusive ? before : isoDate(addDays(new Date(`${before}T00:00:00Z`), -1));
    const source = events(after, last, customers, types);
    const records = csv
      ? (function* () {
          yield csvLine(EVENT_CSV_HEADER);
          for (const e of source) yield csvLine(eventCells(e));
        })()
      : jsonBody(
          (function* () {
            for (const e of source) yield eventJson(e);
          })(),
          'events',
        );
    return stream(res, entry, records, fault, csv);
  }

  /** A JSON array (or `{key: [...]}`) as a generator of text pieces, one per record. */
  function* jsonBody(items: Iterable<unknown>, key: string): Generator<string> {
    yield wrapJson ? `{"${key}":[` : '[';
    let first = true;
    for (const item of items) {
      yield `${first ? '' : ','}\n${JSON.stringify(item)}`;
      first = false;
    }
    yield wrapJson ? '\n]}' : '\n]';
  }

  /** Streams pieces (the first is the header/opening) with backpressure and transport faults. */
  async function stream(
    res: ServerResponse,
    entry: RequestLog,
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
    let chunk = '';
    let inChunk = 0;
    let n = -1;
    const cutAt = fault?.kind === 'truncate' || fault?.kind === 'stall' ? fault.afterRows : -1;
    for (const piece of pieces) {
      chunk += piece;
      n++;
      inChunk++;
      const boundary = n === cutAt;
      if (inChunk < chunkRows && !boundary) continue;
      if (!(await write(res, chunk, () => closed))) return;
      entry.rows = Math.max(n, 0);
      chunk = '';
      inChunk = 0;
      if (boundary && fault?.kind === 'truncate') return void res.socket?.destroy();
      if (boundary && fault?.kind === 'stall') await sleep(fault.delayMs);
      if (closed) return;
    }
    if (fault?.kind === 'truncate') {
      await write(res, chunk.slice(0, Math.floor(chunk.length / 2)), () => closed);
      return void res.socket?.destroy();
    }
    entry.rows = Math.max(n - (csv ? 0 : 1), 0);
    res.end(chunk);
    await new Promise<void>((resolve) => {
      if (res.writableFinished || closed) return resolve();
      res.once('finish', resolve);
      res.once('close', resolve);
    });
    entry.completed = res.writableFinished;
  }

  async function write(res: ServerResponse, text: string, isClosed: () => boolean): Promise<boolean> {
    if (isClosed()) return false;
    if (text.length > 0 && !res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    return !isClosed();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      } else res.destroy();
    });
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    data,
    set(settings) {
      const {
        faultRate,
        failEvery,
        faultKinds,
        faultSeed,
        wrapJson: wrap,
        endInclusive: inclusive,
        eventKeys: keys,
        ...rest
      } = settings;
      if (inclusive !== undefined) endInclusive = inclusive;
      if (keys !== undefined) eventKeys = keys;
      for (const [k, v] of Object.entries(rest)) (data as unknown as Record<string, unknown>)[k] = v;
      if (wrap !== undefined) wrapJson = wrap;
      picker.update(
        Object.fromEntries(
          Object.entries({ faultRate, failEvery, faultKinds, faultSeed }).filter(([, v]) => v !== undefined),
        ),
      );
    },
    queueFaults: (faultList) => picker.enqueue(faultList),
    setNow(now) {
      fixedNow = now;
    },
    events: (after, before, filter = {}) => [
      ...events(
        after,
        before,
        filter.customers ? new Set(filter.customers) : undefined,
        filter.types ? new Set(filter.types) : undefined,
      ),
    ],
    customerInstances: () => customerInstanceRows(data, nowMs()),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
