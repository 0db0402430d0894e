/**
 * The byte canonicalizers against the string path, which is the authority: for large generated
 * corpora of near-valid and invalid text, whenever a byte function accepts a value, its bytes must
 * be exactly what the mapper would write (canonicalize, plus no widening for dynamic columns),
 * and a refusal must leave the sink untouched. The corpora are seeded, so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import type { LogicalType } from '../../src/core/contracts.js';
import { ByteBuffer } from '../../src/core/bytes.js';
import {
  dynamicByteCanonicalizer,
  fixedByteCanonicalizer,
  type ByteCanonicalizer,
} from '../../src/schema/canonical-bytes.js';
import { canonicalize, inferType, widen } from '../../src/schema/types.js';
import { rng as prng } from '../support/rng.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
const digits = (r: Rand, n: number): string => Array.from({ length: n }, () => String(int(r, 10))).join('');

/** Bytes a buggy parser would happily read past its range: they extend or change any value. */
const NEIGHBOURS = [
  '',
  '0',
  '9',
  '5',
  '-',
  '+',
  ':',
  '.',
  'Z',
  'z',
  ' ',
  'e',
  '1',
  '+05:30',
  '.123',
  'T10',
  'x',
];

interface Outcome {
  ok: boolean;
  text: string | null;
}

/**
 * Runs `fn` on `text` embedded between neighbour bytes, in a sink that already holds bytes, and
 * checks the sink contract (throws when broken): src untouched, on false nothing appended, on
 * true the appended bytes are valid UTF-8 (returned as text).
 */
function apply(fn: ByteCanonicalizer, text: string, r: Rand, sink = new ByteBuffer(8)): Outcome {
  const before = enc.encode(pick(r, NEIGHBOURS));
  const body = enc.encode(text);
  const after = enc.encode(pick(r, NEIGHBOURS));
  const src = new Uint8Array(before.length + body.length + after.length);
  src.set(before, 0);
  src.set(body, before.length);
  src.set(after, before.length + body.length);
  const srcCopy = src.slice();
  sink.length = 0;
  sink.reserve(PREFIX.length).set(PREFIX, 0);
  sink.length = PREFIX.length;
  const ok = fn(src, before.length, before.length + body.length, sink);
  if (Buffer.compare(src, srcCopy) !== 0) throw new Error(`src changed for ${JSON.stringify(text)}`);
  const all = sink.take();
  if (Buffer.compare(all.subarray(0, PREFIX.length), PREFIX) !== 0)
    throw new Error(`bytes before out.length changed for ${JSON.stringify(text)}`);
  if (!ok) {
    if (all.length !== PREFIX.length) throw new Error(`refused ${JSON.stringify(text)} but appended`);
    return { ok, text: null };
  }
  return { ok, text: dec.decode(all.subarray(PREFIX.length)) };
}

const PREFIX = enc.encode('prefix,');

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

// ───────────────────────────── corpora ─────────────────────────────

const YEARS = [
  '0000',
  '0001',
  '0099',
  '0100',
  '1899',
  '1900',
  '1970',
  '1999',
  '2000',
  '2023',
  '2024',
  '2100',
  '9999',
];
const BAD_YEARS = ['999', '10000', '+2024', '-2024', '2O24', '２０２４'];
const MONTHS = ['00', '01', '02', '03', '04', '06', '09', '10', '11', '12', '13', '1', '99'];
const DAYS = ['00', '01', '09', '15', '28', '29', '30', '31', '32', '1', '3'];
const HOURS = ['00', '01', '09', '12', '23', '24', '99', '1'];
const MINUTES = ['00', '30', '59', '60', '5'];
const SECONDS = ['00', '07', '59', '60', '61', '1'];
const SEPS = ['T', 'T', 'T', ' ', 't', '_', '  '];
const ZONES = [
  ...['', '', 'Z', 'Z', 'z', '+00:00', '+00', '+0000', '-00:00', '-00', '-0000', ' +00:00', ' UTC'],
  ...['+05:30', '-08:00', '+14:00', '-12:00', '+23:59', '-23:59', '+24:00', '+05:60', '-0800', '+0530'],
  ...['+05', '-03', ' -08:00', '+5', '+05:3', '+05:300', '+0530 ', ' ', ' Z', 'Z ', 'ZZ', 'UTC', ' utc'],
  ...[' UTC ', 'GMT', '+05:30Z', '−05:00', '+٠٥:٠٠', ':', '+', '-'],
];

