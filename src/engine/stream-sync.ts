/**
 * Syncs one stream: lock, plan windows from the stored mark, and for each window
 * read → map → stage → commit (rows + state in one transaction), strictly in order.
 *
 * A window is the unit of retry and of commit: if its body fails midway (reset, truncation) the
 * staged rows are dropped and the whole window is fetched again; nothing of a window is ever
 * visible until all of it is. A non-retryable error stops this stream only; windows committed
 * before it stay, and the next run resumes from their mark.
 */
import type {
  CommitResult,
  Destination,
  FileUnit,
  HttpClient,
  Load,
  Logger,
  ReadContext,
  Source,
  StreamDefinition,
  StreamState,
  TableSchema,
  Window,
  WindowRecord,
} from '../core/contracts.js';
import type { DriftWatcher } from '../contract/drift.js';
import { DataError, ExportSyncError, errorMessage, isRangeTooLong } from '../core/errors.js';
import { DAY_MS, addDays, isoDate, startOfUtcDay } from '../core/time.js';
import { RowMapper } from '../schema/mapper.js';
import { advanceMark, clampWindows, planStream, type WindowPolicy } from './windows.js';

export interface StreamSyncOptions {
  source: Source;
  stream: StreamDefinition;
  table: string;
  destination: Destination;
  http: HttpClient;
  policy: WindowPolicy;
  /** Explicit windows (backfill); default: planned from the stored mark. */
  windows?: Window[];
  runId: string;
  startedAt: Date;
  now: () => Date;
  windowAttempts: number;
  batchRows: number;
  /** `sync.csv_pass_through`: offer the CSV pass-through to readers (when the destination takes it). */
  csvPassThrough?: boolean;
  lockWaitMs: number;
  columnBudget: number;
  log: Logger;
  /** Set when the run should stop after the window in flight commits (SIGTERM). */
  stopping: () => boolean;
  signal: AbortSignal;
  /** Compares the run's first batch of each stream with its contract. */
  drift?: DriftWatcher;
}

/** What `syncWindow` needs: the part of the stream options that one window uses. */
export type WindowSyncOptions = Pick<
  StreamSyncOptions,
  | 'source'
  | 'stream'
  | 'destination'
  | 'http'
  | 'runId'
  | 'windowAttempts'
  | 'batchRows'
  | 'csvPassThrough'
  | 'signal'
  | 'drift'
>;

/** What the commit of a window writes besides rows: the new state, a backfill ledger row, or both. */
export interface WindowCommitPlan {
  state?: StreamState;
  ledger?: WindowRecord;
}

export interface StreamResult {
  streamKey: string;
  table: string;
  status: 'ok' | 'failed' | 'locked' | 'interrupted';
  windows: number;
  windowsPlanned: number;
  staged: number;
  /** Of `staged`, the rows the CSV pass-through encoded straight from the response (no mapper). */
  encoded: number;
  upserted: number;
  deleted: number;
  /** Rows inserted or changed in windows that ended at or before the mark the run started from. */
  lateRows: number;
  highWaterMark: string | null;
  error?: string;
  errorKind?: string;
}

