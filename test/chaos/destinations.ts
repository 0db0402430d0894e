/**
 * The destinations the chaos suites run against: one entry each, so a new warehouse (the
 * BigQuery and Snowflake stand-ins) joins every suite by being added here. `pgSession` marks a
 * destination whose statements a second connection can see and block (pg_stat_activity, LOCK
 * TABLE): only there can a kill be aimed at the exact statement of a commit.
 */
import { BACKENDS, type Backend } from '../e2e/harness.js';

export interface ChaosDestination {
  name: string;
  /** Short names accepted by `--destinations`. */
  aliases: string[];
  backend: () => Backend;
  pgSession: boolean;
}

export const DESTINATIONS: ChaosDestination[] = BACKENDS.map(([name, backend]) => ({
  name,
  aliases: name === 'postgres' ? ['pg', 'postgres'] : [name],
  backend,
  pgSession: name === 'postgres',
}));

export function selectDestinations(names?: string[]): ChaosDestination[] {
  if (!names || names.length === 0) return DESTINATIONS;
  return names.map((n) => {
    const d = DESTINATIONS.find((x) => x.aliases.includes(n.trim().toLowerCase()));
    if (!d)
      throw new Error(
        `unknown destination '${n}' (have: ${DESTINATIONS.map((x) => x.aliases.join('/')).join(', ')})`,
      );
    return d;
  });
}