function fraction(r: Rand): string {
  const k = int(r, 12);
  if (k === 10) return '.';
  if (k === 11) return '';
  const zeros = r() < 0.4 ? int(r, k + 1) : 0; // trailing zeros, so 7–9 digits sometimes fit
  return `.${digits(r, k - zeros)}${'0'.repeat(zeros)}`;
}

function dateText(r: Rand): string {
  const y = r() < 0.95 ? pick(r, YEARS) : pick(r, BAD_YEARS);
  return `${y}-${pick(r, MONTHS)}-${pick(r, DAYS)}`;
}

function validDate(r: Rand): string {
  const y = 1 + int(r, 9999);
  const m = 1 + int(r, 12);
  const d = 1 + int(r, 28);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

const EDGE_DAYS = ['01-01', '12-31', '02-28', '02-29', '03-01', '04-30', '05-01', '01-31', '02-01'];
const GOOD_ZONES = ['', 'Z', 'z', '+00:00', '+00', '+0000', ' UTC', '+05:30', '-08:00', ' -0330', '+14'];

/** A timestamp the string path accepts unless the offset crosses year 1 or 9999 (or a 7th+ digit). */
function validTimestamp(r: Rand): string {
  const two = (n: number): string => String(int(r, n)).padStart(2, '0');
  // A third at the edge of a day, so that offsets move the date across month and year ends.
  const edge = r() < 0.33;
  const time = `${edge ? pick(r, ['00', '01', '22', '23']) : two(24)}:${two(60)}:${two(60)}`;
  const frac = r() < 0.5 ? fraction(r) : '';
  const date = edge ? `${pick(r, YEARS)}-${pick(r, EDGE_DAYS)}` : validDate(r);
  return `${date}${pick(r, ['T', ' '])}${time}${frac}${pick(r, GOOD_ZONES)}`;
}

function timestampText(r: Rand): string {
  if (r() < 0.5) return validTimestamp(r);
  const date = r() < 0.5 ? dateText(r) : validDate(r);
  if (r() < 0.05) return date;
  const time = `${pick(r, HOURS)}:${pick(r, MINUTES)}:${pick(r, SECONDS)}`;
  const frac = r() < 0.6 ? fraction(r) : '';
  return `${date}${pick(r, SEPS)}${time}${frac}${pick(r, ZONES)}`;
}

const MUTANTS = ['0', '9', '-', '+', ':', '.', 'T', 'Z', ' ', 'é', '"', ',', '\u00a0', '１', 'e'];

/** One random edit (replace, insert or delete a character), or the text unchanged. */
function mutate(r: Rand, s: string): string {
  const k = int(r, 4);
  const i = int(r, s.length + 1);
  if (k === 0) return s.slice(0, i) + pick(r, MUTANTS) + s.slice(i + 1);
  if (k === 1) return s.slice(0, i) + pick(r, MUTANTS) + s.slice(i);
  if (k === 2 && s.length > 1) return s.slice(0, i) + s.slice(i + 1);
  return s;
}

const NUMBER_EDGES = [
  ...['0', '-0', '+0', '00', '-00', '007', '-007', '+7', '1', '-1', '42', '1.', '.5', '-.5', '+.5', '1e3'],
  ...[
    '1E3',
    '1.5e-7',
    '-0.0',
    '0.0',
    '0.10',
    '1.50',
    '-0.5',
    '00.5',
    '01.5',
    '-01.5',
    '+1.5',
    '1..5',
    '1.5.',
  ],
  ...['9223372036854775807', '-9223372036854775807', '9223372036854775808', '-9223372036854775808'],
  ...['-9223372036854775809', '09223372036854775807', '-09223372036854775808', '+9223372036854775807'],
  ...['9999999999999999999', '10000000000000000000', '99999999999999999999', '12345678901234567890'],
  ...['000000000000000000000000001', '-', '+', '--1', '+-1', '-+1', ' 1', '1 ', '1,000', '1_000', '١٢'],
  ...['NaN', 'Infinity', '0x10', '１２', '"1"', '1"', '9223372036854775807.0', 'true'],
];

function numberText(r: Rand): string {
  const sign = pick(r, ['', '', '', '-', '-', '+', '--', ' ']);
  const zeros = r() < 0.15 ? '0'.repeat(1 + int(r, 3)) : '';
  const n = r() < 0.2 ? 17 + int(r, 5) : 1 + int(r, 8);
  let s = `${sign}${zeros}${digits(r, n)}`;
  if (r() < 0.35) s += `.${digits(r, int(r, 4))}`;
  if (r() < 0.05) s += `e${pick(r, ['', '-', '+'])}${digits(r, int(r, 3))}`;
  return r() < 0.2 ? mutate(r, s) : s;
}

function booleanText(r: Rand): string {
  const word = pick(r, ['true', 'false', 'true', 'false', 't', 'f', 'yes', 'no', '1', '0', 'tru', 'falsee']);
  const cased = [...word].map((c) => (r() < 0.3 ? c.toUpperCase() : c)).join('');
  return r() < 0.15 ? mutate(r, cased) : cased;
}

function stringText(r: Rand): string {
  const alphabet = ['a', 'Z', ' ', ',', '"', '""', '\n', '\r', 'é', '€', '😀', '\u00a0', '0', '-', ';', '\\'];
  return Array.from({ length: 1 + int(r, 12) }, () => pick(r, alphabet)).join('');
}

function corpus(type: LogicalType, seed: number, size: number): string[] {
  const r = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < size; i++) {
    if (type === 'timestamp' || type === 'date') {
      const base = type === 'date' && r() < 0.5 ? dateText(r) : timestampText(r);
      out.push(r() < 0.25 ? mutate(r, base) : base);
    } else if (type === 'boolean') out.push(booleanText(r));
    else if (type === 'string') out.push(stringText(r));
    else out.push(r() < 0.1 ? pick(r, NUMBER_EDGES) : numberText(r));
  }
  // Every type also meets every other type's text: dates in integer columns, numbers in date ones.
  out.push(...NUMBER_EDGES, 'true', 'FALSE', '2024-02-29', '2024-01-01T00:00:00Z', 'hello', '{"a":1}');
  return out.filter((s) => s !== '');
}

