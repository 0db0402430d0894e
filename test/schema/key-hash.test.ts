/**
 * The key hash is the same whichever path encoded a row (src/core/key-hash.ts): the pass-through
 * hashes a field's bytes between its quotes, a mapped row its canonical text. If the two differed,
 * a key repeated in a Postgres direct window would go unseen and stay twice until settle.
 */
import { describe, expect, it } from 'vitest';
import {
  KeyHashSet,
  keyHashAdd,
  keyHashEnd,
  keyHashOfValues,
  keyHashStart,
} from '../../src/core/key-hash.js';
import { CsvByteScanner } from '../../src/http/csv-scan.js';

/** The hash of the first `n` fields of a CSV record line, as the pass-through writer takes it. */
function lineHash(line: string, n = 1): number {
  const s = new CsvByteScanner();
  s.push(Buffer.from(`${line}\n`));
  expect(s.next(true)).toBe(true);
  const l = keyHashStart();
  for (let j = 0; j < n; j++) keyHashAdd(l, s.buf, s.starts[j]!, s.ends[j]!, s.quoted[j] === 1);
  return keyHashEnd(l);
}

describe('key hash', () => {
  it('quoted and unquoted fields, doubled quotes and non-ASCII keys hash as their values do', () => {
    expect(lineHash('abc,1')).toBe(keyHashOfValues(['abc']));
    expect(lineHash('"abc",1')).toBe(keyHashOfValues(['abc']));
    expect(lineHash('"a""b",1')).toBe(keyHashOfValues(['a"b']));
    expect(lineHash('"a,b",1')).toBe(keyHashOfValues(['a,b']));
    expect(lineHash('東京-ü,1')).toBe(keyHashOfValues(['東京-ü']));
  });

  it('a composite key hashes each part apart: ("a","bc") is not ("ab","c")', () => {
    expect(lineHash('a,bc', 2)).toBe(keyHashOfValues(['a', 'bc']));
    expect(keyHashOfValues(['a', 'bc'])).not.toBe(keyHashOfValues(['ab', 'c']));
  });

  it('different keys hash apart (100,000 UUID-like keys, no collision) and a missing part gives null', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++)
      seen.add(keyHashOfValues([`333b5e62-5126-4841-a60e-${String(i).padStart(12, '0')}`])!);
    expect(seen.size).toBe(100_000);
    expect(keyHashOfValues(['a', null])).toBeNull();
  });
});

describe('KeyHashSet', () => {
  it('says whether a hash was there, through growth, 0 included', () => {
    const set = new KeyHashSet();
    for (let i = 0; i < 50_000; i++) expect(set.add(keyHashOfValues([`k${i}`])!)).toBe(true);
    for (let i = 0; i < 50_000; i += 997) expect(set.add(keyHashOfValues([`k${i}`])!)).toBe(false);
    expect(set.add(0)).toBe(true);
    expect(set.add(0)).toBe(false);
    expect(set.add(2 ** 52 + 3)).toBe(true);
    expect(set.add(2 ** 52 + 3)).toBe(false);
  });
});
