/**
 * The bad-input corpus (test/corpus, cases in corpus-cases.ts) through a real run into each
 * destination: every input ends kept or with a clear error naming the row, never a silent drop.
 * Cases with a known bug run alone as `test.fails`, naming the bug.
 */
import { describe, expect, test } from 'vitest';
import { CORPUS_CASES } from './corpus-cases.js';
import { BEHIND_SAMPLE_BUGS, behindTheSample, corpusSuite, fixturesWithoutCase } from './corpus.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { DESTINATIONS } from './destinations.js';

test('every fixture file has a case', () => {
  expect(fixturesWithoutCase()).toEqual([]);
});

test('behind the sample: fillers after the header record, aligned to it, with its line ending', () => {
  const crlf = behindTheSample(Buffer.from('\uFEFFx,"ti""me",id,time\r\n1,a,b,c\r\n'));
  if (typeof crlf === 'string') throw new Error(crlf);
  const lines = crlf.toString('utf8').split('\r\n');
  expect(lines).toHaveLength(SAMPLE_RECORDS + 3);
  expect(lines[0]).toBe('\uFEFFx,"ti""me",id,time');
  expect(lines[1]).toBe(',,f1ll3r00-0000-4000-8000-000000000001,2026-11-25T06:00:00.000Z');
  expect(lines[SAMPLE_RECORDS]).toBe(',,f1ll3r00-0000-4000-8000-000000001000,2026-11-25T06:00:00.000Z');
  expect(lines.slice(SAMPLE_RECORDS + 1)).toEqual(['1,a,b,c', '']);
  // a line break inside a quoted header name is not the end of the header
  const multi = behindTheSample(Buffer.from('"a\nb",id,time\n1,2,3\n'));
  expect(typeof multi !== 'string' && multi.toString().startsWith('"a\nb",id,time\n,f1ll3r00-')).toBe(true);
});

test('behind the sample: an input it cannot pad safely is skipped, saying why', () => {
  expect(behindTheSample(Buffer.from('id,time'))).toBe('no line ending after the header');
  expect(behindTheSample(Buffer.from('id,time\r1,2\r'))).toBe('a bare CR ends the header');
  expect(behindTheSample(Buffer.from('id,when\n1,2\n'))).toBe('the header lacks id or time');
  expect(behindTheSample(Buffer.from('id,ti"me,x\n1,2,3\n'))).toBe('no line ending after the header');
  expect(behindTheSample(Buffer.from('id,"time"x\n1,2\n'))).toBe('a header the filler cannot be aligned to');
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

  // Each kept Scarf CSV case again behind SAMPLE_RECORDS filler records, so that its own records
  // take the CSV pass-through's byte path: the same rows and values as the plain case.
  test('every-kept-scarf-csv-input-is-the-same-behind-the-sample', { timeout: 180_000 }, async () => {
    const report = await corpusSuite({ destination, behindSample: true });
    expect(report.violations, report.notes.join('\n')).toEqual([]);
    const eligible = CORPUS_CASES.filter(
      (c) =>
        c.connector === 'scarf' &&
        c.contentType.startsWith('text/csv') &&
        c.expect === 'kept' &&
        !c.knownBug &&
        !(c.name in BEHIND_SAMPLE_BUGS),
    );
    // none of today's kept Scarf CSV inputs is skipped; a new one that is shows in the notes
    expect((report.figures['inputs tried'] ?? 0) + (report.figures['inputs skipped'] ?? 0)).toBe(
      eligible.length,
    );
    expect(report.figures['case rows by the byte path'], report.notes.join('\n')).toBeGreaterThan(0);
    expect(report.rowsLost).toBe(0);
  });

  for (const [name, bug] of Object.entries(BEHIND_SAMPLE_BUGS)) {
    test.fails(`known bug behind the sample: ${name} (${bug})`, { timeout: 60_000 }, async () => {
      const report = await corpusSuite({ destination, behindSample: true, only: [name] });
      expect(report.violations).toEqual([]);
    });
  }
});