export async function syncStream(o: StreamSyncOptions): Promise<StreamResult> {
  const streamKey = `${o.source.name}.${o.stream.name}`;
  const log = o.log.child({ stream: streamKey });
  const result: StreamResult = {
    streamKey,
    table: o.table,
    status: 'ok',
    windows: 0,
    windowsPlanned: 0,
    staged: 0,
    encoded: 0,
    upserted: 0,
    deleted: 0,
    lateRows: 0,
    highWaterMark: null,
  };
  let lock;
  let settleTried = false;
  try {
    lock = await o.destination.lock(streamKey, o.lockWaitMs);
  } catch (err) {
    return fail(result, err, log, 'locked');
  }
  try {
    let state = await o.destination.getState(streamKey);
    result.highWaterMark = state?.highWaterMark ?? null;
    const startMark = state?.highWaterMark ? new Date(state.highWaterMark) : null;
    // file streams: the units come from the bucket listing, one window per export
    const units = o.stream.listUnits
      ? await o.stream.listUnits(state, { http: o.http, log, signal: o.signal, batchRows: o.batchRows })
      : null;
    const unitOf = new Map<Window, FileUnit>((units ?? []).map((u) => [u.window, u]));
    const plan = units
      ? { windows: units.map((u) => u.window), reason: `${units.length} new or changed export file(s)` }
      : o.windows && o.stream.writeMode !== 'snapshot'
        ? { windows: o.windows, reason: 'explicit range' }
        : planStream(o.stream.writeMode, state, o.now(), o.policy);
    if (o.stream.earliestAvailable && !units) {
      const edge = o.stream.earliestAvailable(o.now());
      const clamped = clampWindows(plan.windows, edge);
      if (clamped.lost) {
        log.warn(
          {
            lost_from: isoDate(clamped.lost.from),
            lost_to: isoDate(clamped.lost.to),
            earliest: edge.toISOString(),
          },
          'range before the source retention edge skipped: the source no longer has it, warehouse rows there are kept',
        );
      }
      plan.windows = clamped.windows;
    }
    result.windowsPlanned = plan.windows.length;
    log.info({ windows: plan.windows.length, reason: plan.reason, table: o.table }, 'sync start');

    const mapper = new RowMapper({
      table: o.table,
      stream: o.stream,
      persisted: await o.destination.getColumnMap(o.table),
      capabilities: o.destination.capabilities,
      columnBudget: o.columnBudget,
      runId: o.runId,
      loadedAt: o.startedAt.toISOString(),
      log,
    });
    let committedSignature = signature(mapper.schema);

    /**
     * What the commit of `window` writes besides rows. Called when its commit starts, which is
     * only after the previous window's commit settled, so `state` is the previous window's: the
     * state written with a window never covers the next one.
     */
    const planFor =
      (window: Window, unit: FileUnit | undefined, fetchedAt: Date, sig: { value: string }) =>
      (): WindowCommitPlan => {
        sig.value = signature(mapper.schema);
        const schemaChanged = sig.value !== committedSignature;
        const objects = unit ? { ...state?.objects, ...unit.objects } : state?.objects;
        return {
          state: {
            version: 1,
            highWaterMark: advanceMark(state?.highWaterMark ?? null, window, fetchedAt),
            schemaVersion: (state?.schemaVersion ?? 0) + (schemaChanged || !state ? 1 : 0),
            updatedAt: o.now().toISOString(),
            ...(objects ? { objects } : {}),
          },
        };
      };

    /** Accounts a committed window (in window order). */
    const committed = (
      window: Window,
      unit: FileUnit | undefined,
      synced: { commit: CommitResult; state?: StreamState; encoded?: number },
      sig: string,
    ): void => {
      const { commit } = synced;
      const next = synced.state ?? state;
      state = next;
      committedSignature = sig;
      result.windows += 1;
      result.staged += commit.staged;
      result.encoded += synced.encoded ?? 0;
      result.upserted += commit.upserted;
      result.deleted += commit.deleted;
      // a lookback window lies wholly before the starting mark: what it changed arrived late
      if (startMark && window.to <= startMark && o.stream.writeMode === 'merge')
        result.lateRows += commit.upserted;
      result.highWaterMark = next?.highWaterMark ?? null;
      log.info(
        {
          window: `${isoDate(window.from)}..${isoDate(window.to)}`,
          ...(unit ? { files: unit.label } : {}),
          staged: commit.staged,
          encoded: synced.encoded ?? 0,
          upserted: commit.upserted,
        },
        'window committed',
      );
    };

    /**
     * File streams: an export whose rows cannot be read or loaded (a cut .gz, a row dated outside
     * the file's days, a misaligned row) is skipped and the other exports go on; it stays out of
     * `state.objects`, so the next run tries it again. The stream still ends failed, naming it.
     */
    const unitFailures: string[] = [];
    const skipUnit = (unit: FileUnit | undefined, err: unknown): boolean => {
      if (!unit || o.signal.aborted || !(err instanceof ExportSyncError)) return false;
      if (err.kind !== 'source' && err.kind !== 'data') return false;
      unitFailures.push(`${unit.label}: ${errorMessage(err)}`);
      log.error(
        { files: unit.label, err: errorMessage(err) },
        'export failed and was skipped; the other exports go on, and the next run tries it again',
      );
      return true;
    };

    // Pipelined: window N+1 is read and staged (its own Load) while window N's commit runs in
    // the destination, so Node and the database work at the same time. Commits still start
    // strictly in window order, each only after the previous one settled; a failure of N+1 is
    // only acted on after N's commit settled, so it never touches N.
    let inFlight: InFlightCommit | undefined;
    const settle = async (): Promise<void> => {
      const f = inFlight;
      inFlight = undefined;
      if (!f) return;
      const outcome = await f.outcome;
      if (outcome.ok) return committed(f.window, f.unit, outcome.synced, f.sig.value);
      // The commit failed. Retryable: the window is read and committed again on its own (the
      // next window's staged rows stay valid: they do not depend on this commit).
      const left = o.windowAttempts - f.attempts;
      if (!isRetryable(outcome.err) || left < 1 || o.signal.aborted) {
        if (skipUnit(f.unit, outcome.err)) return;
        throw outcome.err;
      }
      log.warn(
        { attempt: f.attempts, err: errorMessage(outcome.err), window: isoDate(f.window.from) },
        'window failed, restarting it',
      );
      const sig = { value: '' };
      let synced;
      try {
        synced = await syncWindow(
          { ...o, windowAttempts: left },
          mapper,
          f.window,
          log,
          f.unit,
          planFor(f.window, f.unit, f.fetchedAt, sig),
        );
      } catch (err) {
        if (skipUnit(f.unit, err)) return;
        throw err;
      }
      committed(f.window, f.unit, synced, sig.value);
    };

    const queue = [...plan.windows];
    try {
      for (let window = queue.shift(); window; window = queue.shift()) {
        if (o.stopping()) {
          await settle();
          result.status = 'interrupted';
          log.warn({ done: result.windows, left: queue.length + 1 }, 'stopping after signal');
          break;
        }
        const fetchedAt = o.now();
        const current = window;
        const unit = unitOf.get(current);
        let staged: Staged;
        try {
          staged = await stageWithRetries(o, mapper, current, log, unit);
        } catch (err) {
          const halves = isRangeTooLong(err) && !unit ? splitWindow(current) : null;
          if (!halves) {
            await settle();
            if (skipUnit(unit, err)) continue;
            throw err;
          }
          // The source refused the range as too long: fetch the two halves instead (each may split again).
          log.warn(
            { window: `${isoDate(current.from)}..${isoDate(current.to)}` },
            'range too long, splitting window',
          );
          result.windowsPlanned += 1;
          queue.unshift(...halves);
          continue;
        }
        try {
          await settle();
        } catch (err) {
          await staged.load.abort().catch(() => undefined);
          throw err;
        }
        const sig = { value: '' };
        inFlight = {
          window: current,
          unit,
          fetchedAt,
          sig,
          attempts: staged.attempts,
          outcome: commitStaged(o, mapper, staged, current, planFor(current, unit, fetchedAt, sig)).then(
            (synced) => ({ ok: true as const, synced }),
            (err: unknown) => ({ ok: false as const, err }),
          ),
        };
      }
      await settle();
    } finally {
      // only on a throw: a commit still running must end before the stream's lock is released
      if (inFlight) await inFlight.outcome;
    }
    // an interrupted run leaves a bulk first load unsettled: the next run settles it
    if (result.status !== 'interrupted') {
      settleTried = true;
      await settleBulkLoad(o.destination, o.table, log);
    }
    if (unitFailures.length > 0 && result.status === 'ok') {
      result.status = 'failed';
      result.errorKind = 'data';
      result.error = `${unitFailures.length} of ${units?.length ?? 0} export(s) failed and were skipped (the others loaded; the next run tries them again): ${unitFailures.join('; ')}`;
    }
    return result;
  } catch (err) {
    // the windows committed before the failure stay; a bulk first load of them is settled now
    // (best effort: if it fails too, the next run settles it), so the table is keyed meanwhile
    if (!settleTried && !o.signal.aborted && !o.stopping()) {
      await settleBulkLoad(o.destination, o.table, log).catch((e: unknown) =>
        log.warn({ err: errorMessage(e) }, 'could not settle the bulk first load; the next run will'),
      );
    }
    return fail(result, err, log, 'failed');
  } finally {
    await lock.release().catch((err) => log.warn({ err: errorMessage(err) }, 'lock release failed'));
  }
}

