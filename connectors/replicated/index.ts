/**
 * The Replicated connector (Vendor API v3, source-apis.md §1). Streams:
 *  - `instance_events`: `GET /vendor/v3/app/{app_id}/events?after=D1&before=D2`, one request per
 *    window, no paging [I]. Both bounds are INCLUSIVE dates [C] (the contract's `endInclusive`,
 *    connectors/replicated/contract.ts, read at request time like the simulator reads it), so the
 *    half-open window [from, to) is asked as after = from's day, before = the day before `to`.
 *    Sending `to` itself as `before` would fetch the boundary day twice (merge hides it, but every
 *    day costs double); an exclusive reading of `before` would lose the last day of every window.
 *  - `customer_instances`: `GET /vendor/v3/app/{app_id}/customer_instances`, the whole current
 *    export, once per run (snapshot, with history).
 * Auth is the raw token in `Authorization` (no `Bearer`) [C]. The body is streamed (CSV or JSON,
 * picked by the answer's content-type): memory stays bounded however large a window is. A JSON
 * object body is read at the member the contract's `wrapper` names (else its first array).
 */
import type {
  CheckVerdict,
  StreamContract,
  HttpResponse,
  ReadContext,
  RecordBatch,
  Source,
  StreamDefinition,
  Window,
} from '../../src/core/contracts.js';
import { asSourceContract } from '../../src/contract/types.js';
import { errorMessage } from '../../src/core/errors.js';
import { DAY_MS, addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { readCsv } from '../../src/http/csv.js';
import { readJsonArray } from '../../src/http/json.js';
import { replicatedSourceSchema, type ReplicatedSourceConfig } from './config.js';
import { REPLICATED_CONTRACTS } from './contract.js';
import {
  CUSTOMER_INSTANCE_COLUMNS,
  CUSTOMER_INSTANCE_KEY,
  INSTANCE_EVENT_COLUMNS,
  INSTANCE_EVENT_KEY,
  SNAPSHOT_DATE,
} from './dictionary.js';
import { REPLICATED_ERROR_STATUSES, replicatedError } from './errors.js';
import { CustomerInstanceShaper, EventShaper } from './records.js';

export { replicatedSourceSchema, type ReplicatedSourceConfig } from './config.js';

/** Whether `before` includes its day, as `contract` says (default: the instance_events contract). */
export function endInclusiveOf(
  contract: StreamContract | undefined = REPLICATED_CONTRACTS.instance_events,
): boolean {
  return contract?.endInclusive?.value ?? true;
}

/**
 * The `after`/`before` dates of a half-open window (widened to whole UTC days) under the end-date
 * semantics `endInclusive`: `before` is the window's last day when it includes its day, the day
 * after it when it does not. Default: the contract's point, read at call time.
 */
export function eventDateRange(
  window: Window,
  endInclusive = endInclusiveOf(),
): { after: string; before: string } {
  const first = startOfUtcDay(window.from);
  const lastDay = startOfUtcDay(new Date(window.to.getTime() - 1));
  const last = lastDay < first ? first : lastDay;
  return { after: isoDate(first), before: isoDate(endInclusive ? last : addDays(last, 1)) };
}

export function createReplicatedSource(config: ReplicatedSourceConfig): Source {
  const appId = config.app_id;
  const baseUrl = config.base_url.replace(/\/+$/, '');
  const appPath = `/vendor/v3/app/${encodeURIComponent(appId)}`;
  const eventsPath = `${appPath}/events`;
  const instancesPath = `${appPath}/customer_instances`;
  const csv = config.format === 'csv';

  /** One GET; non-2xx answers become SourceErrors that say what to fix. */
  async function request(path: string, params: URLSearchParams, ctx: ReadContext): Promise<HttpResponse> {
    if (csv) params.set('format', 'csv');
    const query = params.toString();
    const response = await ctx.http.get(`${baseUrl}${path}${query ? `?${query}` : ''}`, {
      headers: { Authorization: config.token, Accept: csv ? 'text/csv' : 'application/json' },
      signal: ctx.signal,
      acceptStatus: REPLICATED_ERROR_STATUSES,
    });
    if (response.status < 200 || response.status >= 300) {
      throw await replicatedError(response, { appId, path, query });
    }
    return response;
  }

  /**
   * Batches of the body: CSV when the answer says so (or was asked for and says nothing), else JSON,
   * an object body read at the member the stream contract's `wrapper` names.
   */
  function batches(
    response: HttpResponse,
    stream: StreamDefinition,
    ctx: ReadContext,
  ): AsyncIterable<RecordBatch> {
    const type = response.headers.get('content-type') ?? '';
    const isCsv = /csv/i.test(type) || (csv && !/json/i.test(type));
    const options = { batchRows: ctx.batchRows, stream: stream.name };
    if (isCsv) return readCsv(response.body, options);
    const wrapper = stream.contract ? asSourceContract(stream.contract).wrapper?.value : undefined;
    return readJsonArray(response.body, wrapper === undefined ? options : { ...options, wrapper });
  }

  function eventParams(window: Window): URLSearchParams {
    const { after, before } = eventDateRange(window, endInclusiveOf(instanceEvents.contract));
    const params = new URLSearchParams({ after, before });
    if (config.customer_ids) params.set('customerIds', config.customer_ids.join(','));
    if (config.event_types) params.set('eventTypes', config.event_types.join(','));
    return params;
  }

  function instanceParams(): URLSearchParams {
    const params = new URLSearchParams();
    if (config.customer_ids) params.set('customerIds', config.customer_ids.join(','));
    return params;
  }

  const instanceEvents: StreamDefinition = {
    name: 'instance_events',
    primaryKey: INSTANCE_EVENT_KEY,
    cursorField: 'created_at',
    windowDays: config.window_days ?? 1,
    writeMode: 'merge',
    columns: INSTANCE_EVENT_COLUMNS,
    dynamicColumns: true,
    // what the requests and the reader follow (`endInclusive`, `wrapper`); sources.ts keeps it
    contract: REPLICATED_CONTRACTS.instance_events,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      const params = eventParams(window);
      const log = ctx.log.child({ after: params.get('after'), before: params.get('before') });
      log.debug({}, 'requesting replicated events');
      const response = await request(eventsPath, params, ctx);
      const shaper = new EventShaper();
      let rows = 0;
      for await (const batch of batches(response, instanceEvents, ctx)) {
        rows += batch.records.length;
        yield shaper.shape(batch);
      }
      log.debug({ rows }, 'replicated events read');
    },
    describe(window: Window): string {
      return `GET ${eventsPath}?${eventParams(window).toString()}${csv ? '&format=csv' : ''}`;
    },
  };

  const customerInstances: StreamDefinition = {
    name: 'customer_instances',
    primaryKey: CUSTOMER_INSTANCE_KEY,
    cursorField: SNAPSHOT_DATE,
    windowDays: 1,
    writeMode: 'snapshot',
    history: true,
    columns: CUSTOMER_INSTANCE_COLUMNS,
    dynamicColumns: true,
    contract: REPLICATED_CONTRACTS.customer_instances,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      const date = isoDate(window.from);
      const response = await request(instancesPath, instanceParams(), ctx);
      const shaper = new CustomerInstanceShaper(date);
      let rows = 0;
      for await (const batch of batches(response, customerInstances, ctx)) {
        rows += batch.records.length;
        yield shaper.shape(batch);
      }
      ctx.log.debug({ rows, snapshot_date: date }, 'replicated customer instances read');
    },
    describe(window: Window): string {
      const query = instanceParams();
      if (csv) query.set('format', 'csv');
      const q = query.toString();
      return `GET ${instancesPath}${q ? `?${q}` : ''} (snapshot of ${isoDate(window.from)})`;
    },
  };

  return {
    name: config.name ?? 'replicated',
    type: 'replicated',
    streams: [instanceEvents, customerInstances],
    /** Today's events: proves the token and the app id; reads at most the first 4 KiB. */
    async check(ctx: ReadContext): Promise<CheckVerdict> {
      const target = `replicated (app ${appId})`;
      const from = startOfUtcDay(new Date());
      try {
        const response = await request(
          eventsPath,
          eventParams({ from, to: new Date(from.getTime() + DAY_MS) }),
          ctx,
        );
        let size = 0;
        for await (const chunk of response.body) {
          size += chunk.byteLength;
          if (size > 4096) break; // leaving the loop cancels the download
        }
        return {
          target,
          ok: true,
          message: `events endpoint reachable (${response.headers.get('content-type') ?? 'no content-type'})`,
        };
      } catch (err) {
        return { target, ok: false, message: errorMessage(err) };
      }
    },
  };
}

export const replicatedConnector = {
  type: 'replicated',
  configSchema: replicatedSourceSchema,
  create: createReplicatedSource,
} as const;
