/**
 * Secrets never leave exportsync (test/chaos/secrets.ts): every output of the CLI at debug level
 * and every bookkeeping table is searched for the configured tokens and the database password.
 */
import { describe, expect, test } from 'vitest';
import { redactSecrets, rememberSecret } from '../../src/core/errors.js';
import { DESTINATIONS } from './destinations.js';
import { secretsSuite } from './secrets.js';

test('a remembered credential is redacted wherever it appears, with or without its scheme', () => {
  rememberSecret('Bearer tok-7Hq2xV9pL4');
  expect(redactSecrets('header Bearer tok-7Hq2xV9pL4; raw tok-7Hq2xV9pL4 is not valid')).toBe(
    'header ***; raw *** is not valid',
  );
  rememberSecret('abc'); // too short to redact safely
  expect(redactSecrets('abc')).toBe('abc');
});

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (name, destination) => {
  test('no-token-or-password-in-any-output-or-bookkeeping-table', { timeout: 120_000 }, async () => {
    const report = await secretsSuite({ destination, commands: name === 'postgres' ? 'all' : 'run' });
    expect(report.violations, report.notes.join('\n')).toEqual([]);
  });
});