const CORPUS_SIZE = 30_000;
const TYPES: LogicalType[] = ['string', 'boolean', 'integer', 'decimal', 'date', 'timestamp'];

/** Every type's text, for columns that meet values of another type. */
const MIXED = TYPES.flatMap((t, i) => corpus(t, 500 + i, 3_000));

/**
 * Where the byte path mirrors the string path completely, it must accept every value the string
 * path accepts (a fast path that misses common values is useless): all of it, except decimals
 * with an exponent and booleans outside ASCII.
 */
function fixedShouldHit(type: LogicalType, text: string, want: string | null | undefined): boolean {
  if (typeof want !== 'string') return false;
  if (type === 'decimal') return !/[eE]/.test(text);
  if (type === 'boolean') return isAscii(text);
  return true;
}

function describeFailures(failures: string[]): string {
  return `${failures.length} disagreements, first: ${failures.slice(0, 10).join(' | ')}`;
}

describe('fixedByteCanonicalizer (dictionary columns) against canonicalize', () => {
  TYPES.forEach((type, n) => {
    it(`${type}: appends exactly canonicalize(type, text) or refuses, on a generated corpus`, () => {
      const fn = fixedByteCanonicalizer(type) as ByteCanonicalizer;
      expect(fn).not.toBeNull();
      const r = prng(42 + n);
      const failures: string[] = [];
      let hits = 0;
      let refusals = 0;
      const texts = [...corpus(type, 1000 + n, CORPUS_SIZE), ...MIXED];
      for (const text of texts) {
        const got = apply(fn, text, r);
        const want = canonicalize(type, text);
        if (got.ok && got.text !== want)
          failures.push(
            `${JSON.stringify(text)} → ${JSON.stringify(got.text)}, want ${JSON.stringify(want)}`,
          );
        if (got.ok !== fixedShouldHit(type, text, want))
          failures.push(`${JSON.stringify(text)}: ok=${got.ok}, string path gives ${JSON.stringify(want)}`);
        if (got.ok) hits++;
        else refusals++;
      }
      expect(failures, describeFailures(failures)).toEqual([]);
      // The corpus must exercise both sides, or the comparison proves nothing.
      expect(hits).toBeGreaterThan(texts.length / 10);
      if (type !== 'string') expect(refusals).toBeGreaterThan(texts.length / 10);
    });
  });

  it('has no fast path for float and json', () => {
    expect(fixedByteCanonicalizer('float')).toBeNull();
    expect(fixedByteCanonicalizer('json')).toBeNull();
  });
});

