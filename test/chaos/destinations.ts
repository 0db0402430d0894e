/**
 * The destinations the chaos suites run against: one entry each, so a new warehouse (the
 * BigQuery and Snowflake stand-ins) joins every suite by being added here. `pgSession` marks a
 * destination whose statements a second connection can see and block (pg_stat_activity, LOCK
 * TABLE): only there can a kill be aimed at the exact statement of a commit.
 */
import { BACKENDS, type Backend, type Target } from '../e2e/harness.js';
import {
  bigqueryBackend,
  expireLeases,
  snowflakeBackend,
  startBigQuery,
  startSnowflake,
  stopBigQuery,
  stopSnowflake,
} from './standins.js';

export interface ChaosDestination {
  name: string;
  /** Short names accepted by `--destinations`. */
  aliases: string[];
  backend: () => Backend;
  pgSession: boolean;
  /** Starts what the destination needs (a stand-in server) before `backend()`. */
  prepare?(): Promise<void>;
  release?(): Promise<void>;
  /** Run after each SIGKILL: what the passing of time would do (a stand-in's lease expiring). */
  afterKill?(t: Target): Promise<void>;
}

export const DESTINATIONS: ChaosDestination[] = BACKENDS.map(([name, backend]) => ({
  name,
  aliases: name === 'postgres' ? ['pg', 'postgres'] : [name],
  backend,
  pgSession: name === 'postgres',
}));

/**
 * Stand-ins, opt-in with `--destinations snowflake` (not in `npm test`: a SIGKILLed run holds its
 * lease until it expires, so each kill costs a lease expiry the suite has to fake).
 */
export const STANDINS: ChaosDestination[] = [
  {
    name: 'snowflake-standin',
    aliases: ['snowflake', 'sf', 'snowflake-standin'],
    backend: snowflakeBackend,
    pgSession: false,
    prepare: startSnowflake,
    release: stopSnowflake,
    afterKill: expireLeases,
  },
  {
    name: 'bigquery-standin',
    aliases: ['bigquery', 'bq', 'bigquery-standin'],
    backend: bigqueryBackend,
    pgSession: false,
    prepare: startBigQuery,
    release: stopBigQuery,
    // the same lease table and columns as Snowflake's
    afterKill: expireLeases,
  },
];

export function selectDestinations(names?: string[]): ChaosDestination[] {
  if (!names || names.length === 0) return DESTINATIONS;
  return names.map((n) => {
    const d = [...DESTINATIONS, ...STANDINS].find((x) => x.aliases.includes(n.trim().toLowerCase()));
    if (!d)
      throw new Error(
        `unknown destination '${n}' (have: ${DESTINATIONS.map((x) => x.aliases.join('/')).join(', ')})`,
      );
    return d;
  });
}
