/**
 * `npm run chaos -- --runs N [--destinations pg,duckdb] [--seed S] [--suites crash,source,...] [--events-per-day N] [--verbose]`
 *
 * `--events-per-day` sizes the crash suite's days (default 40); past 1,000 (the CSV reader's sample)
 * most rows take the CSV pass-through, so kills land while encoded rows are staged.
 *
 * Runs the chaos suites at size N against each destination and prints one summary line per suite
 * and destination: what was tried (kill points survived, faults injected, inputs tried), rows
 * lost and doubled (both must be 0) and every broken guarantee. Exit 1 when any guarantee broke.
 * The same suites run at CI size in `npm test` (test/chaos/*.test.ts).
 */
import { parseArgs } from 'node:util';
import type { SuiteReport } from './common.js';
import { selectDestinations, type ChaosDestination } from './destinations.js';

process.env.EXPORTSYNC_LOG_LEVEL ??= 'silent';
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';

type Suite = (d: ChaosDestination, runs: number, seed: string, eventsPerDay?: number) => Promise<SuiteReport>;

const SUITES: Record<string, Suite> = {
  crash: async (d, runs, seed, eventsPerDay) =>
    (await import('./crash.js')).crashSuite({
      destination: d,
      kills: runs,
      seed,
      days: 6,
      killsPerEpisode: 6,
      ...(eventsPerDay ? { eventsPerDay } : {}),
    }),
  source: async (d, runs, seed) =>
    (await import('./source-faults.js')).sourceFaultSuite({ destination: d, rounds: runs, seed }),
  destination: async (d, runs, seed) =>
    (await import('./destination-faults.js')).destinationFaultSuite({
      destination: d,
      rounds: Math.max(1, Math.ceil(runs / 5)),
      seed,
    }),
  concurrency: async (d, runs, seed) =>
    (await import('./concurrency.js')).concurrencySuite({
      destination: d,
      rounds: Math.max(1, Math.ceil(runs / 10)),
      seed,
    }),
  corpus: async (d) => (await import('./corpus.js')).corpusSuite({ destination: d }),
  'corpus-behind-sample': async (d) =>
    (await import('./corpus.js')).corpusSuite({ destination: d, behindSample: true }),
  secrets: async (d) => (await import('./secrets.js')).secretsSuite({ destination: d }),
};

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run chaos -- --runs N [--destinations pg,duckdb] [--seed S] ` +
      `[--suites ${Object.keys(SUITES).join(',')}] [--events-per-day N] [--verbose]\n`,
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '25' },
      destinations: { type: 'string' },
      seed: { type: 'string', default: String(Date.now()) },
      suites: { type: 'string', default: Object.keys(SUITES).join(',') },
      verbose: { type: 'boolean', default: false },
      'events-per-day': { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a positive integer, got ${values.runs}`);
  let destinations: ChaosDestination[];
  try {
    destinations = selectDestinations(values.destinations?.split(','));
  } catch (err) {
    usage((err as Error).message);
  }
  const suites = values.suites.split(',').map((s) => s.trim());
  for (const s of suites) if (!SUITES[s]) usage(`unknown suite '${s}'`);
  const seed = values.seed;
  const eventsPerDay = values['events-per-day'] === undefined ? undefined : Number(values['events-per-day']);
  if (eventsPerDay !== undefined && !(Number.isInteger(eventsPerDay) && eventsPerDay >= 20))
    usage(`--events-per-day must be an integer of at least 20, got ${values['events-per-day']}`);
  process.stdout.write(
    `chaos: runs ${runs}, seed ${seed}, destinations ${destinations.map((d) => d.name).join(',')}\n`,
  );

  const reports: SuiteReport[] = [];
  for (const d of destinations) {
    for (const s of suites) {
      // stand-ins run the crash suite only (see STANDINS in destinations.ts)
      if (d.prepare && s !== 'crash') continue;
      process.stdout.write(`  ${s} on ${d.name} ...`);
      const report = await SUITES[s]!(d, runs, seed, eventsPerDay);
      reports.push(report);
      process.stdout.write(
        ` ${report.violations.length === 0 ? 'ok' : 'BROKEN'} in ${(report.durationMs / 1000).toFixed(1)} s\n`,
      );
      if (values.verbose) for (const n of report.notes) process.stdout.write(`      ${n}\n`);
    }
  }
  process.stdout.write(`\n${summaryTable(reports)}\n`);
  const broken = reports.filter((r) => r.violations.length > 0 || r.rowsLost > 0 || r.rowsDoubled > 0);
  for (const r of broken) {
    process.stdout.write(`\n${r.suite} on ${r.destination}:\n`);
    for (const v of r.violations) process.stdout.write(`  - ${v}\n`);
  }
  process.stdout.write(
    broken.length === 0
      ? `\nevery guarantee held (seed ${seed})\n`
      : `\n${broken.length} suite(s) broke a guarantee; replay with --seed ${seed}\n`,
  );
  return broken.length === 0 ? 0 : 1;
}

/** The headline figures of each suite, in a fixed order, then the rest. */
const HEADLINE = ['kill points survived', 'faults injected', 'inputs tried', 'runs at once'];

export function summaryTable(reports: SuiteReport[]): string {
  const rows = reports.map((r) => {
    const keys = [
      ...HEADLINE.filter((k) => k in r.figures),
      ...Object.keys(r.figures)
        .filter((k) => !HEADLINE.includes(k))
        .sort(),
    ];
    return [
      r.suite,
      r.destination,
      keys.map((k) => `${k}: ${r.figures[k]}`).join(', '),
      String(r.rowsLost),
      String(r.rowsDoubled),
      String(r.violations.length),
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ];
  });
  const header = ['suite', 'destination', 'figures', 'rows lost', 'doubled', 'broken', 'time'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
