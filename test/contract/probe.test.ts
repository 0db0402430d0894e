import { describe, expect, it } from 'vitest';
import { SCARF_CONTRACTS } from '../../connectors/scarf/contract.js';
import { addToSample, emptySample, endDateVerdict, type ProbeSample } from '../../src/contract/probe.js';
import type { RecordBatch } from '../../src/core/contracts.js';

const events = SCARF_CONTRACTS.events!;
const sample = (rows: Array<[string, string]>): ProbeSample => {
  const s = emptySample();
  const batch: RecordBatch = {
    fields: ['id', 'time'],
    records: rows.map(([id, day]) => [id, `${day}T10:00:00Z`]),
  };
  addToSample(s, events, batch);
  return s;
};
const D1 = '2025-10-01';
const D2 = '2025-10-02';

describe('end-date probe', () => {
  it('ok: each one-day window holds its own day, no key in both, together the two-day window', () => {
    const v = endDateVerdict(
      events,
      D1,
      D2,
      sample([['a', D1]]),
      sample([['b', D2]]),
      sample([
        ['a', D1],
        ['b', D2],
      ]),
    );
    expect(v).toMatchObject({ verdict: 'ok', corrupting: false, expected: 'inclusive' });
  });

  it('an end bound that includes the next day (the connector thinks it is exclusive): overlap, corrupting', () => {
    const exclusiveContract = {
      ...events,
      endInclusive: { value: false, status: 'assumed' as const, source: 'test' },
    };
    const v = endDateVerdict(
      exclusiveContract,
      D1,
      D2,
      sample([
        ['a', D1],
        ['b', D2],
      ]),
      sample([
        ['b', D2],
        ['c', '2025-10-03'],
      ]),
      sample([
        ['a', D1],
        ['b', D2],
        ['c', '2025-10-03'],
      ]),
    );
    expect(v).toMatchObject({ verdict: 'differs', corrupting: true, expected: 'exclusive' });
    expect(v.message).toBe(
      'adjacent one-day windows overlap: the window for 2025-10-01 returned 1 row dated 2025-10-02 (1 key(s) came in both windows); ' +
        'the end date includes a day the connector meant to exclude, every boundary day would be fetched twice (doubled in replace_window streams)',
    );
  });

  it('an end bound that excludes its day: the one-day window is empty, corrupting', () => {
    const v = endDateVerdict(events, D1, D2, sample([]), sample([]), sample([['a', D1]]));
    expect(v).toMatchObject({ verdict: 'differs', corrupting: true });
    expect(v.message).toMatch(/excludes its day, every window would lose its last day/);
  });

  it('keys repeated across days but dated their first day: at-least-once, tolerated', () => {
    const v = endDateVerdict(
      events,
      D1,
      D2,
      sample([['a', D1]]),
      sample([
        ['a', D1],
        ['b', D2],
      ]),
      sample([
        ['a', D1],
        ['b', D2],
      ]),
    );
    expect(v).toMatchObject({ verdict: 'differs', corrupting: false });
  });

  it('no rows on either day: could not tell', () => {
    expect(endDateVerdict(events, D1, D2, sample([]), sample([]), sample([])).verdict).toBe('could not tell');
  });

  it('a snapshot stream takes no date range: could not tell', () => {
    const v = endDateVerdict(SCARF_CONTRACTS.company_rollup!, D1, D2, sample([]), sample([]), sample([]));
    expect(v).toMatchObject({ verdict: 'could not tell', message: 'the stream takes no date range' });
  });
});