describe('dynamicByteCanonicalizer (inferred columns) against inferType + widen + canonicalize', () => {
  TYPES.forEach((type, n) => {
    it(`${type}: accepts only values that keep the column ${type}, with canonicalize's text`, () => {
      const fn = dynamicByteCanonicalizer(type) as ByteCanonicalizer;
      expect(fn).not.toBeNull();
      const r = prng(77 + n);
      const failures: string[] = [];
      let hits = 0;
      const texts = [...corpus(type, 2000 + n, CORPUS_SIZE), ...MIXED];
      for (const text of texts) {
        const got = apply(fn, text, r);
        const keeps = widen(type, inferType(text)) === type;
        const want = canonicalize(type, text);
        if (got.ok && !keeps) failures.push(`${JSON.stringify(text)} accepted but widens the column`);
        if (got.ok && got.text !== want)
          failures.push(
            `${JSON.stringify(text)} → ${JSON.stringify(got.text)}, want ${JSON.stringify(want)}`,
          );
        // Dynamic inference only keeps canonical shapes, which the byte path mirrors completely.
        if (got.ok !== (keeps && typeof want === 'string'))
          failures.push(
            `${JSON.stringify(text)}: ok=${got.ok}, keeps=${keeps}, want ${JSON.stringify(want)}`,
          );
        if (got.ok) hits++;
      }
      expect(failures, describeFailures(failures)).toEqual([]);
      expect(hits).toBeGreaterThan(1000);
    });
  });

  it('has no fast path for float and json (text never keeps such a column)', () => {
    expect(dynamicByteCanonicalizer('float')).toBeNull();
    expect(dynamicByteCanonicalizer('json')).toBeNull();
  });
});

/** Runs a canonicalizer on a lone value; the output, or null when refused. */
function once(fn: ByteCanonicalizer | null, text: string): string | null {
  const got = apply(fn as ByteCanonicalizer, text, () => 0); // neighbours: none
  return got.text;
}