/**
 * Reads, stages and commits one window, restarting it on retryable failures (a body cut midway,
 * a dropped connection, a deadlock). Every attempt starts from a fresh load: a failed attempt's
 * staged rows are dropped, never merged. Merge and replace_window are idempotent, so a commit
 * whose acknowledgement was lost is safe to repeat.
 */
export async function syncWindow(
  o: WindowSyncOptions,
  mapper: RowMapper,
  window: Window,
  log: Logger,
  unit: FileUnit | undefined,
  commitPlan: (attempt: number) => WindowCommitPlan,
): Promise<{ commit: CommitResult; state?: StreamState; attempts: number; encoded: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const staged = await stageWindow(o, mapper, window, log, unit);
      return await commitStaged(o, mapper, { ...staged, attempts: attempt }, window, commitPlan);
    } catch (err) {
      if (!isRetryable(err) || attempt >= o.windowAttempts || o.signal.aborted) throw err;
      log.warn(
        { attempt, err: errorMessage(err), window: isoDate(window.from) },
        'window failed, restarting it',
      );
    }
  }
}

/** A window read and staged, not yet committed. */
interface Staged {
  load: Load;
  /** Rows staged through the CSV pass-through. */
  encoded: number;
  /** Attempts it took (the commit plan is told the attempt of its commit). */
  attempts: number;
}

