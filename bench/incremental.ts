/**
 * Incremental-run benchmark (issue 10, item 4): with N months of Scarf events already loaded, what
 * does the daily run with one new day cost — wall time, requests, and where the time goes — and
 * does that grow with the history already loaded?
 *
 *   npx tsx bench/incremental.ts [--months 6,24] [--per-day 1000] [--repeat 3] [--dest both]
 *
 * Per destination and history length (a fresh Postgres schema / DuckDB file each):
 *  1. the simulator's rows are pre-rendered to one CSV per day (bench/render-csv.ts) and served on
 *     127.0.0.1 (bench/serve-files.ts); today's file is served EMPTY at first;
 *  2. `exportsync run` with backfill_days = months·30.44 + 1 loads the history (timed, not the point);
 *  3. today's file is swapped for its full rows: the daily run then re-reads yesterday (lookback 1)
 *     and reads the one new day, as a daily CronJob does. It is measured `--repeat` times, the
 *     destination put back before each (today's rows deleted, the state row restored);
 *  4. one more run with nothing new (the same two windows re-read, no row changed);
 *  5. EXPLAIN ANALYZE of the merge a daily run sends for one window (incremental-db.ts).
 * Every child runs with the timeline preload (incremental-trace.ts): per statement class seconds.
 * Prints the tables and writes bench/results/incremental.md.
 */
import { writeFileSync } from 'node:fs';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { csvLine } from '../connectors/scarf/simulator-data.js';
import { addDays, isoDate, startOfUtcDay } from '../src/core/time.js';
import { startCli, writeResults, type CliResult } from './incremental-child.js';
import {
  countRows,
  destinationYaml,
  dropSchema,
  explainMerge,
  readState,
  restore,
  type Target,
} from './incremental-db.js';
import { markdownTable, phaseTable, seconds, statementMs } from './incremental-phases.js';
import { renderDays } from './render-csv.js';
import { serveDayFiles } from './serve-files.js';

