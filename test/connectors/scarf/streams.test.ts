/**
 * The aggregates, company_rollup and company_events streams against the simulator, through the
 * real HTTP client: requests made, records yielded (compared with the simulator's ground truth),
 * config defaults and refusals, and the failure paths (out-of-window rows, unknown company,
 * range-too-long, JSON instead of CSV).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordBatch, StreamDefinition, Window } from '../../../src/core/contracts.js';
import { ConfigError, DataError, SourceError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import { createHttpClient } from '../../../src/http/client.js';
import { createScarfSource, scarfSourceSchema } from '../../../connectors/scarf/index.js';
import { rollupDomains } from '../../../connectors/scarf/company-events.js';
import { endpointOf } from '../../../connectors/scarf/events.js';
import { FUNNEL_STAGES, SIM_COMPANIES } from '../../../connectors/scarf/simulator-companies.js';
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

const day = (s: string): Date => new Date(`${s}T00:00:00.000Z`);
const window = (from: string, to: string): Window => ({ from: day(from), to: day(to) });

function parse(config: Record<string, unknown>) {
  return scarfSourceSchema.parse({ type: 'scarf', owner: 'acme', token: TOKEN, ...config });
}

async function setup(options: ScarfSimulatorOptions = {}, config: Record<string, unknown> = {}) {
  sim = await startScarfSimulator({ now: NOW, eventsPerDay: 60, ...options });
  const source = createScarfSource(parse({ base_url: sim.url, ...config }));
  const http = createHttpClient({
    log: silentLogger,
    retryAttempts: 3,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    requestTimeoutMs: 5_000,
    maxRequests: 200,
  });
  const ctx = { http, log: silentLogger, signal: new AbortController().signal, batchRows: 7 };
  const stream = (name: string): StreamDefinition => source.streams.find((s) => s.name === name)!;
  return { sim, source, stream, ctx, http };
}

/** Records as objects keyed by their batch's fields. */
async function objects(iterable: AsyncIterable<RecordBatch>): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const batch of iterable) {
    expect(batch.rejects ?? []).toEqual([]);
    for (const r of batch.records)
      out.push(Object.fromEntries(batch.fields.map((f, i) => [f, r[i] ?? null])));
  }
  return out;
}

async function failure<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

describe('scarf config', () => {
  it('defaults streams to [events] only, breakdowns to [by-total], max_companies to 100', () => {
    const c = parse({});
    expect(c.streams).toEqual(['events']);
    expect(c.aggregates_breakdowns).toEqual(['by-total']);
    expect(c.max_companies).toBe(100);
    expect(c.company_domains).toBeUndefined();
  });

  it('lists every stream on the source, events first', () => {
    const source = createScarfSource(parse({}));
    expect(source.streams.map((s) => s.name)).toEqual([
      'events',
      'aggregates',
      'company_rollup',
      'company_events',
      'pixel_events',
    ]);
  });

  it('refuses company_events without company_domains, an unknown breakdown, and a repeated domain', () => {
    const bad = [
      { streams: ['company_events'] },
      { aggregates_breakdowns: ['by-moon'] },
      { company_domains: ['a.example', 'a.example'] },
      { company_domains: 'some' },
      { company_domains: ['https://a.example/'] },
    ];
    for (const b of bad)
      expect(scarfSourceSchema.safeParse({ type: 'scarf', owner: 'o', token: 't', ...b }).success).toBe(
        false,
      );
    const issue = scarfSourceSchema.safeParse({
      type: 'scarf',
      owner: 'o',
      token: 't',
      streams: ['company_events'],
    });
    expect(issue.error?.issues[0]?.path).toEqual(['company_domains']);
  });
});

