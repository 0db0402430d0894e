/**
 * Starts the Scarf simulator for humans: `npx tsx connectors/scarf/simulator-cli.ts --port 8787`.
 * Prints the base URL and the token; Ctrl-C stops it. Options: --port, --token, --owner, --seed,
 * --events-per-day, --duplicate-rate, --fault-rate.
 */
import { parseArgs } from 'node:util';
import { startScarfSimulator } from './simulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    token: { type: 'string', default: 'scarf-test-token' },
    owner: { type: 'string', default: 'acme' },
    seed: { type: 'string', default: 'scarf' },
    'events-per-day': { type: 'string', default: '1000' },
    'duplicate-rate': { type: 'string', default: '0' },
    'fault-rate': { type: 'string', default: '0' },
  },
});

const sim = await startScarfSimulator({
  port: Number(values.port),
  token: values.token,
  owners: [values.owner],
  seed: values.seed,
  eventsPerDay: Number(values['events-per-day']),
  duplicateRate: Number(values['duplicate-rate']),
  faultRate: Number(values['fault-rate']),
});
const day = new Date().toISOString().slice(0, 10);
process.stdout.write(
  `Scarf simulator on ${sim.url}\n` +
    `  curl -H 'Authorization: Bearer ${values.token}' '${sim.url}/v2/packages/${values.owner}/events?start_date=${day}&end_date=${day}'\n`,
);
const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
