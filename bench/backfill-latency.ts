/**
 * Backfill benchmark (issue 10, item 5): 24 months of Scarf events loaded by
 * `exportsync backfill` against the Scarf simulator answering every request after a fixed
 * latency (its `slow` fault on every request: `faultRate: 1, faultKinds: [slow(ms)]`), with 1, 2
 * and 4 shard processes (`--shard i/n`, started together, as a Kubernetes Indexed Job would):
 * where the time goes (latency wait, stream = read+parse+stage, commit statements) and the
 * speed-up. `sync.concurrency` is not a knob here: it runs streams in parallel, and a backfill
 * shard loads the windows of its one stream strictly one after another (src/engine/backfill.ts).
 *
 *   npx tsx bench/backfill-latency.ts [--days 730] [--per-day 500] [--latency 200]
 *                                     [--shards 1,2,4] [--dest both]
 *
 * DuckDB admits one process per database file, so it is measured with one shard only.
 * Every shard runs with the timeline preload (incremental-trace.ts). Prints the tables and writes
 * bench/results/backfill-latency.md.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startScarfSimulator } from '../connectors/scarf/simulator.js';
import { addDays, isoDate, startOfUtcDay } from '../src/core/time.js';
import { startCli, writeResults, type CliResult } from './incremental-child.js';
import { countRows, destinationYaml, dropSchema, type Target } from './incremental-db.js';
import {
  addPhases,
  markdownTable,
  phaseTable,
  seconds,
  statementMs,
  type Phases,
} from './incremental-phases.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '730' },
    'per-day': { type: 'string', default: '500' },
    latency: { type: 'string', default: '200' },
    shards: { type: 'string', default: '1,2,4' },
    dest: { type: 'string', default: 'both' },
  },
});
const days = Number(values.days);
const perDay = Number(values['per-day']);
const latencyMs = Number(values.latency);
const shardCounts = values.shards.split(',').map(Number);
const dests =
  values.dest === 'both' ? (['postgres', 'duckdb'] as const) : [values.dest as 'postgres' | 'duckdb'];
const command = `npx tsx bench/backfill-latency.ts ${process.argv.slice(2).join(' ')}`.trim();
const OWNER = 'acme';
const TOKEN = 'bench-token';
const TABLE = 'scarf_events';

const today = startOfUtcDay(new Date());
const from = isoDate(addDays(today, -days));
const to = isoDate(today);
const sim = await startScarfSimulator({
  seed: 'bench-backfill',
  token: TOKEN,
  owners: [OWNER],
  today,
  eventsPerDay: perDay,
  faultRate: latencyMs > 0 ? 1 : 0,
  faultKinds: latencyMs > 0 ? [{ kind: 'slow', delayMs: latencyMs }] : [],
});

interface Measured {
  dest: string;
  shards: number;
  wallSeconds: number;
  results: CliResult[];
  total: Phases;
  rows: number;
}
const measured: Measured[] = [];

const configFor = (t: Target): string =>
  [
    destinationYaml(t),
    'sync: { max_requests_per_run: 5000 }',
    'sources:',
    `  - { type: scarf, owner: ${OWNER}, token: ${TOKEN}, base_url: "${sim.url}" }`,
    '',
  ].join('\n');

try {
  for (const dest of dests) {
    for (const n of dest === 'duckdb' ? [1] : shardCounts) {
      const target: Target =
        dest === 'postgres'
          ? { type: 'postgres', schema: `bench_bf_${process.pid}_${n}` }
          : { type: 'duckdb', path: join(tmpdir(), `bench-bf-${process.pid}-${n}.duckdb`) };
      const config = configFor(target);
      try {
        // the schema and bookkeeping tables first, so the shards do not start with a bootstrap race
        await startCli({ args: ['state', 'show'], config });
        process.stderr.write(`${dest}, ${n} shard(s): backfill ${from}..${to}...\n`);
        const requestsBefore = sim.requests.length;
        const started = process.hrtime.bigint();
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            startCli({ args: ['backfill', '--from', from, '--to', to, '--shard', `${i}/${n}`], config }),
          ),
        );
        const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const rows = await countRows(target, TABLE);
        if (rows !== perDay * days) throw new Error(`${rows} rows, expected ${perDay * days}`);
        const requests = sim.requests.length - requestsBefore;
        if (requests !== days) throw new Error(`${requests} requests, expected ${days}`);
        measured.push({
          dest,
          shards: n,
          wallSeconds,
          results,
          total: addPhases(results.map((r) => r.phases)),
          rows,
        });
        process.stderr.write(`  ${wallSeconds.toFixed(1)} s\n`);
      } finally {
        if (target.type === 'postgres') await dropSchema(target.schema);
        else for (const f of [target.path, `${target.path}.wal`]) rmSync(f, { force: true });
      }
    }
  }
} finally {
  await sim.close();
}

const COMMIT = [
  'commit lock wait',
  'merge',
  'tx',
  'column map',
  'ledger',
  'state',
  'target ddl',
  'catalog read',
];
const share = (ms: number, p: Phases): string => `${((100 * ms) / p.totalMs).toFixed(0)}%`;
const summary = markdownTable(
  [
    'dest',
    'shards',
    'wall s',
    'speed-up',
    'windows/s',
    'rows/s',
    'http wait (latency)',
    'stream (read+parse+stage)',
    'commit statements',
    'of which commit lock wait',
    'staging ddl + other sql',
    'other (Node, start-up)',
    'peak RSS MB (max shard)',
  ],
  measured.map((m) => {
    const base = measured.find((x) => x.dest === m.dest && x.shards === 1);
    const p = m.total;
    const commit = statementMs(p, COMMIT);
    const staging = statementMs(p, [
      'staging ddl',
      'staging checks',
      'other sql',
      'runs',
      'stream lock',
      'bootstrap',
    ]);
    const cell = (ms: number): string => `${seconds(ms)} (${share(ms, p)})`;
    return [
      m.dest,
      String(m.shards),
      m.wallSeconds.toFixed(1),
      base ? (base.wallSeconds / m.wallSeconds).toFixed(2) : '—',
      (days / m.wallSeconds).toFixed(2),
      Math.round(m.rows / m.wallSeconds).toLocaleString('en-US'),
      cell(p.httpWaitMs),
      cell(p.streamMs),
      cell(commit),
      cell(statementMs(p, ['commit lock wait'])),
      cell(staging),
      cell(p.otherMs),
      Math.max(...m.results.map((r) => r.peakRssMb)).toFixed(0),
    ];
  }),
);
const perWindow = markdownTable(
  [
    'dest',
    'shards',
    'ms per window in a shard: http wait',
    'stream',
    'commit',
    'everything (process time / windows)',
  ],
  measured.map((m) => {
    const p = m.total;
    const per = (ms: number): string => (ms / days).toFixed(0);
    return [
      m.dest,
      String(m.shards),
      per(p.httpWaitMs),
      per(p.streamMs),
      per(statementMs(p, COMMIT)),
      per(p.totalMs),
    ];
  }),
);
const sections = [
  `Scarf events, ${days} days (${from} .. ${to}, one request and one window per day), ${perDay} rows per day (${(perDay * days).toLocaleString('en-US')} rows), ` +
    `the simulator waiting ${latencyMs} ms before answering each request. \`exportsync backfill --from ${from} --to ${to} --shard i/n\`, the n shard processes started together; ` +
    'wall = first start to last exit. Phase columns are summed over the shards (share of the summed process time): ' +
    '"http wait" = request → response headers; "stream" = headers → body end (read, parse, map, COPY/append interleaved); ' +
    `"commit statements" = ${COMMIT.join(', ')} (BEGIN/COMMIT are in tx; "commit lock wait" is the per-table advisory lock that makes commits of one table take turns across shards); ` +
    '"other" = process time not in any of these (start-up ≈ 1–2 s per process, Node work between statements, ledger writes outside commits are in commit statements).',
  '## Wall time, speed-up and where the time goes',
  summary,
  "## Per window (averages over the shards' windows)",
  perWindow,
  '## Every phase, per shard process (seconds, statement count)',
  phaseTable(
    measured.flatMap((m) =>
      m.results.map((r, i) => ({
        label: `${m.dest} ${m.shards} shard(s): ${i}/${m.shards}`,
        phases: r.phases,
      })),
    ),
  ),
];
process.stdout.write(`${sections.join('\n\n')}\n`);
const file = writeResults(
  'backfill-latency',
  `Backfill with ${latencyMs} ms per-request latency: shards 1, 2, 4`,
  command,
  sections,
);
process.stderr.write(`wrote ${file}\n`);
