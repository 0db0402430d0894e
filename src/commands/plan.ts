import type { HttpClient, StreamDefinition, StreamState, Window } from '../core/contracts.js';
import { isoDate } from '../core/time.js';
import { tableName } from '../schema/identifiers.js';
import { planStream } from '../engine/windows.js';
import { type CommandContext, streamsOf, withDestination } from './context.js';

/**
 * `exportsync plan`: what a run would create and fetch. It makes no source request and creates
 * no data table; per stream it prints the target table (CREATE or existing), the window range
 * and the number of requests.
 *
 * One write it does make, on purpose: it opens the destination like every command, and
 * `Destination.open()` creates the warehouse schema and the `_exportsync_state`,
 * `_exportsync_columns` and `_exportsync_runs` bookkeeping tables if absent (for DuckDB: the
 * database file). Avoiding it would need a read-only open in the Destination contract; reading
 * state without those tables is not possible through it. The last line of the output says so,
 * so nobody is surprised to find an empty `_exportsync_state` after a plan.
 */
export async function planCommand(ctx: CommandContext, opts: { streams?: string[] }): Promise<number> {
  const selected = streamsOf(ctx, opts.streams);
  const now = new Date();
  const perSource = new Map<string, { requests: number; budget: number }>();
  const lines = await withDestination(ctx, async (destination) => {
    const out: string[] = [];
    for (const s of selected) {
      const key = `${s.source.name}.${s.stream.name}`;
      const table = tableName(s.source.name, s.stream.name, destination.capabilities.maxIdentifierLength);
      const existing = await destination.describeTable(table);
      const state = await destination.getState(key);
      const plan = s.stream.listUnits
        ? await planFiles(s.stream, state, ctx)
        : planStream(s.stream.writeMode, state, now, {
            backfillDays: s.settings.backfill_days,
            lookbackDays: s.settings.lookback_days,
            windowDays: s.stream.windowDays,
          });
      const requests = plan.windows.reduce((n, w) => n + requestsIn(s.stream.describe(w)), 0);
      const budget = perSource.get(s.source.name) ?? {
        requests: 0,
        budget: s.settings.max_requests_per_run,
      };
      budget.requests += requests;
      perSource.set(s.source.name, budget);
      out.push(
        `${key} → ${table} (${s.stream.writeMode}${s.stream.primaryKey.length ? ` on ${s.stream.primaryKey.join(', ')}` : ''})`,
      );
      out.push(
        existing
          ? `  table exists with ${existing.columns.length} columns; new source fields will be added as columns`
          : `  CREATE TABLE ${table}: ${s.stream.columns.length} dictionary columns + audit columns; new fields become columns`,
      );
      out.push(`  ${plan.reason}`);
      const first = plan.windows[0];
      const last = plan.windows[plan.windows.length - 1];
      if (first && last) {
        out.push(
          `  fetch ${plan.windows.length} window(s) ${isoDate(first.from)} .. ${isoDate(new Date(last.to.getTime() - 1))} (inclusive, UTC), ${requests} request(s)`,
        );
        out.push(`  e.g. ${s.stream.describe(first)}`);
      } else {
        out.push('  nothing to fetch');
      }
    }
    for (const [source, b] of perSource) {
      if (b.requests > b.budget) {
        out.push(
          `warning: source ${source} needs ${b.requests} requests but max_requests_per_run is ${b.budget}; the run will stop at the budget (raise it, or run again to continue)`,
        );
      }
    }
    out.push(
      `(plan fetched nothing and created no data table; opening the destination creates its schema and _exportsync_* bookkeeping tables if absent)`,
    );
    return out;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * File streams: the exports a run would load, from a listing of the bucket or folder (read-only;
 * no object is downloaded beyond what the listing checks), compared with the stored object marks.
 */
async function planFiles(
  stream: StreamDefinition,
  state: StreamState | null,
  ctx: CommandContext,
): Promise<{ windows: Window[]; reason: string }> {
  const units = await stream.listUnits!(state, {
    http: noHttp,
    log: ctx.log,
    signal: new AbortController().signal,
    batchRows: ctx.config.sync.batch_rows,
  });
  const loaded = Object.keys(state?.objects ?? {}).length;
  return {
    windows: units.map((u) => u.window),
    reason: `files mode: ${units.length} new or changed export(s) to load (${units.map((u) => u.label).join(', ') || 'none'}); ${loaded} object(s) already loaded`,
  };
}

/** File streams read from an object store, never over the source's HTTP API. */
const noHttp: HttpClient = {
  requestCount: 0,
  get: () => Promise.reject(new Error('file streams make no HTTP API request')),
};

/** Requests `describe()` announces for one window: `(×N requests …)`, else one. */
function requestsIn(description: string): number {
  const n = /×(\d+) requests?/.exec(description)?.[1];
  return n ? Number(n) : 1;
}
