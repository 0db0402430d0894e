/**
 * The run record's per-stream stats are written however the run ends: interrupted by a signal
 * after a commit, or with a stream that threw past its own error handling (a destination bug).
 * Real DuckDB; the second test wraps the real destination so its lock release throws.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import type { Config } from '../../src/config/load.js';
import type { Destination, RunRecord } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync } from '../../src/engine/run.js';
import { BACKENDS, makeConfig, type Backend } from '../e2e/harness.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const duckdb = BACKENDS.find(([name]) => name === 'duckdb')?.[1] as (typeof BACKENDS)[number][1];

describe('run stats whatever the outcome', () => {
  let backend: Backend;
  let sim: ScarfSimulator;
  beforeAll(async () => {
    backend = duckdb();
    sim = await startScarfSimulator({ seed: 'stats', eventsPerDay: 10, now: NOW });
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
  });

  async function withDestination<T>(days: number, fn: (d: Destination, config: Config) => Promise<T>) {
    const config = makeConfig(backend.target(), sim.url, { backfill_days: days });
    const destination = await createDestination(config.destination, silentLogger);
    await destination.open();
    try {
      return { result: await fn(destination, config), runs: await destination.listRuns(1) };
    } finally {
      await destination.close();
    }
  }

  test('interrupted-after-the-first-window', async () => {
    let asked = 0;
    let summaryStatus = '';
    const { runs } = await withDestination(3, async (destination, config) => {
      const summary = await runSync({
        config,
        destination,
        log: silentLogger,
        now: () => NOW,
        stopping: () => ++asked > 1, // asked before each window: stop before the second
      });
      summaryStatus = summary.status;
    });
    expect(summaryStatus).toBe('interrupted');
    const [run] = runs as [RunRecord];
    expect(run.status).toBe('interrupted');
    expect(run.stats).toEqual([
      expect.objectContaining({ streamKey: 'scarf.events', status: 'interrupted', windows: 1, requests: 1 }),
    ]);
    expect(run.stats?.[0]?.bytes).toBeGreaterThan(0);
  });

  test('a-stream-that-throws-past-its-handler-is-recorded-failed-with-stats', async () => {
    const { runs, result } = await withDestination(2, async (real, config) => {
      const destination = new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'lock') {
            return async (key: string, waitMs: number) => {
              const lock = await target.lock(key, waitMs);
              return {
                release() {
                  void lock.release();
                  throw new Error('release exploded');
                },
              };
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return runSync({ config, destination, log: silentLogger, now: () => NOW });
    });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    const [run] = runs as [RunRecord];
    expect(run.status).toBe('failed');
    expect(run.error).toBe('scarf.events: release exploded');
    expect(run.stats).toEqual([
      expect.objectContaining({
        streamKey: 'scarf.events',
        status: 'failed',
        requests: 2,
        error: 'release exploded',
      }),
    ]);
  });
});
