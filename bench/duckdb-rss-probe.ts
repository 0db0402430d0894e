/**
 * Where a DuckDB sync's memory goes, window by window, without HTTP or CSV parsing:
 * `npx tsx bench/duckdb-rss-probe.ts [rows] [windows]`. Loads `rows` Scarf-shaped rows (26 text
 * columns, uuid keys, ~300 bytes) through the real DuckDB destination (beginLoad → write batches of
 * 10k → commit, merge mode) in `windows` windows into a fresh file, and after each commit prints
 * the process RSS (peak sampled every 50 ms and now), the JS heap and DuckDB's own accounting
 * (`duckdb_memory()`, top tags). PROBE_SETTINGS="memory_limit='256MB'; threads=1" runs SETs first.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row, TableSchema } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { acquireDatabase } from '../src/destinations/duckdb/duckdb-database.js';
import { createDuckDbDestination } from '../src/destinations/duckdb/index.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const windows = Number(process.argv[3] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'exportsync-duckrss-'));
const path = join(dir, 'probe.duckdb');
const names = ['id', 'time', ...Array.from({ length: 24 }, (_, i) => `c${i}`)];
const schema: TableSchema = {
  table: 'events',
  columns: names.map((name) => ({
    name,
    source: name,
    type: name === 'time' ? 'timestamp' : 'string',
    origin: 'dictionary',
  })),
  primaryKey: ['id'],
  cursorColumn: 'time',
};
const mb = (n: number): string => (n / 1048576).toFixed(0);
const dest = createDuckDbDestination({ path, schema: 'main', log: silentLogger });
await dest.open();
const settings = process.env.PROBE_SETTINGS; // e.g. "memory_limit='256MB'; threads=1"
if (settings) {
  const c = await (await acquireDatabase(path, silentLogger)).instance.connect();
  for (const set of settings.split(';').filter((x) => x.trim())) await c.run(`SET ${set}`);
  c.closeSync();
}
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
const perWindow = rows / windows;
const day0 = Date.UTC(2025, 0, 1);
try {
  for (let w = 0; w < windows; w++) {
    const load = await dest.beginLoad({ streamKey: 'probe.events', schema, runId: 'probe' });
    for (let done = 0; done < perWindow; done += 10_000) {
      const batch: Row[] = [];
      for (let i = 0; i < 10_000; i++) {
        const t = new Date(day0 + w * 86_400_000 + i).toISOString().replace('Z', '000Z');
        batch.push([
          randomUUID(),
          t,
          ...names.slice(2).map((n, k) => (k < 8 ? randomUUID() : `${n}-value-${i % 97}`)),
        ]);
      }
      await load.write(batch, schema);
    }
    const window = { from: new Date(day0 + w * 86_400_000), to: new Date(day0 + (w + 1) * 86_400_000) };
    const staged = peak;
    peak = 0;
    await load.commit({ schema, mode: 'merge', window });
    const shared = await acquireDatabase(path, silentLogger);
    const c = await shared.instance.connect();
    const tags = (
      await c.runAndReadAll(
        'SELECT tag, memory_usage_bytes AS m FROM duckdb_memory() WHERE memory_usage_bytes > 0 ORDER BY m DESC LIMIT 4',
      )
    ).getRows();
    c.closeSync();
    const m = process.memoryUsage();
    process.stdout.write(
      `window ${w + 1}: peak rss staging ${mb(staged)} MB, commit ${mb(peak)} MB · heap total ${mb(m.heapTotal)} MB · rss ${mb(m.rss)} MB · external ${mb(m.external)} MB · heap ${mb(m.heapUsed)} MB · duckdb ${tags.map(([t, b]) => `${String(t)} ${mb(Number(b))}`).join(', ')}\n`,
    );
  }
} finally {
  clearInterval(sampler);
  await dest.close();
  rmSync(dir, { recursive: true, force: true });
}
