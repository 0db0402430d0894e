import { afterEach, describe, expect, it } from 'vitest';
import type { RecordBatch, Window } from '../../../src/core/contracts.js';
import { ConfigError, SourceError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import { createHttpClient } from '../../../src/http/client.js';
import {
  createScarfSource,
  dayRanges,
  scarfConnector,
  scarfSourceSchema,
} from '../../../connectors/scarf/index.js';
import {
  faults,
  startScarfSimulator,
  type ScarfSimulator,
  type ScarfSimulatorOptions,
} from '../../../connectors/scarf/simulator.js';
import { TOKEN } from './helpers.js';

const NOW = new Date('2026-11-10T12:00:00.000Z');
let sim: ScarfSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: ScarfSimulatorOptions = {}, config: Record<string, unknown> = {}) {
  sim = await startScarfSimulator({ now: NOW, eventsPerDay: 30, ...options });
  const source = createScarfSource(
    scarfSourceSchema.parse({ type: 'scarf', owner: 'acme', token: TOKEN, base_url: sim.url, ...config }),
  );
  const http = createHttpClient({
    log: silentLogger,
    retryAttempts: 4,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    requestTimeoutMs: 5_000,
    maxRequests: 100,
  });
  const ctx = { http, log: silentLogger, signal: new AbortController().signal, batchRows: 10_000 };
  const stream = source.streams[0]!;
  return { sim, source, stream, ctx, http };
}

const day = (s: string): Date => new Date(`${s}T00:00:00.000Z`);
const window = (from: string, to: string): Window => ({ from: day(from), to: day(to) });

async function collect(
  iterable: AsyncIterable<RecordBatch>,
): Promise<{ fields: string[]; records: unknown[][] }> {
  let fields: string[] = [];
  const records: unknown[][] = [];
  for await (const batch of iterable) {
    fields = batch.fields;
    expect(batch.rejects ?? []).toEqual([]);
    records.push(...batch.records);
  }
  return { fields, records };
}

/** What the simulator serves for an inclusive day range, as the CSV reader yields it ('' → null). */
function expected(s: ScarfSimulator, startDate: string, endDate: string): unknown[][] {
  return [...s.rows(startDate, endDate)].slice(1).map((r) => r.map((v) => (v === '' ? null : v)));
}

async function failure<E extends Error = SourceError>(
  p: Promise<unknown>,
  kind: new (...args: never[]) => E = SourceError as never,
): Promise<E> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(kind);
  return err as E;
}

describe('scarf connector: events stream', () => {
  it('declares the events stream: key id, cursor time, merge, 24 dictionary columns, dynamic columns', async () => {
    const { source, stream } = await setup({}, { name: 'scarf_prod', window_days: 3 });
    expect(source).toMatchObject({ name: 'scarf_prod', type: 'scarf' });
    expect(stream).toMatchObject({
      name: 'events',
      primaryKey: ['id'],
      cursorField: 'time',
      windowDays: 3,
      writeMode: 'merge',
      dynamicColumns: true,
    });
    expect(stream.columns).toHaveLength(24);
    expect(stream.columns.find((c) => c.name === 'time')?.type).toBe('timestamp');
    expect(scarfConnector.type).toBe('scarf');
    expect((await setup({}, {})).stream.windowDays).toBe(1);
  });

  it('reads a 3-day window with one request per day, start_date = end_date = that day', async () => {
    const { sim, stream, ctx } = await setup({ eventsPerDay: (d) => Number(d.slice(8)) });
    const { fields, records } = await collect(stream.read(window('2026-11-01', '2026-11-04'), ctx));
    expect(sim.requests.map((r) => r.query)).toEqual([
      { start_date: '2026-11-01', end_date: '2026-11-01' },
      { start_date: '2026-11-02', end_date: '2026-11-02' },
      { start_date: '2026-11-03', end_date: '2026-11-03' },
    ]);
    expect(
      sim.requests.every(
        (r) => r.authorization === `Bearer ${TOKEN}` && r.path === '/v2/packages/acme/events',
      ),
    ).toBe(true);
    expect(fields[0]).toBe('id');
    expect(records).toEqual(expected(sim, '2026-11-01', '2026-11-03'));
    expect(records).toHaveLength(1 + 2 + 3);
  });

  it('with window_days 3, asks for the whole window in one request with an inclusive end_date', async () => {
    const { sim, stream, ctx } = await setup({}, { window_days: 3 });
    const { records } = await collect(stream.read(window('2026-11-01', '2026-11-04'), ctx));
    expect(sim.requests.map((r) => r.query)).toEqual([{ start_date: '2026-11-01', end_date: '2026-11-03' }]);
    expect(records).toHaveLength(90);
    expect(records.every((r) => String(r[5]) >= '2026-11-01' && String(r[5]) < '2026-11-04')).toBe(true);
  });

  it('cuts a longer window into window_days chunks; the last chunk may be shorter', () => {
    expect(dayRanges(window('2026-11-01', '2026-11-08'), 3)).toEqual([
      { startDate: '2026-11-01', endDate: '2026-11-03' },
      { startDate: '2026-11-04', endDate: '2026-11-06' },
      { startDate: '2026-11-07', endDate: '2026-11-07' },
    ]);
    // Adjacent windows never share a day.
    expect(dayRanges(window('2026-10-31', '2026-11-01'), 1)).toEqual([
      { startDate: '2026-10-31', endDate: '2026-10-31' },
    ]);
    // A window not on midnights is widened to whole days.
    expect(
      dayRanges({ from: new Date('2026-11-01T06:00:00Z'), to: new Date('2026-11-02T01:00:00Z') }, 1),
    ).toEqual([
      { startDate: '2026-11-01', endDate: '2026-11-01' },
      { startDate: '2026-11-02', endDate: '2026-11-02' },
    ]);
  });

  it('passes duplicates through untouched, within a day and across days (dedupe is the destination merge)', async () => {
    const { sim, stream, ctx } = await setup({
      eventsPerDay: 200,
      duplicateRate: 0.1,
      crossDayDuplicates: 2,
    });
    const { records } = await collect(stream.read(window('2026-11-01', '2026-11-03'), ctx));
    expect(records).toEqual(expected(sim, '2026-11-01', '2026-11-02'));
    const ids = records.map((r) => r[0]);
    expect(new Set(ids).size).toBe(400 + 2); // two events of 2026-10-31 ride along at the start of 11-01
    expect(ids.length).toBeGreaterThan(400 + 2 + 20);
  });

  it('reads a new column appearing mid-history as an extra field', async () => {
    const { stream, ctx } = await setup({ newColumnFrom: '2026-11-02' });
    const before = await collect(stream.read(window('2026-11-01', '2026-11-02'), ctx));
    const after = await collect(stream.read(window('2026-11-02', '2026-11-03'), ctx));
    expect(before.fields).toHaveLength(24);
    expect(after.fields.at(-1)).toBe('origin_asn');
  });

  it('retries 429/5xx/resets through the HTTP client and still reads every row once', async () => {
    const { sim, stream, ctx } = await setup();
    sim.queueFaults([faults.tooManyRequests('0'), faults.serverError(502), faults.reset()]);
    const { records } = await collect(stream.read(window('2026-11-01', '2026-11-02'), ctx));
    expect(records).toEqual(expected(sim, '2026-11-01', '2026-11-01'));
    expect(sim.requests.map((r) => r.status)).toEqual([429, 502, 0, 200]);
  });

  it('fails the window with a retryable error when the body is truncated midway', async () => {
    const { sim, stream, ctx } = await setup({ eventsPerDay: 5000, chunkRows: 50 });
    sim.queueFaults([faults.truncate(100)]);
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-02'), ctx)));
    expect(err.retryable).toBe(true);
  });

  it('describes the requests of a window for plan', async () => {
    const one = (await setup()).stream;
    expect(one.describe(window('2026-11-01', '2026-11-02'))).toBe(
      'GET /v2/packages/acme/events start_date=2026-11-01 end_date=2026-11-01',
    );
    expect(one.describe(window('2026-11-01', '2026-11-04'))).toBe(
      'GET /v2/packages/acme/events start_date=2026-11-01 end_date=2026-11-01 … start_date=2026-11-03 end_date=2026-11-03 (×3 requests of 1 day)',
    );
  });
});

