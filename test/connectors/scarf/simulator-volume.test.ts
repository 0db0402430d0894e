import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../../connectors/scarf/simulator.js';
import { TOKEN } from './helpers.js';

let sim: ScarfSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Raw node:http GET (no fetch buffering); `onChunk` may pause the response. */
function get(url: string, onResponse: (res: import('node:http').IncomingMessage) => void): void {
  request(url, { headers: { authorization: `Bearer ${TOKEN}` } }, onResponse).end();
}

describe('scarf simulator: volume', () => {
  it('streams 1,000,000 rows without holding the body in memory', async () => {
    // 10 days x 100,000 events: ~300 MB of CSV. A simulator that built the body would need at
    // least that much heap; one that streams stays near its baseline.
    sim = await startScarfSimulator({ now: new Date('2026-11-20T00:00:00Z'), eventsPerDay: 100_000 });
    const url = `${sim.url}/v2/packages/acme/events?start_date=2026-11-01&end_date=2026-11-10`;
    const baseline = process.memoryUsage();
    let peakHeap = baseline.heapUsed;
    let peakRss = baseline.rss;
    let bytes = 0;
    let newlines = 0;
    await new Promise<void>((resolve, reject) => {
      get(url, (res) => {
        expect(res.statusCode).toBe(200);
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
          if (newlines % 64 === 0) {
            const m = process.memoryUsage();
            peakHeap = Math.max(peakHeap, m.heapUsed);
            peakRss = Math.max(peakRss, m.rss);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
    });
    expect(newlines).toBe(1_000_001); // header + rows (no field of the generated data holds a newline)
    expect(sim.requests[0]).toMatchObject({ rows: 1_000_000, completed: true });
    expect(bytes).toBeGreaterThan(200 * 1024 * 1024);
    // Generous bounds: garbage from row generation comes and goes, the body never accumulates.
    expect(peakHeap - baseline.heapUsed).toBeLessThan(96 * 1024 * 1024);
    expect(peakRss - baseline.rss).toBeLessThan(160 * 1024 * 1024);
  }, 300_000);

  it('stops generating rows while the client does not read (backpressure)', async () => {
    sim = await startScarfSimulator({
      now: new Date('2026-11-20T00:00:00Z'),
      eventsPerDay: 1_000_000,
      chunkRows: 100,
    });
    const url = `${sim.url}/v2/packages/acme/events?start_date=2026-11-01&end_date=2026-11-01`;
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => get(url, resolve));
    res.pause();
    await new Promise((r) => setTimeout(r, 500));
    const written = sim.requests[0]?.rows ?? 0;
    // Only what fits in the socket buffers: a few MB at most, far from the 1,000,000 rows.
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(50_000);
    res.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const after = sim.requests[0]?.rows ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.requests[0]?.rows).toBe(after); // the client left: generation stopped
    expect(sim.requests[0]?.completed).toBe(false);
  });
});
