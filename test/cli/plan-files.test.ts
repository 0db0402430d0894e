/**
 * `exportsync plan` on a files-mode source lists the exports a run would load (read-only), instead
 * of planning API date windows that a files-mode run never fetches.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { cli, tempDir, writeConfig } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

test('plan-lists-new-export-files-in-files-mode', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const exports = join(dir, 'exports');
  mkdirSync(exports);
  const header = 'id,timestamp,package,event_type\n';
  writeFileSync(join(exports, 'scarf-test.csv'), header);
  writeFileSync(
    join(exports, 'events-scarf-export-2026-11-01-2026-11-01.csv'),
    `${header}e1,2026-11-01T10:00:00Z,acme/tool,download\n`,
  );
  writeFileSync(
    join(exports, 'events-scarf-export-2026-11-02-2026-11-02.csv'),
    `${header}e2,2026-11-02T10:00:00Z,acme/tool,download\n`,
  );
  const config = writeConfig(
    dir,
    'exportsync.yaml',
    [
      `destination: { type: duckdb, path: "${join(dir, 'w.duckdb')}" }`,
      'sources:',
      '  - type: scarf',
      '    mode: files',
      `    files: { url: "file://${exports}" }`,
    ].join('\n'),
  );
  const res = await cli(['plan', '--config', config]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toContain('files mode: 2 new or changed export(s) to load');
  expect(res.stdout).toContain('fetch 2 window(s) 2026-11-01 .. 2026-11-02');
  expect(res.stdout).toContain('export files of 2026-11-01..2026-11-01 (no API request)');
});
