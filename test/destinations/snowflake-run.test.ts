/**
 * A whole sync into Snowflake: the Scarf simulator through the engine into the stand-in, via the
 * config section and the destination factory, as `exportsync run` does it. Pins that the engine and
 * this destination agree (describe, column map, state, runs) and that a re-run adds nothing.
 */
import { afterAll, expect, it } from 'vitest';
import { startScarfSimulator } from '../../connectors/scarf/simulator.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/log.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync } from '../../src/engine/run.js';
import { startSnowflakeStandin } from '../support/snowflake-standin/index.js';

const sfPromise = startSnowflakeStandin();
afterAll(async () => (await sfPromise).stop());

it('exportsync run into Snowflake loads every distinct event once; a second run adds nothing', async () => {
  const sf = await sfPromise;
  const sim = await startScarfSimulator({ today: new Date('2024-03-10T00:00:00Z'), eventsPerDay: 40 });
  try {
    const yaml = [
      `destination: ${sf.destinationYaml({ schema: 'runs' })}`,
      'sync: {"backfill_days": 5}',
      'sources:',
      '  - type: scarf',
      '    owner: acme',
      '    token: scarf-test-token',
      `    base_url: ${sim.url}`,
      '',
    ].join('\n');
    const config = parseConfig(yaml, '<snowflake-run>', {});
    const once = async () => {
      const destination = await createDestination(config.destination, silentLogger);
      await destination.open();
      try {
        return await runSync({
          config,
          destination,
          log: silentLogger,
          now: () => new Date('2024-03-10T12:00:00Z'),
        });
      } finally {
        await destination.close();
      }
    };
    const first = await once();
    const ids = async () => (await sf.query(`SELECT id FROM "runs"."scarf_events"`)).map((r) => String(r.id));
    const loaded = await ids();
    const truth = new Set(
      [...sim.rows('2024-03-06', '2024-03-10')].slice(1).map((r) => String((r as string[])[0])),
    );
    expect(new Set(loaded)).toEqual(truth);
    expect(loaded.length).toBe(truth.size);
    await once();
    expect((await ids()).length).toBe(truth.size);
    const runs = await sf.query(`SELECT status FROM "runs"."_exportsync_runs" ORDER BY started_at`);
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(JSON.stringify(first)).toContain('scarf.events');
    expect(sf.statements.some((s) => /^MERGE INTO "runs"\."scarf_events"/.test(s.sql))).toBe(true);
  } finally {
    await sim.close();
  }
});
