/**
 * The alternatives the docs leave open are read the same way: a JSON array or an object wrapping
 * it, camelCase or snake_case keys, CSV columns in any order, unknown columns kept, dates with or
 * without time and zone. Each case reads the same data both ways through the real connector (and
 * the engine's tolerance) and compares what the mapper would receive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicatedSimulator, type ReplicatedSimulator } from '../../connectors/replicated/simulator.js';
import { createReplicatedSource, replicatedSourceSchema } from '../../connectors/replicated/index.js';
import {
  PUBLISHER_TOKEN,
  startMarketplaceSimulator,
  type MarketplaceSimulator,
} from '../../connectors/marketplace/simulator.js';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { Tolerance } from '../../src/contract/tolerance.js';
import type { RecordBatch, StreamDefinition, Window } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { addDays, startOfUtcDay } from '../../src/core/time.js';
import { createHttpClient } from '../../src/http/client.js';
import { readCsv, readJsonArray } from '../../src/http/csv.js';
import { createSource } from '../../src/engine/sources.js';
import { canonicalize } from '../../src/schema/types.js';
import { configWith, scarfLines, tempDir } from './helpers.js';

const dir = tempDir();
const ctx = () => ({
  http: createHttpClient({
    log: silentLogger,
    retryAttempts: 2,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    requestTimeoutMs: 5000,
    maxRequests: 100,
  }),
  log: silentLogger,
  signal: new AbortController().signal,
  batchRows: 10_000,
});
const today = startOfUtcDay(new Date());
const lastTwoDays: Window = { from: addDays(today, -3), to: addDays(today, -1) };

/** Records as field → value objects (order-free), in response order. */
async function objects(stream: StreamDefinition, window: Window): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const b of stream.read(window, ctx())) {
    for (const r of b.records) out.push(Object.fromEntries(b.fields.map((f, i) => [f, r[i] ?? null])));
  }
  return out;
}

const body = (text: string): AsyncIterable<Uint8Array> =>
  (async function* () {
    yield Buffer.from(text);
  })();
