/**
 * The marketplace analytics connector (issue 5; seed 002; source-apis.md §3). No public HTTP API
 * is documented, so the contract is OUR design (README "HTTP contract"), with base URL and path
 * configurable: one stream per dataset, one request per window,
 *   GET {base_url}{export_path}?dataset=<name>&start_date=D1&end_date=D2&format=csv|json
 * with INCLUSIVE dates (the contract's `endInclusive`, connectors/marketplace/contract.ts, read at
 * request time like the simulator reads it): the half-open window [from, to) is asked as from's
 * day .. the day before `to` (asking `to` itself would read a day twice, which doubles rows in
 * replace_window streams). A JSON object body is read at the contract's `wrapper` member.
 * Windows reaching before the 24-month retention edge are clamped to it (one warning per stream
 * and run): the source has deleted that data and refuses (400) ranges starting earlier. The edge
 * is computed with the engine's clock (`options.now`, passed by src/engine/sources.ts), the one
 * the engine clamps its windows with: on two clocks a window the engine kept could be skipped here.
 * Exports over the source's limit answer 202 and go through export-job.ts.
 */
import type {
  CheckVerdict,
  HttpResponse,
  ReadContext,
  RecordBatch,
  Source,
  StreamContract,
  StreamDefinition,
  Window,
} from '../../src/core/contracts.js';
import { asSourceContract } from '../../src/contract/types.js';
import { errorMessage, SourceError } from '../../src/core/errors.js';
import { addDays, isoDate, startOfUtcDay } from '../../src/core/time.js';
import { readCsv } from '../../src/http/csv.js';
import { readJsonArray } from '../../src/http/json.js';
import { marketplaceSourceSchema, type MarketplaceSourceConfig } from './config.js';
import { MARKETPLACE_CONTRACTS } from './contract.js';
import { DATASETS, type DatasetSpec } from './dictionary.js';
import { MARKETPLACE_ERROR_STATUSES, marketplaceError } from './errors.js';
import { awaitJob, readJson, ticketOf } from './export-job.js';
import { createMarketplaceFilesSource } from './files.js';
import { retentionEdge } from './retention.js';

export { marketplaceSourceSchema, type MarketplaceSourceConfig } from './config.js';

/**
 * Whether end_date includes its day, as `contract` says (default: the install_events contract;
 * every dataset's contract carries the same point, contract.ts `contractOf`).
 */
export function endInclusiveOf(
  contract: StreamContract | undefined = MARKETPLACE_CONTRACTS.install_events,
): boolean {
  return contract?.endInclusive?.value ?? true;
}

/** The end_date to send for an inclusive last day: the day itself, or the day after when exclusive. */
function endDate(lastDay: Date, endInclusive: boolean): string {
  return isoDate(endInclusive ? lastDay : addDays(lastDay, 1));
}

export interface ExportRange {
  /**
   * `start_date`/`end_date` to send (start inclusive; end as the contract's `endInclusive` says);
   * null when the whole window is past the retention edge.
   */
  request: { start: string; end: string } | null;
  /** Inclusive days of the window the source no longer holds. */
  lost?: { from: string; to: string };
}

/**
 * The dates to ask for a half-open window, its start clamped to the retention `edge`, its end date
 * under the end-date semantics `endInclusive` (default: the contract's point, read at call time).
 */
export function exportRange(window: Window, edge: Date, endInclusive = endInclusiveOf()): ExportRange {
  const from = startOfUtcDay(window.from);
  const lastDay = startOfUtcDay(new Date(Math.max(window.to.getTime() - 1, from.getTime())));
  const end = endDate(lastDay, endInclusive);
  if (from >= edge) return { request: { start: isoDate(from), end } };
  const lost = { from: isoDate(from), to: isoDate(lastDay < edge ? lastDay : addDays(edge, -1)) };
  return { request: lastDay < edge ? null : { start: isoDate(edge), end }, lost };
}

export interface MarketplaceOptions {
  /**
   * The clock of the retention edge, of `check`'s "today" and of files mode: the engine's (run.ts
   * `now`, through src/engine/sources.ts). Default: the real clock.
   */
  now?: () => Date;
}

