/**
 * What DuckDB's `settle` (src/destinations/duckdb/duckdb-bulk.ts) costs on a large bulk first load:
 * `npx tsx bench/duckdb-settle-probe.ts [--rows 5000000] [--repeats 0.01] [--keep]`.
 *
 * Creates a Scarf-shaped table (uuid-like text key, timestamp cursor, 24 text columns, the audit
 * columns) through the real destination (the creating commit records the bulk load), appends
 * `rows` rows by SQL in 10 transactions with a share `repeats` of keys repeated from earlier rows
 * (another cursor), checkpoints, then reopens the file (a fresh process state, as the engine's
 * settle after a run) and times `settle`: wall, process CPU (user + system) and peak RSS (sampled
 * every 20 ms), and the rows removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TableSchema } from '../src/core/contracts.js';
import { AUDIT_COLUMNS } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { acquireDatabase, releaseDatabase } from '../src/destinations/duckdb/duckdb-database.js';
import { createDuckDbDestination } from '../src/destinations/duckdb/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    repeats: { type: 'string', default: '0.01' },
    keep: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const repeats = Number(values.repeats);
const dir = mkdtempSync(join(tmpdir(), 'exportsync-settle-probe-'));
const path = join(dir, 'settle.duckdb');
const names = ['id', 'time', ...Array.from({ length: 24 }, (_, i) => `c${i}`)];
const schema: TableSchema = {
  table: 'events',
  columns: [
    ...names.map((name) => ({
      name,
      source: name,
      type: name === 'time' ? ('timestamp' as const) : ('string' as const),
      origin: 'dictionary' as const,
    })),
    { name: AUDIT_COLUMNS.loadedAt, source: AUDIT_COLUMNS.loadedAt, type: 'timestamp', origin: 'audit' },
    { name: AUDIT_COLUMNS.runId, source: AUDIT_COLUMNS.runId, type: 'string', origin: 'audit' },
  ],
  primaryKey: ['id'],
  cursorColumn: 'time',
};

async function fill(): Promise<void> {
  const d = createDuckDbDestination({ path, schema: 'main', log: silentLogger, bulkFirstLoadMinRows: 1 });
  await d.open();
  const l = await d.beginLoad({ streamKey: 'probe.events', schema, runId: 'r0' });
  await l.write([['seed', '2024-01-01T00:00:00Z', ...Array.from({ length: 24 }, () => 'v')]], schema);
  await l.commit({ schema, mode: 'merge', window: { from: new Date(0), to: new Date('2024-02-01') } });
  await d.close();
  const db = await acquireDatabase(path, silentLogger);
  const c = await db.instance.connect();
  try {
    const per = Math.ceil(rows / 10);
    const cols = Array.from({ length: 24 }, (_, i) => `'value-${i}-' || (i % 1000)`).join(', ');
    for (let w = 0; w < 10; w++) {
      const from = w * per;
      const to = Math.min(rows, from + per);
      // a share `repeats` of each later window's rows repeats a key of the first window, days later
      const key = `CASE WHEN w > 0 AND i % ${Math.max(1, Math.round(1 / Math.max(repeats, 1e-9)))} = 0 AND ${repeats} > 0 THEN md5(CAST(i % ${per} AS VARCHAR)) ELSE md5(CAST(i AS VARCHAR)) END`;
      await c.run(
        `INSERT INTO main.events SELECT ${key}, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_days(CAST(w AS INTEGER)) + to_seconds(i % 86400), ${cols}, now(), 'r${w}'
         FROM (SELECT i, ${w} AS w FROM range(${from}, ${to}) r(i))`,
      );
    }
    await c.run('CHECKPOINT');
  } finally {
    c.closeSync();
    await releaseDatabase(db, silentLogger);
  }
}

async function settle(): Promise<void> {
  const d = createDuckDbDestination({ path, schema: 'main', log: silentLogger });
  await d.open();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rss0 = process.memoryUsage().rss;
  const r = await d.settle!('events');
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  await d.close();
  const mb = (b: number) => Math.round(b / 2 ** 20);
  console.log(
    `rows ${rows + 1} · repeats ${repeats} · settle ${wall.toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU · rss before ${mb(rss0)} MB, peak ${mb(peak)} MB · ${JSON.stringify(r)} · load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

try {
  await fill();
  await settle();
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