describe('scarf connector: aggregates stream', () => {
  it('declares replace_window on date, no key, the Aggregate keys as columns', async () => {
    const { stream } = await setup();
    expect(stream('aggregates')).toMatchObject({
      primaryKey: [],
      cursorField: 'date',
      writeMode: 'replace_window',
      windowDays: 1,
    });
    const columns = stream('aggregates').columns;
    expect(columns.find((c) => c.name === 'date')?.type).toBe('date');
    expect(columns.find((c) => c.name === 'total')?.type).toBe('integer');
  });

  it('fetches every configured breakdown for every day of the window, rollup=daily', async () => {
    const { sim, stream, ctx } = await setup({}, { aggregates_breakdowns: ['by-total', 'by-company'] });
    const rows = await objects(stream('aggregates').read(window('2026-11-07', '2026-11-09'), ctx));
    expect(sim.requests.map((r) => [r.path, r.query])).toEqual(
      ['2026-11-07', '2026-11-08'].flatMap((d) =>
        ['by-total', 'by-company'].map((b) => [
          '/v2/packages/acme/aggregates',
          { start_date: d, end_date: d, rollup: 'daily', breakdown: b },
        ]),
      ),
    );
    const truth = ['2026-11-07', '2026-11-08'].flatMap((d) =>
      ['by-total', 'by-company'].flatMap((b) => [...sim.aggregates(d, d, b)]),
    );
    expect(rows).toHaveLength(truth.length);
    expect(
      rows.map((r) => ({ ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) })),
    ).toEqual(truth);
    expect(new Set(rows.map((r) => r.breakdown))).toEqual(new Set(['by-total', 'by-company']));
    expect(
      rows.filter((r) => r.breakdown === 'by-company').every((r) => typeof r.company_domain === 'string'),
    ).toBe(true);
  });

  it('sees restated totals when the same day is read again a day later', async () => {
    const { sim, stream, ctx } = await setup();
    const sum = async () =>
      (await objects(stream('aggregates').read(window('2026-11-10', '2026-11-11'), ctx))).reduce(
        (n, r) => n + Number(r.total),
        0,
      );
    const sameDay = await sum();
    sim.setNow(new Date('2026-11-11T12:00:00Z'));
    const nextDay = await sum();
    sim.setNow(new Date('2026-11-13T12:00:00Z'));
    const later = await sum();
    expect(sameDay).toBeLessThan(nextDay);
    expect(nextDay).toBeLessThan(later);
  });

  it('fills a missing breakdown key with the breakdown asked for', async () => {
    const { ctx } = await setup();
    // The simulator always sends the key: a one-line server that leaves it out.
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"date":"2026-11-07","artifact":"a","total":3,"rollup":"daily"}\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const source = createScarfSource(parse({ base_url: `http://127.0.0.1:${port}` }));
      const rows = await objects(source.streams[1]!.read(window('2026-11-07', '2026-11-08'), ctx));
      expect(rows).toEqual([
        { date: '2026-11-07', artifact: 'a', total: 3, rollup: 'daily', breakdown: 'by-total' },
      ]);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('fails the window (DataError) on a row dated outside the requested days, naming the line', async () => {
    const { ctx } = await setup();
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        '{"date":"2026-11-07","artifact":"a","breakdown":"by-total","total":3,"rollup":"daily"}\n' +
          '{"date":"2026-11-02","artifact":"a","breakdown":"by-total","total":9,"rollup":"weekly"}\n',
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const source = createScarfSource(parse({ base_url: `http://127.0.0.1:${port}` }));
      const err = await failure(
        objects(source.streams[1]!.read(window('2026-11-07', '2026-11-08'), ctx)),
        DataError,
      );
      expect(err.message).toContain('line 2');
      expect(err.message).toContain('"2026-11-02" is outside the requested days 2026-11-07..2026-11-07');
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('turns range-too-long into an error naming window_days, without retrying', async () => {
    const { sim, stream, ctx } = await setup({ maxRangeDays: 2 }, { window_days: 3 });
    const err = await failure(
      objects(stream('aggregates').read(window('2026-11-01', '2026-11-04'), ctx)),
      SourceError,
    );
    expect(err.message).toContain('window_days is too large (3)');
    expect(err.retryable).toBe(false);
    expect(sim.requests).toHaveLength(1);
  });

  it('retries a 500 on an aggregates request and yields each row once', async () => {
    const { sim, stream, ctx } = await setup();
    sim.queueFaults([faults.serverError(500)]);
    const rows = await objects(stream('aggregates').read(window('2026-11-07', '2026-11-08'), ctx));
    expect(rows).toHaveLength([...sim.aggregates('2026-11-07', '2026-11-07', 'by-total')].length);
    expect(sim.requests.map((r) => r.status)).toEqual([500, 200]);
  });

  it('describes one request per breakdown per day for plan', async () => {
    const { stream } = await setup({}, { aggregates_breakdowns: ['by-total', 'by-company'] });
    expect(stream('aggregates').describe(window('2026-11-01', '2026-11-04'))).toContain(
      '(×6 requests of 1 day',
    );
  });
});

describe('scarf connector: company_rollup stream', () => {
  it('declares a snapshot with history, key company_domain, cursor snapshot_date (date), typed columns', async () => {
    const { stream } = await setup();
    const s = stream('company_rollup');
    expect(s).toMatchObject({
      primaryKey: ['company_domain'],
      cursorField: 'snapshot_date',
      writeMode: 'snapshot',
      history: true,
    });
    const type = (n: string) => s.columns.find((c) => c.name === n)?.type;
    expect(type('snapshot_date')).toBe('date');
    expect(type('first_seen')).toBe('date');
    expect(type('ongoing_usage_start_date')).toBe('date');
    expect(type('total_events')).toBe('integer');
    expect(type('unique_sources')).toBe('integer');
    expect(type('package_totals')).toBe('string');
    expect(type('tracking_pixel_totals')).toBe('string');
  });

  it('reads the rollup once and stamps every row with the window day as snapshot_date', async () => {
    const { sim, stream, ctx } = await setup();
    const rows = await objects(stream('company_rollup').read(window('2026-11-10', '2026-11-11'), ctx));
    expect(sim.requests.map((r) => [r.path, r.query])).toEqual([['/v2/packages/acme/company-rollup', {}]]);
    const [header, ...truth] = sim.rollup();
    expect(rows).toHaveLength(truth.length);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.every((r) => r.snapshot_date === '2026-11-10')).toBe(true);
    expect(rows.map((r) => header!.map((h) => r[h] ?? ''))).toEqual(truth);
  });

  it('simulates companies whose funnel stage moves with the date and who leave and come back', async () => {
    const { sim } = await setup();
    const stages = (d: string) => {
      sim!.setNow(new Date(`${d}T12:00:00Z`));
      const [header, ...rows] = sim!.rollup();
      const at = header!.indexOf('funnel_stage');
      return new Map(rows.map((r) => [r[1], r[at]]));
    };
    const days = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);
    const seen = days.map(stages);
    for (const s of seen) {
      expect(s.size).toBeGreaterThanOrEqual(6);
      for (const stage of s.values()) expect(FUNNEL_STAGES).toContain(stage);
    }
    const acme = seen.map((s) => s.get('acme.example') ?? 'absent');
    expect(new Set(acme)).toEqual(new Set([...FUNNEL_STAGES, 'absent']));
    // Stage changes between some consecutive days.
    expect(
      seen
        .slice(1)
        .some((s, i) => [...s].some(([d, st]) => seen[i]!.get(d) !== undefined && seen[i]!.get(d) !== st)),
    ).toBe(true);
  });

  it('says a paid plan is needed when the rollup answers 403 not-a-pro-member, without retrying', async () => {
    const { sim, stream, ctx } = await setup();
    sim.queueFaults([{ kind: 'status', status: 403, body: '{"message":"no","code":"not-a-pro-member"}' }]);
    const err = await failure(
      objects(stream('company_rollup').read(window('2026-11-10', '2026-11-11'), ctx)),
      ConfigError,
    );
    expect(err.message).toContain('paid');
    expect(err.retryable).toBe(false);
  });
});