export function createMarketplaceSource(
  config: MarketplaceSourceConfig,
  options: MarketplaceOptions = {},
): Source {
  // files mode: saved report files in a bucket or folder, same tables (connectors/marketplace/files.ts)
  if (config.mode === 'files') return createMarketplaceFilesSource(config, options.now);
  const baseUrl = config.base_url.replace(/\/+$/, '');
  const now = options.now ?? (() => new Date());
  const headers = {
    Authorization: `Bearer ${config.token}`,
    Accept: config.format === 'csv' ? 'text/csv' : 'application/json',
  };

  function query(dataset: string, start: string, end: string): string {
    return new URLSearchParams({
      dataset,
      start_date: start,
      end_date: end,
      format: config.format,
    }).toString();
  }

  /** The export body for one range, through the async job path when the source answers 202. */
  async function exportBody(
    dataset: string,
    start: string,
    end: string,
    ctx: ReadContext,
  ): Promise<HttpResponse> {
    const target = `${config.export_path}?${query(dataset, start, end)}`;
    let failure = '';
    for (let submit = 1; submit <= 2; submit++) {
      const response = await ctx.http.get(`${baseUrl}${target}`, {
        headers,
        signal: ctx.signal,
        acceptStatus: MARKETPLACE_ERROR_STATUSES,
      });
      if (response.status >= 400)
        throw await marketplaceError(response, { dataset, role: config.role, target });
      if (response.status !== 202) return response;
      const ticket = ticketOf(await readJson(response, '202 answer'), dataset);
      ctx.log.info({ dataset, job: ticket.job_id }, 'export is asynchronous, polling job');
      const outcome = await awaitJob(ticket, ctx, {
        headers,
        origin: new URL(baseUrl).origin,
        maxPolls: config.max_job_polls,
        dataset,
      });
      if (outcome.ok) return outcome.response;
      failure = outcome.reason;
      ctx.log.warn({ dataset, reason: failure, submit }, 'export job did not complete');
    }
    throw new SourceError(`marketplace export of '${dataset}' ${start}..${end} failed twice (${failure})`, {
      retryable: false,
    });
  }

  function stream(spec: DatasetSpec): StreamDefinition {
    let warned = false;
    const definition: StreamDefinition = {
      name: spec.name,
      primaryKey: spec.key,
      cursorField: spec.cursor,
      windowDays: config.window_days ?? 7,
      writeMode: spec.writeMode,
      columns: spec.columns,
      dynamicColumns: true,
      // what the requests and the reader follow (`endInclusive`, `wrapper`); sources.ts keeps it
      contract: MARKETPLACE_CONTRACTS[spec.name],
      earliestAvailable: retentionEdge,
      async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
        const edge = retentionEdge(now());
        const { request: range, lost } = exportRange(window, edge, endInclusiveOf(definition.contract));
        if (lost && !warned) {
          warned = true;
          ctx.log.warn(
            { dataset: spec.name, lost_from: lost.from, lost_to: lost.to, retention_edge: isoDate(edge) },
            `data from ${lost.from} to before ${isoDate(edge)} is past the 24-month retention and deleted at the source; reading from ${isoDate(edge)}`,
          );
        }
        if (!range) return;
        const response = await exportBody(spec.name, range.start, range.end, ctx);
        const type = response.headers.get('content-type') ?? '';
        const csv = /csv/i.test(type) || (config.format === 'csv' && !/json/i.test(type));
        const opts = { batchRows: ctx.batchRows, stream: spec.name };
        const csvOpts = { ...opts, passThrough: ctx.csvPassThrough };
        const wrapper = definition.contract
          ? asSourceContract(definition.contract).wrapper?.value
          : undefined;
        const json = () => readJsonArray(response.body, wrapper === undefined ? opts : { ...opts, wrapper });
        let rows = 0;
        for await (const batch of csv ? readCsv(response.body, csvOpts) : json()) {
          rows += batch.csv?.rows ?? batch.records.length;
          yield batch;
        }
        ctx.log.debug(
          { dataset: spec.name, start: range.start, end: range.end, rows },
          'marketplace export read',
        );
      },
      describe(window: Window): string {
        const edge = retentionEdge(now());
        const { request: range, lost } = exportRange(window, edge, endInclusiveOf(definition.contract));
        if (!range) {
          return `nothing: ${isoDate(window.from)}..${isoDate(addDays(window.to, -1))} is past the 24-month retention (deleted at the source; earliest ${isoDate(edge)}; ×0 requests)`;
        }
        const get = `GET ${config.export_path}?${query(spec.name, range.start, range.end)}`;
        return lost
          ? `${get} (clamped: ${lost.from}..${lost.to} is past the 24-month retention, deleted at the source)`
          : get;
      },
    };
    return definition;
  }

  const visible = DATASETS.filter((d) => config.role === 'admin' || d.access !== 'admin');
  return {
    name: config.name ?? 'marketplace',
    type: 'marketplace',
    streams: visible.map(stream),
    notices:
      config.role === 'admin'
        ? []
        : [
            `role publisher: admin-only datasets ${DATASETS.filter((d) => d.access === 'admin')
              .map((d) => d.name)
              .join(', ')} are skipped (set role: admin with an admin token to sync them)`,
          ],
    /** Today's install events: proves the URL, the path and the token; reads at most 4 KiB. */
    async check(ctx: ReadContext): Promise<CheckVerdict> {
      const target = `marketplace (${config.role})`;
      const today = startOfUtcDay(now());
      try {
        const end = endDate(today, endInclusiveOf(MARKETPLACE_CONTRACTS.install_events));
        const response = await exportBody('install_events', isoDate(today), end, ctx);
        let size = 0;
        for await (const chunk of response.body) {
          size += chunk.byteLength;
          if (size > 4096) break;
        }
        return {
          target,
          ok: true,
          message: `export endpoint reachable (${response.headers.get('content-type') ?? 'no content-type'})`,
        };
      } catch (err) {
        return { target, ok: false, message: errorMessage(err) };
      }
    },
  };
}

export const marketplaceConnector = {
  type: 'marketplace',
  configSchema: marketplaceSourceSchema,
  create: (config: MarketplaceSourceConfig, options?: MarketplaceOptions) =>
    createMarketplaceSource(config, options),
} as const;
