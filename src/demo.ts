/**
 * `npm run demo`: starts the Scarf simulator on loopback, syncs it into ./exportsync.duckdb with
 * the embedded default destination, and prints what landed. No credentials, no server.
 * Run it twice: the second run re-reads the lookback window and reports nothing new.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { startScarfSimulator } from '../connectors/scarf/simulator.js';
import { parseConfig } from './config/load.js';
import { DEFAULTS } from './core/defaults.js';
import { createLogger } from './core/log.js';
import { startOfUtcDay } from './core/time.js';
import { formatSummary, table } from './commands/output.js';
import { createDestination } from './destinations/index.js';
import { runSync } from './engine/run.js';

const path = process.env.EXPORTSYNC_DEMO_PATH ?? DEFAULTS.duckdb_path;

async function main(): Promise<number> {
  // The simulated API has events up to the start of today, so a second run finds nothing new.
  const sim = await startScarfSimulator({
    token: 'demo-token',
    owners: ['demo-org'],
    seed: 'demo',
    eventsPerDay: 500,
    crossDayDuplicates: 3,
    duplicateRate: 0.01,
    now: startOfUtcDay(new Date()),
  });
  const log = createLogger({ level: process.env.EXPORTSYNC_LOG_LEVEL ?? 'warn' });
  try {
    const config = parseConfig(
      [
        'destination: { type: duckdb, path: "' + path + '" }',
        'sources:',
        '  - type: scarf',
        '    owner: demo-org',
        '    token: demo-token',
        `    base_url: ${sim.url}`,
      ].join('\n'),
      '<demo>',
      {},
    );
    process.stdout.write(`Scarf simulator on ${sim.url}; syncing into ${path}\n`);
    const destination = await createDestination(config.destination, log);
    await destination.open();
    let summary;
    let states;
    try {
      summary = await runSync({ config, destination, log, command: 'demo' });
      states = await destination.listStates();
    } finally {
      await destination.close();
    }
    process.stdout.write(`${formatSummary(summary)}\n\n`);

    const schema = config.destination.type === 'duckdb' ? config.destination.schema : 'main';
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    const counts = await conn.runAndReadAll(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    const rows = [['table', 'rows', 'high-water mark']];
    for (const [name] of counts.getRows() as [string][]) {
      if (name.startsWith('_exportsync_')) continue; // bookkeeping: state, column map, runs, ledger
      const n = await conn.runAndReadAll(`SELECT count(*) FROM "${schema}"."${name.replace(/"/g, '""')}"`);
      const mark = states.find((s) => name === s.streamKey.replace('.', '_'))?.state.highWaterMark ?? '';
      rows.push([name, String(n.getRows()[0]?.[0]), mark]);
    }
    conn.closeSync();
    db.closeSync();
    process.stdout.write(`${table(rows)}\n`);
    const fresh = summary.streams.reduce((n, s) => n + s.upserted, 0);
    process.stdout.write(
      fresh === 0
        ? '\nNothing new: every row read was already loaded. (Run `npm run demo` again tomorrow for a new day.)\n'
        : `\n${fresh} new rows loaded. Run \`npm run demo\` again: it re-reads the lookback window and loads nothing new.\n`,
    );
    return summary.exitCode;
  } finally {
    await sim.close();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
