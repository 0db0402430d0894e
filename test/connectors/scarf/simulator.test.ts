import { afterEach, describe, expect, it } from 'vitest';
import { SCARF_EVENT_FIELDS } from '../../../connectors/scarf/dictionary.js';
import {
  faults,
  startScarfSimulator,
  type ScarfSimulator,
  type ScarfSimulatorOptions,
} from '../../../connectors/scarf/simulator.js';
import { getEvents, parseCsv } from './helpers.js';

const NOW = new Date('2026-11-05T12:00:00.000Z');
let sim: ScarfSimulator | undefined;

async function start(options: ScarfSimulatorOptions = {}): Promise<ScarfSimulator> {
  sim = await startScarfSimulator({ now: NOW, eventsPerDay: 20, ...options });
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function csv(s: ScarfSimulator, from: string, to: string) {
  const res = await getEvents(s, from, to);
  expect(res.status).toBe(200);
  return parseCsv(await res.text());
}

describe('scarf simulator: data', () => {
  it('serves the same bytes for the same seed and different bytes for another seed', async () => {
    const a = await start({ seed: 'one' });
    const first = await (await getEvents(a, '2026-11-01', '2026-11-03')).text();
    const again = await (await getEvents(a, '2026-11-01', '2026-11-03')).text();
    await a.close();
    const b = await start({ seed: 'one' });
    const restarted = await (await getEvents(b, '2026-11-01', '2026-11-03')).text();
    await b.close();
    const c = await start({ seed: 'two' });
    const other = await (await getEvents(c, '2026-11-01', '2026-11-03')).text();
    expect(again).toBe(first);
    expect(restarted).toBe(first);
    expect(other).not.toBe(first);
  });

  it('answers a text/csv attachment whose header is the 24 documented columns in order', async () => {
    const s = await start();
    const res = await getEvents(s, '2026-11-01', '2026-11-01');
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="acme-events-2026-11-01-2026-11-01.csv"',
    );
    const { header, records } = parseCsv(await res.text());
    expect(header).toEqual([...SCARF_EVENT_FIELDS]);
    expect(header).toHaveLength(24);
    expect(records).toHaveLength(20);
  });

  it('includes both end days: a 3-day request returns the events of exactly those 3 UTC days', async () => {
    const s = await start({ eventsPerDay: (day) => Number(day.slice(8)) * 10 });
    const { records } = await csv(s, '2026-11-01', '2026-11-03');
    const days = records.map((r) => (r[5] as string).slice(0, 10));
    expect(days.filter((d) => d === '2026-11-01')).toHaveLength(10);
    expect(days.filter((d) => d === '2026-11-02')).toHaveLength(20);
    expect(days.filter((d) => d === '2026-11-03')).toHaveLength(30);
    expect(records).toHaveLength(60);
  });

  it('gives every event a unique id, a time inside its day and plausible typed values', async () => {
    const s = await start({ eventsPerDay: 2000 });
    const { records } = await csv(s, '2026-11-01', '2026-11-02');
    expect(new Set(records.map((r) => r[0])).size).toBe(records.length);
    const bad = records.filter(
      (r) =>
        r.length !== 24 ||
        !/^2026-11-0[12]T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(r[5] as string) ||
        [11, 12, 20].some((i) => !/^$|^-?\d+\.\d+$/.test(r[i] as string)) || // latitude, longitude, confidence
        [19, 23].some((i) => r[i] !== 'true' && r[i] !== 'false'), // dnt, mtc_quota_exceeded
    );
    expect(bad).toEqual([]);
    const text = records.flat();
    expect(text.some((v) => v.includes(',') && v.includes('"'))).toBe(true); // quotes and commas survive CSV
    expect(text).toContain('München');
    expect(text).toContain('東京');
    expect(records.some((r) => r[14] === '')).toBe(true); // unknown city: empty field
    expect(records.some((r) => r[19] === 'true')).toBe(true);
  });

  it('has no events after "now": later days are empty and today stops at now', async () => {
    const s = await start({ eventsPerDay: 24 });
    const { records } = await csv(s, '2026-11-05', '2026-11-07');
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(24);
    for (const r of records) expect((r[5] as string) <= NOW.toISOString()).toBe(true);
    s.setNow(new Date('2026-11-06T00:00:00.000Z'));
    expect((await csv(s, '2026-11-05', '2026-11-05')).records).toHaveLength(24);
  });

  it('with `today`, serves the whole of that day and nothing after it', async () => {
    const s = await startScarfSimulator({ today: new Date('2026-11-05T00:00:00Z'), eventsPerDay: 24 });
    sim = s;
    expect((await csv(s, '2026-11-05', '2026-11-06')).records).toHaveLength(24);
  });

  it('repeats events within a response at duplicateRate, identically', async () => {
    const s = await start({ eventsPerDay: 1000, duplicateRate: 0.1 });
    const { records } = await csv(s, '2026-11-01', '2026-11-01');
    const byId = new Map<string, string[][]>();
    for (const r of records) byId.set(r[0] as string, [...(byId.get(r[0] as string) ?? []), r]);
    expect(byId.size).toBe(1000);
    const repeated = [...byId.values()].filter((v) => v.length > 1);
    expect(repeated.length).toBeGreaterThan(50);
    expect(repeated.length).toBeLessThan(150);
    for (const copies of repeated) expect(copies[1]).toEqual(copies[0]);
  });

  it("repeats the previous day's last events at the start of a day (crossDayDuplicates)", async () => {
    const s = await start({ crossDayDuplicates: 3 });
    const day1 = (await csv(s, '2026-11-01', '2026-11-01')).records;
    const day2 = (await csv(s, '2026-11-02', '2026-11-02')).records;
    expect(day2.slice(0, 3)).toEqual(day1.slice(-3));
    expect(day2).toHaveLength(23);
  });

  it('adds late events of a day only once "now" is two days past its start', async () => {
    const s = await start({ lateEvents: 5 });
    s.setNow(new Date('2026-11-02T23:59:59.000Z'));
    expect((await csv(s, '2026-11-01', '2026-11-01')).records).toHaveLength(20);
    s.setNow(new Date('2026-11-03T00:00:00.000Z'));
    const later = (await csv(s, '2026-11-01', '2026-11-01')).records;
    expect(later).toHaveLength(25);
    for (const r of later.slice(20)) expect((r[5] as string).slice(0, 10)).toBe('2026-11-01');
  });

  it('adds a new column from newColumnFrom on, empty on the days before it', async () => {
    const s = await start({ newColumnFrom: '2026-11-02' });
    const before = await csv(s, '2026-11-01', '2026-11-01');
    expect(before.header).toHaveLength(24);
    const spanning = await csv(s, '2026-11-01', '2026-11-02');
    expect(spanning.header.at(-1)).toBe('origin_asn');
    const old = spanning.records.filter((r) => (r[5] as string).startsWith('2026-11-01'));
    const fresh = spanning.records.filter((r) => (r[5] as string).startsWith('2026-11-02'));
    expect(old.every((r) => r.length === 25 && r[24] === '')).toBe(true);
    expect(fresh.some((r) => /^AS\d+$/.test(r[24] as string))).toBe(true);
  });
});

