import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { README, renderReadme } from '../../../connectors/marketplace/readme-columns.js';

it('readme-dataset-tables-match-the-dictionary (run connectors/marketplace/readme-columns.ts)', () => {
  const text = readFileSync(README, 'utf8');
  expect(renderReadme(text)).toBe(text);
  expect(text).toContain('| `weighted_score` | decimal |');
  expect(text).toContain('merge on (`package_id`, `version`, `snapshot_date`)');
});
