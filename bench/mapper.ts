/**
 * Micro-benchmark of RowMapper.map on 1,000,000 Scarf-shaped records (24 string fields, as the
 * CSV reader hands them over): `npx tsx bench/mapper.ts [records] [batchSize]`.
 * Only map() is timed, over a pool of pre-generated batches.
 */
import type { StreamDefinition } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { RowMapper } from '../src/schema/mapper.js';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.argv[3] ?? 10_000);

const FIELDS = [
  'id',
  'type',
  'package',
  'pixel',
  'version',
  'time',
  'referer',
  'user_agent',
  'platform',
  'variables',
  'origin_id',
  'origin_latitude',
  'origin_longitude',
  'origin_country',
  'origin_city',
  'origin_postal',
  'origin_connection_type',
  'origin_company',
  'origin_domain',
  'dnt',
  'confidence',
  'endpoint_id',
  'origin_state',
  'mtc_quota_exceeded',
];
const TYPES: Record<string, 'timestamp' | 'decimal' | 'boolean'> = {
  time: 'timestamp',
  origin_latitude: 'decimal',
  origin_longitude: 'decimal',
  confidence: 'decimal',
  dnt: 'boolean',
  mtc_quota_exceeded: 'boolean',
};

const stream: StreamDefinition = {
  name: 'events',
  primaryKey: ['id'],
  cursorField: 'time',
  windowDays: 1,
  writeMode: 'merge',
  columns: FIELDS.map((name) => ({ name, type: TYPES[name] ?? 'string' })),
  dynamicColumns: true,
  async *read() {},
  describe: () => 'bench',
};

const pick = <T>(xs: T[], i: number): T => xs[i % xs.length] as T;
const COUNTRIES = ['US', 'DE', 'FR', 'IN', 'BR', ''];
const CITIES = ['San Francisco', 'Berlin', 'Paris', 'Bengaluru', 'São Paulo', ''];
const AGENTS = ['Docker-Client/24.0.7 (linux)', 'npm/10.2.4 node/v20.10.0 linux x64', 'pip/23.3.1'];
const COMPANIES = ['Acme Corp', 'Globex', '', 'Initech'];

function record(n: number): string[] {
  const sec = n % 86_400;
  const time = `2025-10-01T${String(Math.floor(sec / 3600)).padStart(2, '0')}:${String(Math.floor(sec / 60) % 60).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}Z`;
  return [
    `e${n.toString(16).padStart(12, '0')}-4c1d-9a7e-${(n * 7919).toString(16)}`,
    pick(['DockerPull', 'PixelView', 'PackageDownload'], n),
    'a3f1c2d4-5b6e-7f80-91a2-b3c4d5e6f708',
    n % 3 === 0 ? 'b4e2d3c5-6c7f-8091-a2b3-c4d5e6f70819' : '',
    pick(['1.0.0', '1.2.3', '2.0.0-beta.1'], n),
    time,
    n % 5 === 0 ? 'https://example.com/docs/install' : '',
    pick(AGENTS, n),
    pick(['linux/amd64', 'darwin/arm64', 'windows/amd64'], n),
    n % 7 === 0 ? '{"utm_source":"newsletter"}' : '',
    `o${(n % 50_000).toString(36)}`,
    `${37 + (n % 100) / 1000}`,
    `-${122 + (n % 1000) / 10000}`,
    pick(COUNTRIES, n),
    pick(CITIES, n),
    String(10_000 + (n % 89_999)).padStart(5, '0'),
    pick(['isp', 'business', 'hosting'], n),
    pick(COMPANIES, n),
    n % 4 === 2 ? '' : 'acme.example',
    n % 11 === 0 ? 'true' : 'false',
    `0.${String(n % 100).padStart(2, '0')}`,
    `ep${n % 97}`,
    pick(['CA', 'BE', '', 'KA'], n),
    n % 13 === 0 ? 'true' : 'false',
  ];
}

const mapper = new RowMapper({
  table: 'scarf_events',
  stream,
  persisted: [],
  capabilities: { name: 'bench', maxIdentifierLength: 63, maxColumns: 1600, transactionalDdl: true },
  columnBudget: 500,
  runId: 'bench-run',
  loadedAt: new Date().toISOString(),
  log: silentLogger,
});

/**
 * A pool of pre-generated batches, cycled: generation garbage must not be collected inside the
 * timed region. Each map() still canonicalizes every value (the mapper caches no values).
 */
const POOL_BATCHES = Math.max(1, Math.min(2, Math.ceil(TOTAL / BATCH)));
const pool: string[][][] = [];
for (let b = 0; b < POOL_BATCHES; b++) {
  const records: string[][] = [];
  for (let n = b * BATCH; n < (b + 1) * BATCH; n++) records.push(record(n));
  pool.push(records);
}

function run(total: number): { ns: bigint; cpuUs: number; rows: number; check: number } {
  let ns = 0n;
  let cpuUs = 0;
  let rows = 0;
  let check = 0;
  for (let b = 0; rows < total; b++) {
    const records = pool[b % POOL_BATCHES] as string[][];
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = mapper.map({ fields: FIELDS, records });
    ns += process.hrtime.bigint() - t0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    rows += out.length;
    check += (out[out.length - 1]?.[5] as string).length; // keep the result alive
  }
  return { ns, cpuUs, rows, check };
}

run(Math.min(TOTAL, 100_000)); // warm-up (JIT)
const { ns, cpuUs, rows, check } = run(TOTAL);
const seconds = Number(ns) / 1e9;
// CPU time of the process during map() (main thread plus GC helpers): steadier than wall time
// on a shared machine.
const cpuSeconds = cpuUs / 1e6;
console.log(
  JSON.stringify({
    rows,
    batch: BATCH,
    seconds: Number(seconds.toFixed(3)),
    rowsPerSecond: Math.round(rows / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(3)),
    rowsPerCpuSecond: Math.round(rows / cpuSeconds),
    columns: mapper.schema.columns.length,
    check,
  }),
);
