/**
 * Source notices: a marketplace publisher's run says once, as a warning, that the admin-only
 * datasets are skipped (issue 5: "skips admin-only datasets up front with one warning").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, expect, test } from 'vitest';
import { startMarketplaceSimulator } from '../../connectors/marketplace/simulator.js';
import { parseConfig } from '../../src/config/load.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync } from '../../src/engine/run.js';

const dir = mkdtempSync(join(tmpdir(), 'exportsync-notices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function warnings(role: 'publisher' | 'admin', token: string): Promise<string[]> {
  const sim = await startMarketplaceSimulator({});
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = pino({ level: 'warn' }, sink);
  try {
    const config = parseConfig(
      [
        `destination: { type: duckdb, path: ${join(dir, `${role}.duckdb`)} }`,
        'sync: { backfill_days: 1 }',
        'sources:',
        '  - type: marketplace',
        `    token: ${token}`,
        `    base_url: ${sim.url}`,
        `    role: ${role}`,
        '    streams: [install_events]',
      ].join('\n'),
      '<test>',
      {},
    );
    const destination = await createDestination(config.destination, log);
    await destination.open();
    try {
      expect((await runSync({ config, destination, log })).status).toBe('ok');
    } finally {
      await destination.close();
    }
  } finally {
    await sim.close();
  }
  return lines.filter((l) => l.level === 40).map((l) => l.msg);
}

test('a-publisher-run-warns-once-that-admin-only-datasets-are-skipped', async () => {
  const warned = await warnings('publisher', 'mp-publisher-token');
  const notice = warned.filter((m) => m.includes('admin-only datasets'));
  expect(notice).toHaveLength(1);
  expect(notice[0]).toContain('marketplace_summary');
  expect(notice[0]).toContain('publisher_leaderboard_history');
});

test('an-admin-run-has-no-such-warning', async () => {
  const warned = await warnings('admin', 'mp-admin-token');
  expect(warned.filter((m) => m.includes('admin-only'))).toEqual([]);
});