describe('the fast path hits the common export forms', () => {
  const ts = fixedByteCanonicalizer('timestamp');
  it.each([
    ['2024-01-15T10:20:30', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15 10:20:30', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30Z', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30z', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30+00:00', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30+00', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30+0000', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15 10:20:30 UTC', '2024-01-15T10:20:30.000000Z'],
    ['2024-01-15T10:20:30.5Z', '2024-01-15T10:20:30.500000Z'],
    ['2024-01-15T10:20:30.123Z', '2024-01-15T10:20:30.123000Z'],
    ['2024-01-15T10:20:30.123456Z', '2024-01-15T10:20:30.123456Z'],
    ['2024-01-15 10:20:30.123456789', null],
    ['2024-01-15 10:20:30.123456000', '2024-01-15T10:20:30.123456Z'],
    ['2024-01-15T10:20:30.1+05:30', '2024-01-15T04:50:30.100000Z'],
    ['2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00.000000Z'],
    ['2023-12-31T23:59:59-0001', '2024-01-01T00:00:59.000000Z'],
    ['2024-12-31T20:00:00-05:00', '2025-01-01T01:00:00.000000Z'],
    ['2025-01-01T01:00:00+05:00', '2024-12-31T20:00:00.000000Z'],
    ['2024-03-01T01:00:00+02', '2024-02-29T23:00:00.000000Z'],
    ['2023-03-01 01:00:00 +0200', '2023-02-28T23:00:00.000000Z'],
    ['1900-02-28T23:00:00-01:00', '1900-03-01T00:00:00.000000Z'],
    ['2000-01-01T00:00:00+00:01', '1999-12-31T23:59:00.000000Z'],
    ['2024-04-30T23:59:59.999999-00:01', '2024-05-01T00:00:59.999999Z'],
    ['2024-01-15', '2024-01-15T00:00:00.000000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['0001-01-01T00:00:00+00:01', null],
    ['9999-12-31T23:59:59-00:01', null],
    ['2024-01-15T10:20:60Z', null],
    ['2023-02-29T00:00:00Z', null],
  ])('timestamp %s → %s', (text, want) => {
    expect(once(ts, text)).toBe(want);
    expect(canonicalize('timestamp', text) ?? null).toBe(want);
  });

  it.each([
    ['date', '2024-02-29', '2024-02-29'],
    ['date', '2000-02-29', '2000-02-29'],
    ['date', '1900-02-29', null],
    ['date', '2023-02-29', null],
    ['date', '0000-01-01', null],
    ['date', '0001-01-01', '0001-01-01'],
    ['date', '9999-12-31', '9999-12-31'],
    ['boolean', 'true', 'true'],
    ['boolean', 'false', 'false'],
    ['boolean', 'TRUE', 'true'],
    ['boolean', 'True', 'true'],
    ['boolean', 'FALSE', 'false'],
    ['boolean', 't', null],
    ['boolean', '1', null],
    ['integer', '0', '0'],
    ['integer', '42', '42'],
    ['integer', '-42', '-42'],
    ['integer', '9223372036854775807', '9223372036854775807'],
    ['integer', '-9223372036854775808', '-9223372036854775808'],
    ['integer', '+7', '7'],
    ['integer', '007', '7'],
    ['integer', '-0', '0'],
    ['integer', '9223372036854775808', null],
    ['integer', '1.0', null],
    ['decimal', '1.50', '1.50'],
    ['decimal', '-0.5', '-0.5'],
    ['decimal', '42', '42'],
    ['decimal', '+1.5', '1.5'],
    ['decimal', '007', '007'],
    ['decimal', '12345678901234567890.5', '12345678901234567890.5'],
    ['decimal', '.5', null],
    ['decimal', '1.', null],
    ['decimal', '1e3', null], // the string path expands it: slow path
    ['string', 'héllo, "wörld" 😀', 'héllo, "wörld" 😀'],
  ] as Array<[LogicalType, string, string | null]>)('%s %s → %s', (type, text, want) => {
    expect(once(fixedByteCanonicalizer(type), text)).toBe(want);
    if (want !== null) expect(canonicalize(type, text)).toBe(want);
  });

  it.each([
    ['boolean', 'true', 'true'],
    ['boolean', 'TRUE', null],
    ['boolean', '1', null],
    ['integer', '42', '42'],
    ['integer', '-9223372036854775808', '-9223372036854775808'],
    ['integer', '-0', null],
    ['integer', '007', null],
    ['integer', '1.5', null],
    ['integer', '9223372036854775808', null],
    ['decimal', '42', '42'],
    ['decimal', '1.50', '1.50'],
    ['decimal', '-0.0', '-0.0'],
    ['decimal', '99999999999999999999', '99999999999999999999'],
    ['decimal', '007', null],
    ['decimal', '+1', null],
    ['decimal', 'true', null],
    ['date', '2024-02-29', '2024-02-29'],
    ['date', '2024-02-29T00:00:00Z', null],
    ['timestamp', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00.000000Z'],
    ['timestamp', '2024-01-01T10:00:00.5+05:30', '2024-01-01T04:30:00.500000Z'],
    ['timestamp', '2024-01-01 10:00:00Z', null],
    ['timestamp', '2024-01-01T10:00:00', null],
    ['timestamp', '2024-01-01T10:00:00z', null],
    ['timestamp', '2024-01-01', null],
    ['string', '007', '007'],
  ] as Array<[LogicalType, string, string | null]>)('dynamic %s %s → %s', (type, text, want) => {
    expect(once(dynamicByteCanonicalizer(type), text)).toBe(want);
  });
});

describe('src offsets', () => {
  /** src = before + value + after; the range covers only the value. */
  function inRange(
    fn: ByteCanonicalizer | null,
    before: string,
    value: string,
    after: string,
  ): string | null {
    const a = enc.encode(before);
    const v = enc.encode(value);
    const src = enc.encode(before + value + after);
    const out = new ByteBuffer(4);
    return (fn as ByteCanonicalizer)(src, a.length, a.length + v.length, out) ? dec.decode(out.take()) : null;
  }

  it.each([
    ['timestamp', '99', '2024-01-15T10:20:30', '.5+05:30', '2024-01-15T10:20:30.000000Z'],
    ['timestamp', '', '2024-01-15T10:20:30.12', '3456Z', '2024-01-15T10:20:30.120000Z'],
    ['timestamp', 'x', '2024-01-15', 'T10:20:30Z', '2024-01-15T00:00:00.000000Z'],
    ['timestamp', '', '2024-01-15T10:20:30 ', '+05:30', null],
    ['timestamp', '', '2024-01-15T10:20:30+', '05:30', null],
    ['timestamp', '', '2024-01-15T10:20:30.', '5', null],
    ['date', '1', '2024-02-29', 'T00', '2024-02-29'],
    ['date', '', '2024-02-2', '9', null],
    ['integer', '-', '12', '345', '12'],
    ['integer', '1', '9223372036854775807', '9', '9223372036854775807'],
    ['decimal', '-', '1.5', '0e3', '1.5'],
    ['decimal', '', '1.', '5', null],
    ['boolean', 'x', 'TRUE', 'x', 'true'],
    ['boolean', '', 'tru', 'e', null],
    ['string', 'ab', 'c,d', 'ef', 'c,d'],
  ] as Array<[LogicalType, string, string, string, string | null]>)(
    '%s reads only its range: %j [%j] %j',
    (type, before, value, after, want) => {
      expect(inRange(fixedByteCanonicalizer(type), before, value, after)).toBe(want);
    },
  );

  it.each([
    ['timestamp', '', '2024-01-15T10:20:30', 'Z', null],
    ['timestamp', '', '2024-01-15T10:20:30+05:3', '0', null],
    ['integer', '0', '7', '', '7'],
    ['integer', '', '7', '.5', '7'],
    ['decimal', '', '0', '7', '0'],
    ['boolean', '', 'true', 'x', 'true'],
  ] as Array<[LogicalType, string, string, string, string | null]>)(
    'dynamic %s reads only its range: %j [%j] %j',
    (type, before, value, after, want) => {
      expect(inRange(dynamicByteCanonicalizer(type), before, value, after)).toBe(want);
    },
  );

  it('appends at out.length while the sink grows and moves', () => {
    const r = prng(3);
    const fn = fixedByteCanonicalizer('timestamp') as ByteCanonicalizer;
    const out = new ByteBuffer(1);
    let want = '';
    for (let i = 0; i < 2_000; i++) {
      const text = timestampText(r);
      const src = enc.encode(`,${text},`);
      const c = canonicalize('timestamp', text);
      expect(fn(src, 1, src.length - 1, out)).toBe(typeof c === 'string');
      if (typeof c === 'string') want += c;
    }
    expect(dec.decode(out.take())).toBe(want);
  });
});