describe('scarf connector: company_events stream', () => {
  it('reads each configured domain for each day, the same columns as events', async () => {
    const { sim, stream, ctx } = await setup(
      {},
      { streams: ['company_events'], company_domains: ['acme.example', 'globex.example'] },
    );
    const s = stream('company_events');
    expect(s).toMatchObject({ primaryKey: ['id'], cursorField: 'time', writeMode: 'merge' });
    expect(s.columns).toEqual(stream('events').columns);
    const rows = await objects(s.read(window('2026-11-08', '2026-11-10'), ctx));
    expect(sim.requests.map((r) => [r.path, r.query.start_date])).toEqual([
      ['/v2/companies/acme/acme.example/events', '2026-11-08'],
      ['/v2/companies/acme/globex.example/events', '2026-11-08'],
      ['/v2/companies/acme/acme.example/events', '2026-11-09'],
      ['/v2/companies/acme/globex.example/events', '2026-11-09'],
    ]);
    const truth = ['2026-11-08', '2026-11-09'].flatMap((d) =>
      ['acme.example', 'globex.example'].flatMap((c) =>
        [...sim.companyEvents(c, d, d)].slice(1).map((r) => r[0]),
      ),
    );
    expect(truth.length).toBeGreaterThan(5);
    expect(rows.map((r) => r.id)).toEqual(truth);
    expect(s.describe(window('2026-11-08', '2026-11-10'))).toContain('×4 requests');
  });

  it('with company_domains all, reads the rollup once per run and every domain in it', async () => {
    const { sim, stream, ctx } = await setup({}, { streams: ['company_events'], company_domains: 'all' });
    const s = stream('company_events');
    await objects(s.read(window('2026-11-08', '2026-11-09'), ctx));
    await objects(s.read(window('2026-11-09', '2026-11-10'), ctx));
    const rollups = sim.requests.filter((r) => r.path.endsWith('/company-rollup'));
    expect(rollups).toHaveLength(1);
    const present = sim
      .rollup()
      .slice(1)
      .map((r) => r[1]);
    const asked = sim.requests
      .filter((r) => r.path.startsWith('/v2/companies/'))
      .map((r) => r.path.split('/')[4]);
    expect(asked.slice(0, present.length).sort()).toEqual([...present].sort());
    expect(asked).toHaveLength(present.length * 2);
  });

  it('bounds all by max_companies, most active first, and warns naming the companies left out', async () => {
    const { ctx } = await setup();
    const warnings: unknown[] = [];
    const log = {
      ...silentLogger,
      warn: (o: unknown) => warnings.push(o),
      info: () => undefined,
    } as unknown as typeof silentLogger;
    const e = endpointOf(parse({ base_url: sim!.url }));
    const { domains, skipped } = await rollupDomains(e, 2, ctx);
    const [header, ...rows] = sim!.rollup();
    const total = header!.indexOf('total_events');
    const byActivity = [...rows]
      .sort((a, b) => Number(b[total]) - Number(a[total]) || (a[1]! < b[1]! ? -1 : 1))
      .map((r) => r[1]);
    expect(domains).toEqual(byActivity.slice(0, 2));
    expect(skipped).toEqual(byActivity.slice(2));

    const source = createScarfSource(
      parse({ base_url: sim!.url, streams: ['company_events'], company_domains: 'all', max_companies: 2 }),
    );
    await objects(source.streams[3]!.read(window('2026-11-08', '2026-11-09'), { ...ctx, log }));
    expect(warnings).toEqual([expect.objectContaining({ max_companies: 2, skipped: byActivity.slice(2) })]);
  });

  it('names the company and company_domains when Scarf does not know a domain', async () => {
    const { stream, ctx } = await setup(
      {},
      { streams: ['company_events'], company_domains: ['nope.example'] },
    );
    const err = await failure(
      objects(stream('company_events').read(window('2026-11-08', '2026-11-09'), ctx)),
      SourceError,
    );
    expect(err.message).toContain("Scarf has no company 'nope.example' for owner 'acme'");
    expect(err.message).toContain('company_domains');
  });

  it('does not cache a failed rollup read: the next window reads it again', async () => {
    const { sim, stream, ctx } = await setup({}, { streams: ['company_events'], company_domains: 'all' });
    sim.queueFaults([{ kind: 'status', status: 404, body: '{"message":"x","code":"not-found"}' }]);
    await failure(
      objects(stream('company_events').read(window('2026-11-08', '2026-11-09'), ctx)),
      SourceError,
    );
    const rows = await objects(stream('company_events').read(window('2026-11-08', '2026-11-09'), ctx));
    expect(rows.length).toBeGreaterThan(0);
    expect(sim.requests.filter((r) => r.path.endsWith('/company-rollup'))).toHaveLength(2);
  });

  it('simulator: company events are exactly the day events of that origin_domain', async () => {
    const { sim } = await setup();
    const all = [...sim.rows('2026-11-08', '2026-11-08')].slice(1);
    for (const [, domain] of SIM_COMPANIES.slice(0, 4)) {
      const mine = [...sim.companyEvents(domain, '2026-11-08', '2026-11-08')].slice(1);
      expect(mine).toEqual(all.filter((r) => r[18] === domain));
    }
  });
});
