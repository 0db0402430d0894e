/**
 * The end-date probe of `check --contract`: three reads of the same stream through its connector,
 * for two adjacent one-day windows D and D+1 and for the two-day window D..D+1. Under the
 * contract's semantics the one-day windows return rows dated their own day only, never a key in
 * both, and together what the two-day window returns. Two ways it can break:
 *  - the windows overlap (window D returns rows dated D+1, keys come in both): the end bound
 *    includes a day the connector meant to exclude, so every boundary day is fetched twice
 *    (a replace_window stream loads it twice);
 *  - a one-day window comes back empty while the two-day window has rows of that day (or the
 *    two-day window lacks its last day): the end bound excludes its day, so every window loses
 *    its last day, silently — an empty day looks like a quiet day.
 * Both are corrupting. No rows on either day is `could not tell`.
 */
import type { RecordBatch, StreamContract } from '../core/contracts.js';
import { canonicalize } from '../schema/types.js';
import type { PointVerdict } from './compare.js';
import { midnightDate } from './formats.js';
import { contractFieldOf } from './shape.js';
import { asSourceContract } from './types.js';

export interface ProbeSample {
  records: number;
  /** Key of every record (key fields' values, or the whole record for a keyless stream). */
  keys: Set<string>;
  /** UTC day of the cursor → records. */
  days: Map<string, number>;
  /** Stopped reading at the cap: an overlap may be missed, never invented. */
  truncated: boolean;
}

export function emptySample(): ProbeSample {
  return { records: 0, keys: new Set(), days: new Map(), truncated: false };
}

/** Adds a batch to a sample (key and cursor located by contract name, case-insensitively). */
export function addToSample(sample: ProbeSample, contract: StreamContract, batch: RecordBatch): void {
  const c = asSourceContract(contract);
  const at = (name: string): number => batch.fields.findIndex((f) => contractFieldOf(contract, f) === name);
  const keyAt = contract.key.value.map(at);
  const cursorName = c.cursor?.value;
  const cursorAt = cursorName === undefined ? -1 : at(cursorName);
  const cursorType = cursorName === undefined ? undefined : contract.fields[cursorName]?.value;
  for (const record of batch.records) {
    sample.records++;
    const key = keyAt.length > 0 && keyAt.every((i) => i >= 0) ? keyAt.map((i) => record[i]) : record;
    sample.keys.add(JSON.stringify(key));
    if (cursorAt >= 0 && cursorType) {
      const v = record[cursorAt];
      let canonical = canonicalize(cursorType, v);
      if (canonical === undefined && cursorType === 'date' && typeof v === 'string')
        canonical = midnightDate(v);
      if (typeof canonical === 'string') {
        const day = canonical.slice(0, 10);
        sample.days.set(day, (sample.days.get(day) ?? 0) + 1);
      }
    }
  }
}

const rows = (n: number): string => `${n} row${n === 1 ? '' : 's'}`;

export function endDateVerdict(
  contract: StreamContract,
  day1: string,
  day2: string,
  w1: ProbeSample,
  w2: ProbeSample,
  both: ProbeSample,
): PointVerdict {
  const c = asSourceContract(contract);
  const base = {
    point: 'end date',
    ...(contract.endInclusive
      ? {
          expected: contract.endInclusive.value ? 'inclusive' : 'exclusive',
          status: contract.endInclusive.status,
          source: contract.endInclusive.source,
        }
      : {}),
  };
  if (!contract.endInclusive || !c.cursor) {
    return {
      ...base,
      verdict: 'could not tell',
      corrupting: false,
      message: 'the stream takes no date range',
    };
  }
  const dated = (x: ProbeSample): number => [...x.days.values()].reduce((a, b) => a + b, 0);
  if (dated(w1) + dated(w2) + dated(both) === 0 && w1.records + w2.records + both.records > 0) {
    return {
      ...base,
      verdict: 'could not tell',
      corrupting: false,
      message: `no row carries a readable ${c.cursor.value} (see its field verdict)`,
    };
  }
  const shared = [...w1.keys].filter((k) => w2.keys.has(k)).length;
  const late = w1.days.get(day2) ?? 0;
  if (late > 0) {
    return {
      ...base,
      verdict: 'differs',
      corrupting: true,
      message:
        `adjacent one-day windows overlap: the window for ${day1} returned ${rows(late)} dated ${day2}` +
        `${shared > 0 ? ` (${shared} key(s) came in both windows)` : ''}; the end date includes a day the connector ` +
        'meant to exclude, every boundary day would be fetched twice (doubled in replace_window streams)',
    };
  }
  const inBoth1 = both.days.get(day1) ?? 0;
  const inBoth2 = both.days.get(day2) ?? 0;
  if (w1.records === 0 && inBoth1 > 0) {
    return {
      ...base,
      verdict: 'differs',
      corrupting: true,
      message: `the one-day window ${day1} returned nothing, but ${day1}..${day2} returned ${rows(inBoth1)} dated ${day1}: the end date excludes its day, every window would lose its last day`,
    };
  }
  if (w2.records > 0 && inBoth2 === 0 && !both.truncated) {
    return {
      ...base,
      verdict: 'differs',
      corrupting: true,
      message: `${day1}..${day2} returned no row dated ${day2}, but the one-day window ${day2} returned ${rows(w2.records)}: the end date excludes its day, every window would lose its last day`,
    };
  }
  if (w1.records > 0 && w2.records > 0 && shared > 0) {
    return {
      ...base,
      verdict: 'differs',
      corrupting: false,
      message: `${shared} key(s) came in both windows ${day1} and ${day2}, none dated ${day2} in the first: the source repeats rows across days (at-least-once); the merge on the key keeps one`,
    };
  }
  if (w1.records > 0 && w2.records > 0) {
    return {
      ...base,
      verdict: 'ok',
      corrupting: false,
      message: `windows ${day1} and ${day2}: ${rows(w1.records)} and ${rows(w2.records)}, each dated its own day, no key in both${
        w1.truncated || w2.truncated ? ' (sample capped)' : ''
      }`,
    };
  }
  return {
    ...base,
    verdict: 'could not tell',
    corrupting: false,
    message: `too few rows on ${day1} and ${day2} (${rows(w1.records)}, ${rows(w2.records)}; two-day window ${rows(both.records)})`,
  };
}
