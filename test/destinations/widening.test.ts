/**
 * The widening lattice every destination shares (src/destinations/widening.ts): the changes that
 * keep every value, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { LogicalType } from '../../src/core/contracts.js';
import { cover, isWidening } from '../../src/destinations/widening.js';

const TYPES: LogicalType[] = [
  'boolean',
  'integer',
  'decimal',
  'float',
  'string',
  'timestamp',
  'date',
  'json',
];
// the spec, restated: numbers widen up boolean → integer → decimal → float, and date → timestamp
const CHAINS = [
  ['boolean', 'integer', 'decimal', 'float'],
  ['date', 'timestamp'],
];
const ALLOWED = new Set(
  CHAINS.flatMap((c) => c.flatMap((from, i) => c.slice(i + 1).map((to) => `${from}->${to}`))),
);

describe('widening lattice', () => {
  it('every type widens to itself and to string; otherwise only the listed pairs', () => {
    for (const from of TYPES)
      for (const to of TYPES) {
        const expected = from === to || to === 'string' || ALLOWED.has(`${from}->${to}`);
        expect(isWidening(from, to), `${from}->${to}`).toBe(expected);
      }
  });

  it('narrowing is never a widening: decimal→integer, timestamp→date, string→json', () => {
    expect(isWidening('decimal', 'integer')).toBe(false);
    expect(isWidening('timestamp', 'date')).toBe(false);
    expect(isWidening('string', 'json')).toBe(false);
  });

  it('cover is the narrower of two comparable types either way round, null for incomparable ones', () => {
    expect(cover('integer', 'decimal')).toBe('decimal');
    expect(cover('decimal', 'integer')).toBe('decimal');
    expect(cover('date', 'timestamp')).toBe('timestamp');
    expect(cover('json', 'string')).toBe('string');
    expect(cover('timestamp', 'integer')).toBeNull();
  });
});