const { values } = parseArgs({
  options: {
    months: { type: 'string', default: '6,24' },
    'per-day': { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    dest: { type: 'string', default: 'both' },
  },
});
const OWNER = 'acme';
const TOKEN = 'bench-token';
const TABLE = 'scarf_events';
const STREAM = 'scarf.events';
const CURSOR = 'time';
const perDay = Number(values['per-day']);
const repeat = Number(values.repeat);
const monthsList = values.months.split(',').map(Number);
const dests =
  values.dest === 'both' ? (['postgres', 'duckdb'] as const) : [values.dest as 'postgres' | 'duckdb'];
const command = `npx tsx bench/incremental.ts ${process.argv.slice(2).join(' ')}`.trim();
const daysOf = (months: number): number => Math.round(months * 30.44);

const now = new Date();
const today = startOfUtcDay(now);
const maxDays = daysOf(Math.max(...monthsList));
const rendered = await renderDays(perDay * (maxDays + 1), maxDays + 1, now, 'bench-incremental');
const emptyToday = join(rendered.dir, 'empty-today.csv');
writeFileSync(emptyToday, csvLine(rendered.header));
process.stderr.write(`rendered ${rendered.rows} rows over ${maxDays + 1} days in ${rendered.dir}\n`);

interface Daily {
  dest: string;
  months: number;
  historyRows: number;
  label: string;
  result: CliResult;
  newRows: number;
}
const historyLoads: string[][] = [];
const dailies: Daily[] = [];
const explains: string[] = [];

function configFor(target: Target, baseUrl: string, backfillDays: number): string {
  return [
    destinationYaml(target),
    `sync: { backfill_days: ${backfillDays}, lookback_days: 1, max_requests_per_run: 5000 }`,
    'sources:',
    `  - { type: scarf, owner: ${OWNER}, token: ${TOKEN}, base_url: "${baseUrl}" }`,
    '',
  ].join('\n');
}

for (const dest of dests) {
  for (const months of monthsList) {
    const days = daysOf(months);
    const files = new Map<string, string>();
    for (let i = days; i >= 1; i--) {
      const day = isoDate(addDays(today, -i));
      files.set(day, rendered.files.get(day) as string);
    }
    files.set(isoDate(today), emptyToday);
    const server = await serveDayFiles(files, OWNER, TOKEN);
    const tag = `${process.pid}_${dest}_${days}d`;
    const target: Target =
      dest === 'postgres'
        ? { type: 'postgres', schema: `bench_incr_${tag}` }
        : { type: 'duckdb', path: join(tmpdir(), `bench-incr-${tag}.duckdb`) };
    const config = configFor(target, server.url, days + 1);
    try {
      process.stderr.write(`${dest} ${months} months: loading ${days} days of history...\n`);
      const history = await startCli({ args: ['run'], config });
      const historyRows = await countRows(target, TABLE);
      if (historyRows !== perDay * days)
        throw new Error(`history: ${historyRows} rows, expected ${perDay * days}`);
      historyLoads.push([
        dest,
        String(months),
        historyRows.toLocaleString('en-US'),
        String(history.requests),
        history.wallSeconds.toFixed(1),
        Math.round(historyRows / history.wallSeconds).toLocaleString('en-US'),
        seconds(statementMs(history.phases, ['merge'])),
      ]);
      const before = await readState(target, STREAM);
      files.set(isoDate(today), rendered.files.get(isoDate(today)) as string);
      for (let attempt = 1; attempt <= repeat; attempt++) {
        if (attempt > 1) await restore(target, TABLE, CURSOR, today, STREAM, before);
        const result = await startCli({ args: ['run'], config });
        const newRows = (await countRows(target, TABLE)) - historyRows;
        if (newRows !== perDay) throw new Error(`daily run: ${newRows} new rows, expected ${perDay}`);
        dailies.push({ dest, months, historyRows, label: `new day #${attempt}`, result, newRows });
        process.stderr.write(
          `  daily #${attempt}: ${result.wallSeconds.toFixed(2)} s, ${result.requests} requests\n`,
        );
      }
      const again = await startCli({ args: ['run'], config });
      dailies.push({ dest, months, historyRows, label: 'nothing new', result: again, newRows: 0 });
      const plan = await explainMerge(target, TABLE, ['id'], CURSOR, addDays(today, -1), today);
      explains.push(
        `### ${dest}, ${months} months (${historyRows.toLocaleString('en-US')} rows in the table): merge of one re-read day (${perDay} rows)\n\n\`\`\`\n${plan}\n\`\`\``,
      );
    } finally {
      await server.close();
      if (target.type === 'postgres') await dropSchema(target.schema);
      else for (const f of [target.path, `${target.path}.wal`]) rmSync(f, { force: true });
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};
const dailyTable = markdownTable(
  [
    'dest',
    'months',
    'rows loaded',
    'run',
    'wall s',
    'run s (CLI)',
    'requests',
    'new rows',
    'merge s',
    'peak RSS MB',
  ],
  dailies.map((d) => [
    d.dest,
    String(d.months),
    d.historyRows.toLocaleString('en-US'),
    d.label,
    d.result.wallSeconds.toFixed(2),
    d.result.runSeconds.toFixed(1),
    String(d.result.requests),
    String(d.newRows),
    seconds(statementMs(d.result.phases, ['merge'])),
    d.result.peakRssMb.toFixed(0),
  ]),
);
const growthRows: string[][] = [];
for (const dest of dests) {
  const of = (months: number) =>
    dailies.filter((d) => d.dest === dest && d.months === months && d.newRows > 0);
  const small = of(Math.min(...monthsList));
  const large = of(Math.max(...monthsList));
  if (small.length === 0 || large.length === 0) continue;
  const wall = (ds: Daily[]) => median(ds.map((d) => d.result.wallSeconds));
  const merge = (ds: Daily[]) => median(ds.map((d) => statementMs(d.result.phases, ['merge'])));
  growthRows.push([
    dest,
    `${wall(small).toFixed(2)} → ${wall(large).toFixed(2)}`,
    (wall(large) / wall(small)).toFixed(2),
    `${seconds(merge(small))} → ${seconds(merge(large))}`,
    (merge(large) / merge(small)).toFixed(2),
  ]);
}
const growth = markdownTable(
  [
    'dest',
    `daily wall s (median), ${Math.min(...monthsList)} → ${Math.max(...monthsList)} months`,
    'ratio',
    'merge statement s (median)',
    'ratio',
  ],
  growthRows,
);
const phases = phaseTable(
  dailies.map((d) => ({ label: `${d.dest} ${d.months} mo, ${d.label}`, phases: d.result.phases })),
);
const historyTable = markdownTable(
  ['dest', 'months', 'rows', 'requests', 'wall s', 'rows/s', 'merge statements s'],
  historyLoads,
);
const sections = [
  `Scarf events, ${perDay} rows per day. History loaded by one \`exportsync run\` (backfill_days = days + 1, one request per day), then the daily run: lookback 1 day, so it re-reads yesterday and reads today (the new day). "wall s" is the whole CLI child (start-up ≈ 1–2 s included), "run s" what the CLI reports. "merge s" is the time of the merge statements (INSERT … ON CONFLICT on Postgres, MERGE INTO on DuckDB) from the statement trace.`,
  '## Growth of the daily run with history',
  growth,
  '## Daily runs',
  dailyTable,
  '## Where the daily run spends its time (seconds, statement count in brackets)',
  phases,
  '## History loads (setup, for reference)',
  historyTable,
  '## EXPLAIN ANALYZE of the daily merge',
  ...explains,
];
process.stdout.write(`${sections.join('\n\n')}\n`);
const file = writeResults(
  'incremental',
  'Incremental run: cost of a daily run vs history loaded',
  command,
  sections,
);
process.stderr.write(`wrote ${file}\n`);
