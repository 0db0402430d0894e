/**
 * Scarf files mode, company rollups: `company-rollups-scarf-export-<start>-<end>.csv` objects in a
 * local directory become snapshots dated by their end day, into the same table (+ `_history`) as
 * the API's company_rollup stream; the current table ends at the newest export.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../../connectors/scarf/simulator.js';
import { BACKENDS, type Backend, makeConfig, runOnce } from '../../e2e/harness.js';
import { csv, tempDir } from '../../files/helpers.js';

const NOW = new Date('2026-11-25T12:00:00Z');
let sim: ScarfSimulator;
const local = tempDir('exportsync-rollups-');
beforeAll(async () => {
  sim = await startScarfSimulator({ seed: 'rollups', eventsPerDay: 10, now: NOW });
});
afterAll(async () => {
  await sim?.close();
  local.cleanup();
});

describe.each(BACKENDS)('%s', (name, makeBackend) => {
  let backend: Backend;
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  test('two daily rollup exports: history has both days, the current table the newest', async () => {
    const t = backend.target();
    const dir = join(local.dir, name);
    mkdirSync(dir);
    const [header, ...rows] = sim.rollup();
    const older = rows.slice(0, 3);
    const newer = rows.slice(1, 4);
    writeFileSync(join(dir, 'company-rollups-scarf-export-2026-11-23-2026-11-23.csv'), csv(header!, older));
    writeFileSync(join(dir, 'company-rollups-scarf-export-2026-11-24-2026-11-24.csv'), csv(header!, newer));
    writeFileSync(join(dir, 'scarf-test.csv'), csv(header!, []));
    const config = makeConfig(t, sim.url, {}, [
      'mode: files',
      `files: { url: "file://${dir}" }`,
      'streams: [events, company_rollup]',
    ]);
    const summary = await runOnce(config, { now: () => NOW });
    expect(summary.status).toBe('ok');
    const domain = header!.indexOf('company_domain');
    const current = await t.query<{ d: string }>(
      `SELECT company_domain AS d FROM ${t.table('scarf_company_rollup')} WHERE _deleted_at IS NULL ORDER BY 1`,
    );
    expect(current.map((r) => r.d)).toEqual(newer.map((r) => r[domain]).sort());
    const history = await t.query<{ day: string; n: number }>(
      `SELECT CAST(snapshot_date AS VARCHAR) AS day, CAST(count(*) AS INTEGER) AS n FROM ${t.table('scarf_company_rollup_history')} GROUP BY 1 ORDER BY 1`,
    );
    expect(history.map((h) => [h.day, Number(h.n)])).toEqual([
      ['2026-11-23', 3],
      ['2026-11-24', 3],
    ]);
  });
});
