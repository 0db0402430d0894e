import { afterEach, describe, expect, it } from 'vitest';
import {
  startReplicatedSimulator,
  type ReplicatedSimulator,
  type ReplicatedSimulatorOptions,
} from '../../../connectors/replicated/simulator.js';
import { APP, TOKEN, context, sourceFor, window } from './helpers.js';

const NOW = new Date('2026-01-20T12:00:00.000Z');
let sim: ReplicatedSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
async function start(options: ReplicatedSimulatorOptions = {}) {
  sim = await startReplicatedSimulator({ now: NOW, ...options });
  return sim;
}
const get = (
  s: ReplicatedSimulator,
  path: string,
  headers: Record<string, string> = { Authorization: TOKEN },
) => fetch(`${s.url}/vendor/v3/app/${APP}${path}`, { headers });

describe('replicated simulator', () => {
  it('refuses-a-bearer-or-missing-token-with-401', async () => {
    const s = await start();
    expect((await get(s, '/events?after=2026-01-10', { Authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect((await get(s, '/events?after=2026-01-10', {})).status).toBe(401);
    expect((await get(s, '/events?after=2026-01-10')).status).toBe(200);
  });

  it('answers-an-unscoped-events-request-with-400', async () => {
    const s = await start();
    expect((await get(s, '/events')).status).toBe(400);
    expect((await get(s, '/events?format=csv')).status).toBe(400);
  });

  it('answers-unknown-customer-ids-with-200-and-an-empty-array-in-either-spelling', async () => {
    const s = await start();
    for (const p of ['customerIds', 'customerIDs']) {
      const r = await get(s, `/events?${p}=nobody`);
      expect(r.status).toBe(200);
      expect(JSON.parse(await r.text())).toEqual([]);
    }
  });

  it('serves-csv-on-format-csv-or-accept-text-csv', async () => {
    const s = await start();
    const a = await get(s, '/events?after=2026-01-10&before=2026-01-10&format=csv');
    const b = await get(s, '/events?after=2026-01-10&before=2026-01-10', {
      Authorization: TOKEN,
      Accept: 'text/csv',
    });
    expect(a.headers.get('content-type')).toMatch(/text\/csv/);
    const text = await a.text();
    expect(text.split('\n')[0]).toBe(
      'app_id,customer_id,instance_id,field_name,field_value,is_custom,created_at',
    );
    expect(await b.text()).toBe(text);
  });

  it('event-keys-are-unique-by-construction-and-days-are-deterministic', async () => {
    const s = await start();
    const events = s.events('2026-01-01', '2026-01-19');
    const keys = events.map((e) => `${e.instanceId}/${e.fieldName}/${e.createdAt}`);
    expect(new Set(keys).size).toBe(keys.length);
    const again = await startReplicatedSimulator({ now: NOW });
    expect(again.events('2026-01-01', '2026-01-19')).toEqual(events);
    await again.close();
    // an event's createdAt lies in the day it was served for
    expect(s.events('2026-01-10', '2026-01-10').every((e) => e.createdAt.startsWith('2026-01-10'))).toBe(
      true,
    );
  });

  it('a-vanished-instance-leaves-the-export-and-its-customer-stays', async () => {
    const s = await start();
    const rows = s.customerInstances();
    const victim = rows.find((r) => r.instance_id !== '')!;
    s.set({ hiddenInstances: [String(victim.instance_id)] });
    const after = s.customerInstances();
    expect(after.some((r) => r.instance_id === victim.instance_id)).toBe(false);
    expect(after.some((r) => r.customer_id === victim.customer_id)).toBe(true);
    expect(rows.some((r) => r.instance_id === '')).toBe(true);
  });

  it('streams-a-million-event-window-through-the-connector-in-bounded-memory', async () => {
    const s = await start({ hugeWindow: { day: '2026-01-15', events: 1_000_000 }, chunkRows: 1024 });
    const stream = sourceFor(s).streams[0]!;
    const ctx = context(10_000);
    global.gc?.();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let records = 0;
    for await (const batch of stream.read(window('2026-01-15', '2026-01-16'), ctx)) {
      records += batch.records.length;
      if (records % 100_000 < 10_000) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
    expect(records).toBe(1_000_000);
    // the body is ~190 MB of JSON; holding it (or its records) would need far more than this
    expect(peak).toBeLessThan(150 * 1024 * 1024);
    expect(s.requests[0]!.completed).toBe(true);
  }, 120_000);
});
