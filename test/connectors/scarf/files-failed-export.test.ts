/**
 * One export that cannot be loaded (a row with the wrong number of fields in a merge stream) does
 * not hold back the others: they load, the stream ends failed naming the bad export, and once the
 * file is fixed the next run loads it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../../connectors/scarf/simulator.js';
import { silentLogger } from '../../../src/core/log.js';
import type { Config } from '../../../src/config/load.js';
import { createDestination } from '../../../src/destinations/index.js';
import { runSync } from '../../../src/engine/run.js';
import {
  BACKENDS,
  type Backend,
  makeConfig,
  sorted,
  tableIds,
  truthIds,
  truthRows,
} from '../../e2e/harness.js';
import { csv } from '../../files/helpers.js';
import { tempDir } from '../../cli/helpers.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const name = (day: string) => `events-scarf-export-${day}-${day}.csv`;

let sim: ScarfSimulator;
const local = tempDir('exportsync-failed-export-');
beforeAll(async () => {
  sim = await startScarfSimulator({ seed: 'failed-export', eventsPerDay: 20, now: NOW });
});
afterAll(async () => {
  await sim?.close();
  local.cleanup();
});

async function run(config: Config) {
  const destination = await createDestination(config.destination, silentLogger);
  await destination.open();
  try {
    return await runSync({ config, destination, log: silentLogger, now: () => NOW });
  } finally {
    await destination.close();
  }
}

describe.each(BACKENDS)('%s', (backendName, makeBackend) => {
  let backend: Backend;
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  test('failed-export-is-skipped-the-others-load-and-it-loads-once-fixed', async () => {
    const t = backend.target();
    const dir = join(local.dir, backendName);
    mkdirSync(dir, { recursive: true });
    const day = (d: string) => truthRows(sim, d, d);
    const d20 = day('2026-11-20');
    const d21 = day('2026-11-21');
    const d22 = day('2026-11-22');
    writeFileSync(join(dir, name('2026-11-20')), csv(d20.header, d20.rows));
    // line 3 of the 21st has one field too many: a merge stream cannot trust its key
    const broken = csv(d21.header, d21.rows).split('\n');
    broken[2] = `${broken[2]},surplus`;
    writeFileSync(join(dir, name('2026-11-21')), broken.join('\n'));
    writeFileSync(join(dir, name('2026-11-22')), csv(d22.header, d22.rows));
    const config = makeConfig(t, sim.url, {}, ['mode: files', `files: { url: "file://${dir}" }`]);

    const first = await run(config);
    const stream = first.streams[0]!;
    expect(stream.status).toBe('failed');
    expect(stream.windows).toBe(2);
    expect(stream.error).toMatch(
      /^1 of 3 export\(s\) failed and were skipped .*events-scarf-export-2026-11-21/,
    );
    expect(stream.error).toContain('line 3');
    expect(sorted(await tableIds(t))).toEqual(
      sorted([...truthIds(sim, '2026-11-20', '2026-11-20'), ...truthIds(sim, '2026-11-22', '2026-11-22')]),
    );

    writeFileSync(join(dir, name('2026-11-21')), csv(d21.header, d21.rows));
    const second = await run(config);
    expect(second.streams[0]!.status).toBe('ok');
    expect(second.streams[0]!.windows).toBe(1);
    expect(sorted(await tableIds(t))).toEqual(sorted(truthIds(sim, '2026-11-20', '2026-11-22')));
  });
});
