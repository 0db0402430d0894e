/**
 * Dynamic-columns benchmark (issue 10, item 3): Replicated `customer_instances` (snapshot stream
 * with history, dynamic columns) with 200 dynamic columns and 100,000 rows, into Postgres and
 * DuckDB: rows/s, and the time spent in schema evolution (DDL, catalog reads, column map) vs the
 * rest.
 *
 *   npx tsx bench/dynamic-columns.ts [--rows 100000] [--dynamic 200] [--format json|csv] [--dest both]
 *
 * Per destination, each case in a fresh Postgres schema / DuckDB file unless it says otherwise:
 *  - `first load, 200 dyn`: empty destination, the 200-column export (target and history created
 *    with every column, the staging table grows by ALTER as the mapper meets each new field);
 *  - `same export again`: the same destination, the same export once more: no schema change, no
 *    row changed (the baseline "the rest" costs);
 *  - `first load, 9 dyn`: empty destination, an export of the same rows with only the simulator's
 *    own 9 dynamic columns (what 191 more columns cost);
 *  - `200 dyn on a loaded table`: after that, the 200-column export: 191 `ADD COLUMN` on the
 *    100,000-row target and on its history, then 100,000 rows changed.
 * Each CLI run carries the timeline preload (incremental-trace.ts). Prints the tables and writes
 * bench/results/dynamic-columns.md.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCli, writeResults, type CliResult } from './incremental-child.js';
import { countRows, destinationYaml, dropSchema, type Target } from './incremental-db.js';
import {
  SCHEMA_KINDS,
  markdownTable,
  phaseTable,
  seconds,
  statementMs,
  type Phases,
} from './incremental-phases.js';
import { APP_ID, TOKEN, renderExport, serveExport, type RenderedExport } from './dynamic-columns-export.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dynamic: { type: 'string', default: '200' },
    format: { type: 'string', default: 'json' },
    dest: { type: 'string', default: 'both' },
  },
});
const format = values.format as 'json' | 'csv';
const dests =
  values.dest === 'both' ? (['postgres', 'duckdb'] as const) : [values.dest as 'postgres' | 'duckdb'];
const command = `npx tsx bench/dynamic-columns.ts ${process.argv.slice(2).join(' ')}`.trim();
const TABLE = 'replicated_customer_instances';
const HISTORY = `${TABLE}_history`;

const wide = await renderExport(Number(values.rows), Number(values.dynamic), format);
const narrow = await renderExport(Number(values.rows), 9, format);
process.stderr.write(
  `exports: ${wide.rows} rows × ${wide.columns} columns (${wide.dynamicColumns} dynamic) and × ${narrow.columns} (${narrow.dynamicColumns} dynamic), ${format}\n`,
);
const server = await serveExport();

interface Case {
  dest: string;
  label: string;
  exp: RenderedExport;
  result: CliResult;
}
const cases: Case[] = [];

const configFor = (t: Target): string =>
  [
    destinationYaml(t),
    'sync: { column_budget: 500 }',
    'sources:',
    `  - { type: replicated, app_id: ${APP_ID}, token: ${TOKEN}, base_url: "${server.url}", format: ${format}, streams: [customer_instances] }`,
    '',
  ].join('\n');

function freshTarget(dest: 'postgres' | 'duckdb', name: string): Target {
  return dest === 'postgres'
    ? { type: 'postgres', schema: `bench_dyn_${process.pid}_${name}` }
    : { type: 'duckdb', path: join(tmpdir(), `bench-dyn-${process.pid}-${name}.duckdb`) };
}

async function cleanup(t: Target): Promise<void> {
  if (t.type === 'postgres') await dropSchema(t.schema);
  else for (const f of [t.path, `${t.path}.wal`]) rmSync(f, { force: true });
}

async function run(dest: string, label: string, t: Target, exp: RenderedExport): Promise<void> {
  server.serve(exp);
  const result = await startCli({ args: ['run'], config: configFor(t) });
  const [rows, history] = [await countRows(t, TABLE), await countRows(t, HISTORY)];
  if (rows !== exp.rows || history !== exp.rows)
    throw new Error(`${label}: ${rows} rows, ${history} history rows; expected ${exp.rows}`);
  cases.push({ dest, label, exp, result });
  process.stderr.write(`${dest} ${label}: ${result.wallSeconds.toFixed(2)} s\n`);
}

try {
  for (const dest of dests) {
    const a = freshTarget(dest, 'a');
    try {
      await run(dest, `first load, ${wide.dynamicColumns} dyn`, a, wide);
      await run(dest, 'same export again', a, wide);
    } finally {
      await cleanup(a);
    }
    const b = freshTarget(dest, 'b');
    try {
      await run(dest, `first load, ${narrow.dynamicColumns} dyn`, b, narrow);
      await run(dest, `${wide.dynamicColumns} dyn on a loaded table`, b, wide);
    } finally {
      await cleanup(b);
    }
  }
} finally {
  await server.close();
}

const DATA_KINDS = ['merge', 'history', 'mark vanished'];
const schemaMs = (p: Phases): number => statementMs(p, SCHEMA_KINDS);
const summary = markdownTable(
  [
    'dest',
    'case',
    'columns',
    'wall s',
    'run s (CLI)',
    'rows/s (wall)',
    'schema work s',
    'schema share',
    'stream s (read+parse+map+stage)',
    'merge+history s',
    'peak RSS MB',
  ],
  cases.map((c) => {
    const p = c.result.phases;
    return [
      c.dest,
      c.label,
      String(c.exp.columns),
      c.result.wallSeconds.toFixed(2),
      c.result.runSeconds.toFixed(1),
      Math.round(c.exp.rows / c.result.wallSeconds).toLocaleString('en-US'),
      seconds(schemaMs(p)),
      `${((100 * schemaMs(p)) / (c.result.wallSeconds * 1000)).toFixed(1)}%`,
      seconds(p.streamMs),
      seconds(statementMs(p, DATA_KINDS)),
      c.result.peakRssMb.toFixed(0),
    ];
  }),
);
const schemaDetail = markdownTable(
  ['dest', 'case', ...[...SCHEMA_KINDS].map((k) => `${k} s (n)`)],
  cases.map((c) => [
    c.dest,
    c.label,
    ...[...SCHEMA_KINDS].map((k) => {
      const t = c.result.phases.statements.get(k);
      return t ? `${seconds(t.ms)} (${t.count})` : '0';
    }),
  ]),
);
const sections = [
  `Replicated \`customer_instances\` (snapshot + history), ${wide.rows.toLocaleString('en-US')} rows, ${format} export served from a pre-rendered file (the simulator's generator). ` +
    `"schema work" = statements that change or read the schema: staging and target DDL (CREATE/ALTER), catalog reads, the column map upsert (${[...SCHEMA_KINDS].join(', ')}). ` +
    '"stream" = response headers → body end (read, JSON/CSV parse, mapping incl. type inference of dynamic fields, staging: interleaved). ' +
    'Node-side work on new columns (inference, name normalisation) is inside "stream" and not separable by the trace. wall s includes child start-up (≈1–2 s).',
  '## Rows/s and schema work',
  summary,
  '## Schema work by kind (seconds, statement count)',
  schemaDetail,
  '## Every phase (seconds, statement count)',
  phaseTable(cases.map((c) => ({ label: `${c.dest}: ${c.label}`, phases: c.result.phases }))),
];
process.stdout.write(`${sections.join('\n\n')}\n`);
const file = writeResults(
  values.dest === 'both' ? 'dynamic-columns' : `dynamic-columns-${values.dest}`,
  'Dynamic columns: customer_instances with 200 dynamic columns',
  command,
  sections,
);
process.stderr.write(`wrote ${file}\n`);