interface InFlightCommit {
  window: Window;
  unit: FileUnit | undefined;
  fetchedAt: Date;
  sig: { value: string };
  attempts: number;
  outcome: Promise<
    | { ok: true; synced: { commit: CommitResult; state?: StreamState; attempts: number } }
    | { ok: false; err: unknown }
  >;
}

function isRetryable(err: unknown): boolean {
  return err instanceof ExportSyncError && err.retryable;
}

/** `stageWindow` restarted on retryable failures, up to `windowAttempts` attempts. */
async function stageWithRetries(
  o: WindowSyncOptions,
  mapper: RowMapper,
  window: Window,
  log: Logger,
  unit: FileUnit | undefined,
): Promise<Staged> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ...(await stageWindow(o, mapper, window, log, unit)), attempts: attempt };
    } catch (err) {
      if (!isRetryable(err) || attempt >= o.windowAttempts || o.signal.aborted) throw err;
      log.warn(
        { attempt, err: errorMessage(err), window: isoDate(window.from) },
        'window failed, restarting it',
      );
    }
  }
}

/** Whether the stream's commits keep a history table (snapshot streams that ask for one). */
function historyOf(stream: WindowSyncOptions['stream']): boolean {
  return stream.writeMode === 'snapshot' && stream.history === true;
}

