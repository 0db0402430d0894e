/**
 * The marketplace through the real CLI: `plan` shows the retention clamp of a deep backfill, and a
 * publisher listing an admin-only dataset is a config error (exit 2) naming the dataset and role.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli, tempDir, writeConfig } from '../../cli/helpers.js';

const tmp = tempDir('exportsync-marketplace-');
afterAll(() => tmp.cleanup());

function yaml(backfill: number, streams: string): string {
  return [
    `destination: { type: duckdb, path: "${join(tmp.dir, `plan-${backfill}.duckdb`)}" }`,
    `sync: { backfill_days: ${backfill} }`,
    'sources:',
    '  - type: marketplace',
    '    base_url: http://127.0.0.1:9',
    '    token: mp-publisher-token',
    `    streams: ${streams}`,
    '',
  ].join('\n');
}

it('plan-shows-a-backfill-past-24-months-clamped-to-the-retention-edge', async () => {
  const path = writeConfig(tmp.dir, 'deep.yaml', yaml(900, '[install_events]'));
  const r = await cli(['plan', '--config', path]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('marketplace_install_events');
  expect(r.stdout).toContain('past the 24-month retention');
  // 900 days in 7-day windows: only the windows from the edge on make a request
  const m = /fetch (\d+) window\(s\) .*, (\d+) request\(s\)/.exec(r.stdout);
  expect(Number(m![2])).toBeLessThan(Number(m![1]));
  expect(Number(m![2])).toBeGreaterThanOrEqual(104);
  expect(Number(m![2])).toBeLessThanOrEqual(106);
});

it('a-publisher-listing-an-admin-only-dataset-exits-2-naming-it-and-the-role', async () => {
  const path = writeConfig(tmp.dir, 'admin.yaml', yaml(3, '[install_events, marketplace_summary]'));
  const r = await cli(['run', '--config', path]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("sources[0].streams[1]: dataset 'marketplace_summary' is admin only");
  expect(r.stderr).toContain("role 'publisher'");
});
