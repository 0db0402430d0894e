import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { README, renderReadme } from '../../../connectors/replicated/readme-columns.js';

it('readme-column-tables-match-the-dictionary (run connectors/replicated/readme-columns.ts)', () => {
  const text = readFileSync(README, 'utf8');
  expect(renderReadme(text)).toBe(text);
  expect(text).toContain('| `customer_is_airgap_enabled` | boolean |');
});