describe('scarf simulator: errors', () => {
  it('answers 401 {message, code} without a token or with a wrong one', async () => {
    const s = await start();
    for (const token of [null, 'wrong']) {
      const res = await getEvents(s, '2026-11-01', '2026-11-01', { token });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { message: string; code: string };
      expect(body.message).toMatch(/token/i);
      expect(body.code).toBe('unauthorized');
    }
  });

  it('answers 403 not-a-pro-member for an ineligible owner and 404 not-found for an unknown one', async () => {
    const s = await start({ ineligibleOwners: ['free'] });
    const forbidden = await getEvents(s, '2026-11-01', '2026-11-01', { owner: 'free' });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { code: string }).code).toBe('not-a-pro-member');
    const missing = await getEvents(s, '2026-11-01', '2026-11-01', { owner: 'nobody' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('not-found');
  });

  it('answers 400 range-too-long past maxRangeDays, counting both end days', async () => {
    const s = await start({ maxRangeDays: 3 });
    expect((await getEvents(s, '2026-11-01', '2026-11-03')).status).toBe(200);
    const res = await getEvents(s, '2026-11-01', '2026-11-04');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'range-too-long' });
  });

  it('answers 400 for malformed, impossible or reversed dates', async () => {
    const s = await start();
    for (const [from, to] of [
      ['2026-11-1', '2026-11-02'],
      ['2026-02-30', '2026-03-01'],
      ['2026-11-02', ''],
      ['2026-11-03', '2026-11-02'],
    ] as const) {
      expect((await getEvents(s, from, to)).status).toBe(400);
    }
  });

  it('logs every request with path, query and status', async () => {
    const s = await start();
    await (await getEvents(s, '2026-11-01', '2026-11-02')).text();
    await (await getEvents(s, '2026-11-01', '2026-11-01', { token: 'bad' })).text();
    expect(s.requests.map((r) => [r.path, r.query, r.status, r.completed])).toEqual([
      ['/v2/packages/acme/events', { start_date: '2026-11-01', end_date: '2026-11-02' }, 200, true],
      ['/v2/packages/acme/events', { start_date: '2026-11-01', end_date: '2026-11-01' }, 401, true],
    ]);
    expect(s.requests[0]?.rows).toBe(40);
  });
});