/** One attempt at reading and staging a window into a fresh load; the load is aborted on failure. */
async function stageWindow(
  o: WindowSyncOptions,
  mapper: RowMapper,
  window: Window,
  log: Logger,
  unit: FileUnit | undefined,
): Promise<Omit<Staged, 'attempts'>> {
  const streamKey = `${o.source.name}.${o.stream.name}`;
  const load = await o.destination.beginLoad({
    streamKey,
    schema: mapper.schema,
    runId: o.runId,
    mode: o.stream.writeMode,
    history: historyOf(o.stream),
  });
  try {
    let records = 0;
    let encoded = 0;
    const writeCsv = o.csvPassThrough === false ? undefined : load.writeCsv?.bind(load);
    const ctx: ReadContext = { http: o.http, log, signal: o.signal, batchRows: o.batchRows };
    // the CSV pass-through: regular records skip the mapper when the destination takes encoded rows
    if (writeCsv) ctx.csvPassThrough = { writerFor: (fields) => mapper.csvWriterFor(fields) };
    for await (const batch of o.stream.read(window, ctx, unit)) {
      if (batch.csv) {
        records += batch.csv.rows;
        encoded += batch.csv.rows;
        await (writeCsv as NonNullable<Load['writeCsv']>)(batch.csv, mapper.schema);
        continue;
      }
      o.drift?.observe(streamKey, o.stream.contract, batch, log);
      const rows = mapper.map(batch);
      records += rows.length;
      if (rows.length > 0) await load.write(rows, mapper.schema);
    }
    if (o.stream.writeMode === 'snapshot' && records === 0) {
      // An empty answer is far likelier a source fault than every entity vanishing at once.
      throw new DataError(
        `${streamKey}: the snapshot came back empty; refusing to mark every existing row deleted (nothing committed)`,
        { stream: streamKey },
      );
    }
    return { load, encoded };
  } catch (err) {
    await load.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * Commits a staged window with the plan computed now (the schema as the mapper has it now is a
 * superset of every schema its rows were written with). The load is aborted on failure.
 */
async function commitStaged(
  o: WindowSyncOptions,
  mapper: RowMapper,
  staged: Staged,
  window: Window,
  commitPlan: (attempt: number) => WindowCommitPlan,
): Promise<{ commit: CommitResult; state?: StreamState; attempts: number; encoded: number }> {
  const { load, attempts, encoded } = staged;
  try {
    const { state, ledger } = commitPlan(attempts);
    const commit = await load.commit({
      schema: mapper.schema,
      mode: o.stream.writeMode,
      window,
      ...(state ? { state } : {}),
      ...(ledger ? { ledger } : {}),
      history: historyOf(o.stream),
    });
    return { commit, ...(state ? { state } : {}), attempts, encoded };
  } catch (err) {
    await load.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * Ends a bulk first load of `table` (see `Destination.settle`): removes keys the source repeated
 * across windows and enforces the key. Called holding the stream's lock, after its windows.
 */
export async function settleBulkLoad(destination: Destination, table: string, log: Logger): Promise<void> {
  if (!destination.settle) return;
  const started = Date.now();
  const r = await destination.settle(table);
  if (r.settled) {
    log.info(
      { table, duplicatesRemoved: r.duplicatesRemoved, ms: Date.now() - started },
      'bulk first load settled: key enforced',
    );
  }
}

function fail(result: StreamResult, err: unknown, log: Logger, status: 'failed' | 'locked'): StreamResult {
  result.status = err instanceof ExportSyncError && err.kind === 'locked' ? 'locked' : status;
  result.error = errorMessage(err);
  result.errorKind = err instanceof ExportSyncError ? err.kind : 'internal';
  log.error({ err: result.error, kind: result.errorKind }, 'stream failed');
  return result;
}

/** A window cut in two on a whole-day boundary, or null for a window of one day or less. */
export function splitWindow(window: Window): [Window, Window] | null {
  const days = Math.round((window.to.getTime() - window.from.getTime()) / DAY_MS);
  if (days < 2) return null;
  const middle = addDays(startOfUtcDay(window.from), Math.floor(days / 2));
  return [
    { from: window.from, to: middle },
    { from: middle, to: window.to },
  ];
}

function signature(schema: TableSchema): string {
  return schema.columns.map((c) => `${c.name}:${c.type}`).join(',');
}