async function all(it: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

let replicated: ReplicatedSimulator;
let marketplace: MarketplaceSimulator;
let scarf: ScarfSimulator;
beforeAll(async () => {
  [replicated, marketplace, scarf] = await Promise.all([
    startReplicatedSimulator(),
    startMarketplaceSimulator(),
    startScarfSimulator(),
  ]);
});
afterAll(async () => {
  await Promise.all([replicated.close(), marketplace.close(), scarf.close()]);
});

function replicatedEvents(): StreamDefinition {
  const source = createReplicatedSource(
    replicatedSourceSchema.parse({
      type: 'replicated',
      app_id: 'app-acme',
      token: 'replicated-test-token',
      base_url: replicated.url,
    }),
  );
  return source.streams.find((s) => s.name === 'instance_events')!;
}

describe('JSON: an array or an object wrapping it', () => {
  it('reads the same records from a bare array and from {"events": [...]} (Replicated)', async () => {
    replicated.set({ wrapJson: false });
    const bare = await objects(replicatedEvents(), lastTwoDays);
    replicated.set({ wrapJson: true });
    const wrapped = await objects(replicatedEvents(), lastTwoDays);
    replicated.set({ wrapJson: false });
    expect(bare.length).toBeGreaterThan(0);
    expect(wrapped).toEqual(bare);
  });

  it('reads the same records from {"dataset":…,"periods":[...]} and a bare array (marketplace)', async () => {
    const config = configWith(dir, [
      'type: marketplace',
      `token: ${PUBLISHER_TOKEN}`,
      `base_url: ${marketplace.url}`,
      'format: json',
    ]);
    const stream = () =>
      createSource(config.sources[0]!, 0).streams.find((s) => s.name === 'install_events')!;
    const wrapped = await objects(stream(), lastTwoDays);
    marketplace.set({ bareJson: true });
    const bare = await objects(stream(), lastTwoDays);
    marketplace.set({ bareJson: false });
    expect(wrapped.length).toBeGreaterThan(0);
    expect(bare).toEqual(wrapped);
  });

  it('src/http/json.ts: members before and after the array, nested arrays inside them, are ignored', async () => {
    const records = '[{"id":"a","n":1},{"id":"b","n":2}]';
    const wrapped = `{"meta":{"tags":["x","y"]},"count":2,"events":${records},"next":null}`;
    const a = await all(readJsonArray(body(records), { batchRows: 10 }));
    const b = await all(readJsonArray(body(wrapped), { batchRows: 10 }));
    expect(b.map((x) => x.records)).toEqual(a.map((x) => x.records));
  });
});

describe('keys in camelCase or snake_case', () => {
  it('Replicated events with snake_case JSON keys read exactly like camelCase ones', async () => {
    replicated.set({ eventKeys: 'camel' });
    const camel = await objects(replicatedEvents(), lastTwoDays);
    replicated.set({ eventKeys: 'snake' });
    const snake = await objects(replicatedEvents(), lastTwoDays);
    replicated.set({ eventKeys: 'camel' });
    expect(camel.length).toBeGreaterThan(0);
    expect(snake).toEqual(camel);
  });

  it('a field differing from the dictionary only by case or separators is read under the dictionary name', () => {
    const tolerance = new Tolerance({
      name: 'events',
      columns: [
        { name: 'user_agent', type: 'string' },
        { name: 'origin_id', type: 'string' },
        { name: 'time', type: 'timestamp' },
      ],
    });
    const fields = ['userAgent', 'Origin-ID', 'time', 'brand_new'];
    const first = tolerance.apply({ fields, records: [['ua', 'o', '2025-10-01T00:00:00Z', 'x']] });
    expect(first.fields).toEqual(['user_agent', 'origin_id', 'time', 'brand_new']);
    // the same input array gives the same output array (the mapper caches its plan by identity)
    expect(tolerance.apply({ fields, records: [] }).fields).toBe(first.fields);
    // a batch that needs nothing is passed through as it is
    const exact: RecordBatch = { fields: ['user_agent', 'time'], records: [['ua', 't']] };
    expect(tolerance.apply(exact)).toBe(exact);
    // both spellings present: nothing is renamed onto the real one
    expect(tolerance.apply({ fields: ['user_agent', 'userAgent'], records: [] }).fields).toEqual([
      'user_agent',
      'userAgent',
    ]);
  });
});

describe('CSV columns in any order, unknown columns kept', () => {
  it('Scarf events with reversed columns and an unknown column read the same values by name', async () => {
    const config = configWith(dir, scarfLines(scarf.url));
    const stream = () => createSource(config.sources[0]!, 0).streams.find((s) => s.name === 'events')!;
    const plain = await objects(stream(), lastTwoDays);
    scarf.setVariant({ reverseColumns: true });
    scarf.setFaults({ newColumnFrom: '2000-01-01', newColumnName: 'origin_asn' });
    try {
      const shuffled = await objects(stream(), lastTwoDays);
      expect(shuffled.length).toBe(plain.length);
      expect(shuffled.map(({ origin_asn: _asn, ...rest }) => rest)).toEqual(plain);
      expect(shuffled.some((r) => typeof r.origin_asn === 'string')).toBe(true);
    } finally {
      scarf.setVariant({});
      scarf.setFaults({ newColumnFrom: undefined });
    }
  });

  it('src/http/csv.ts maps by header name whatever the order', async () => {
    const [a] = await all(readCsv(body('id,time,extra\n1,2025-10-01,x\n'), { batchRows: 10 }));
    const [b] = await all(readCsv(body('extra,time,id\nx,2025-10-01,1\n'), { batchRows: 10 }));
    const byName = (batch: RecordBatch) =>
      Object.fromEntries(batch.fields.map((f, i) => [f, batch.records[0]![i]]));
    expect(byName(b!)).toEqual(byName(a!));
  });
});

describe('dates with or without time and zone', () => {
  it('a timestamp column takes a date, a time without zone (UTC), a zone offset and " UTC"', () => {
    const instant = '2025-10-01T10:00:00.000000Z';
    for (const text of [
      '2025-10-01T10:00:00Z',
      '2025-10-01 10:00:00',
      '2025-10-01T12:00:00+02:00',
      '2025-10-01 10:00:00 UTC',
      '2025-10-01T10:00:00.000+0000',
    ]) {
      expect(canonicalize('timestamp', text), text).toBe(instant);
    }
    expect(canonicalize('timestamp', '2025-10-01')).toBe('2025-10-01T00:00:00.000000Z');
  });

  it('a date column takes a midnight timestamp as its date (marketplace dates sent with a time)', async () => {
    const config = configWith(dir, [
      'type: marketplace',
      `token: ${PUBLISHER_TOKEN}`,
      `base_url: ${marketplace.url}`,
    ]);
    const stream = () => createSource(config.sources[0]!, 0).streams.find((s) => s.name === 'review_data')!;
    const plain = await objects(stream(), lastTwoDays);
    marketplace.set({ dateSuffix: 'T00:00:00Z' });
    try {
      expect(await objects(stream(), lastTwoDays)).toEqual(plain);
      marketplace.set({ dateSuffix: ' 00:00:00+02:00' });
      expect(await objects(stream(), lastTwoDays)).toEqual(plain);
    } finally {
      marketplace.set({ dateSuffix: '' });
    }
    const tolerance = new Tolerance({ name: 'x', columns: [{ name: 'day', type: 'date' }] });
    const b = tolerance.apply({
      fields: ['day'],
      records: [['2025-10-01T10:00:00Z'], ['2025-10-01T00:00:00.000Z']],
    });
    // a time of day is never truncated away: it stays as sent (and goes to _extra, or fails a cursor)
    expect(b.records).toEqual([['2025-10-01T10:00:00Z'], ['2025-10-01']]);
  });
});