describe('scarf simulator: faults', () => {
  it('fires queued faults in order on the next requests, then answers normally', async () => {
    const s = await start();
    s.queueFaults([
      faults.tooManyRequests('7'),
      faults.tooManyRequests(),
      faults.serverError(500),
      null,
      faults.serverError(502),
    ]);
    const r1 = await getEvents(s, '2026-11-01', '2026-11-01');
    expect([r1.status, r1.headers.get('retry-after')]).toEqual([429, '7']);
    const r2 = await getEvents(s, '2026-11-01', '2026-11-01');
    expect([r2.status, r2.headers.get('retry-after')]).toEqual([429, null]);
    expect((await getEvents(s, '2026-11-01', '2026-11-01')).status).toBe(500);
    expect((await getEvents(s, '2026-11-01', '2026-11-01')).status).toBe(200);
    expect((await getEvents(s, '2026-11-01', '2026-11-01')).status).toBe(502);
    expect((await getEvents(s, '2026-11-01', '2026-11-01')).status).toBe(200);
    expect(s.requests.map((r) => r.fault)).toEqual([
      'status 429 retry-after 7',
      'status 429',
      'status 500',
      undefined,
      'status 502',
      undefined,
    ]);
  });

  it('resets the connection before any header', async () => {
    const s = await start();
    s.queueFaults([faults.reset()]);
    await expect(getEvents(s, '2026-11-01', '2026-11-01')).rejects.toThrow(/fetch failed/);
    expect(s.requests[0]).toMatchObject({ status: 0, fault: 'reset', completed: false });
  });

  it('truncates the body after the given rows: the client sees the rows, then an error', async () => {
    const s = await start({ eventsPerDay: 5000, chunkRows: 100 });
    s.queueFaults([faults.truncate(250)]);
    const res = await getEvents(s, '2026-11-01', '2026-11-01');
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        text += Buffer.from(value).toString('utf8');
      }
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(text.split('\n').length - 2).toBe(250); // header + 250 rows, each ending in \n
    expect(s.requests[0]).toMatchObject({ status: 200, rows: 250, completed: false });
  });

  it('delays the headers of a slow response', async () => {
    const s = await start();
    s.queueFaults([faults.slow(300)]);
    const t0 = Date.now();
    const res = await getEvents(s, '2026-11-01', '2026-11-01');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(parseCsv(await res.text()).records).toHaveLength(20);
  });

  it('pauses mid-body on a stall, then finishes the body', async () => {
    const s = await start({ eventsPerDay: 50, chunkRows: 10 });
    s.queueFaults([faults.stall(20, 300)]);
    const t0 = Date.now();
    const res = await getEvents(s, '2026-11-01', '2026-11-01');
    expect(Date.now() - t0).toBeLessThan(280);
    expect(parseCsv(await res.text()).records).toHaveLength(50);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it('fails every n-th request with failEvery, cycling through faultKinds', async () => {
    const s = await start({
      failEvery: 2,
      faultKinds: [faults.serverError(503), faults.tooManyRequests('1')],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await getEvents(s, '2026-11-01', '2026-11-01')).status);
    expect(statuses).toEqual([200, 503, 200, 429, 200, 503]);
  });

  it('draws faults at faultRate from a seeded RNG: the same seed fails the same requests', async () => {
    const run = async (faultSeed: string): Promise<number[]> => {
      const s = await start({ faultRate: 0.5, faultSeed, faultKinds: [faults.serverError(500)] });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await getEvents(s, '2026-11-01', '2026-11-01')).status);
      await s.close();
      sim = undefined;
      return statuses;
    };
    const a = await run('x');
    expect(await run('x')).toEqual(a);
    expect(a.filter((st) => st === 500).length).toBeGreaterThan(5);
    expect(a.filter((st) => st === 200).length).toBeGreaterThan(5);
    expect(await run('y')).not.toEqual(a);
  });

  it('setFaults changes data faults for later requests', async () => {
    const s = await start();
    expect((await csv(s, '2026-11-01', '2026-11-01')).records).toHaveLength(20);
    s.setFaults({ crossDayDuplicates: 2, eventsPerDay: 10 });
    expect((await csv(s, '2026-11-01', '2026-11-01')).records).toHaveLength(12);
  });
});