describe('scarf connector: errors', () => {
  it('explains a rejected token (401) without leaking it', async () => {
    const { stream, ctx } = await setup({ token: 'the-right-one' });
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-02'), ctx)));
    expect(err.message).toMatch(/^Scarf rejected the token for owner 'acme' \(401 unauthorized: /);
    expect(err.message).not.toContain(TOKEN);
    expect(err).toMatchObject({ retryable: false, details: { status: 401, code: 'unauthorized' } });
  });

  it('explains that raw exports need a paid plan (403 not-a-pro-member)', async () => {
    const { stream, ctx } = await setup({ owners: [], ineligibleOwners: ['acme'] });
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-02'), ctx)), ConfigError);
    expect(err.message).toContain("Scarf refused raw event exports for owner 'acme' (403 not-a-pro-member");
    expect(err.message).toContain('need a paid Scarf plan');
    expect(err).toBeInstanceOf(ConfigError); // the account, not the request: a configuration problem
    expect(err.retryable).toBe(false);
  });

  it('says window_days is too large on 400 range-too-long', async () => {
    const { stream, ctx } = await setup({ maxRangeDays: 2 }, { window_days: 3 });
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-04'), ctx)));
    expect(err.message).toContain('start_date=2026-11-01 end_date=2026-11-03');
    expect(err.message).toContain('window_days is too large (3)');
    expect(err).toMatchObject({ retryable: false, details: { status: 400, code: 'range-too-long' } });
  });

  it('names the owner on 404 not-found', async () => {
    const { stream, ctx } = await setup({ owners: ['someone-else'] });
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-02'), ctx)));
    expect(err.message).toMatch(/^Scarf has no owner 'acme' \(404 not-found/);
  });

  it('refuses a 2xx JSON answer instead of parsing it as CSV rows', async () => {
    const { sim, stream, ctx } = await setup();
    sim.queueFaults([{ kind: 'status', status: 200, body: '{"message":"export is being prepared"}' }]);
    const err = await failure(collect(stream.read(window('2026-11-01', '2026-11-02'), ctx)));
    expect(err.message).toContain('instead of the events CSV: export is being prepared');
    expect(err.retryable).toBe(true);
  });

  it('does not retry permanent errors: one request, then the error', async () => {
    const { sim, stream, ctx } = await setup({ token: 'other' });
    await failure(collect(stream.read(window('2026-11-01', '2026-11-04'), ctx)));
    expect(sim.requests).toHaveLength(1);
  });
});

describe('scarf connector: check', () => {
  it('passes with one request for today when the token and owner are good', async () => {
    const { sim, source, ctx } = await setup({ now: undefined, eventsPerDay: 100_000 });
    const verdict = await source.check(ctx);
    expect(verdict).toMatchObject({ target: 'scarf (acme)', ok: true });
    const today = new Date().toISOString().slice(0, 10);
    expect(sim.requests.map((r) => r.query)).toEqual([{ start_date: today, end_date: today }]);
  });

  it('fails with the explained reason when the token is rejected', async () => {
    const { source, ctx } = await setup({ token: 'other' });
    const verdict = await source.check(ctx);
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toContain("Scarf rejected the token for owner 'acme'");
  });
});
