/**
 * The bad-input corpus (test/corpus, cases in corpus-cases.ts) through a real run into each
 * destination: every input ends kept or with a clear error naming the row, never a silent drop.
 * Cases with a known bug run alone as `test.fails`, naming the bug.
 */
import { describe, expect, test } from 'vitest';
import { CORPUS_CASES } from './corpus-cases.js';
import { corpusSuite, fixturesWithoutCase } from './corpus.js';
import { DESTINATIONS } from './destinations.js';

test('every fixture file has a case', () => {
  expect(fixturesWithoutCase()).toEqual([]);
});

describe.concurrent.each(DESTINATIONS.map((d) => [d.name, d] as const))('%s', (_name, destination) => {
  test('every-bad-input-is-kept-or-refused-with-a-clear-error', { timeout: 120_000 }, async () => {
    const report = await corpusSuite({ destination });
    expect(report.violations, report.notes.join('\n')).toEqual([]);
    expect(report.figures['inputs tried']).toBe(CORPUS_CASES.filter((c) => !c.knownBug).length);
    expect(report.rowsLost).toBe(0);
  });

  for (const c of CORPUS_CASES.filter((x) => x.knownBug)) {
    // known bug, see the case's knownBug text
    test.fails(`known bug: ${c.name}`, { timeout: 60_000 }, async () => {
      const report = await corpusSuite({ destination, only: [c.name] });
      expect(report.violations).toEqual([]);
    });
  }
});
