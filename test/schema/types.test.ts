import { describe, expect, it } from 'vitest';
import type { LogicalType } from '../../src/core/contracts.js';
import { canonicalize, inferType, widen } from '../../src/schema/types.js';

const ALL: LogicalType[] = ['boolean', 'integer', 'decimal', 'float', 'string', 'timestamp', 'date', 'json'];

describe('inferType', () => {
  it.each([
    [true, 'boolean'],
    ['true', 'boolean'],
    ['false', 'boolean'],
    [0, 'integer'],
    [1, 'integer'],
    ['0', 'integer'],
    ['1', 'integer'],
    ['-42', 'integer'],
    ['9223372036854775807', 'integer'],
    ['-9223372036854775808', 'integer'],
    ['9223372036854775808', 'decimal'],
    ['12345678901234567890', 'decimal'],
    [1.5, 'decimal'],
    [1e21, 'decimal'],
    ['3.14', 'decimal'],
    ['-0.5', 'decimal'],
    ['1.50', 'decimal'],
    ['2024-02-29', 'date'],
    ['2024-01-01T10:00:00Z', 'timestamp'],
    ['2024-01-01T10:00:00.123456+05:30', 'timestamp'],
    [{ a: 1 }, 'json'],
    [[1, 2], 'json'],
  ] as Array<[unknown, LogicalType]>)('%j is %s', (value, type) => {
    expect(inferType(value)).toBe(type);
  });

  // Text that a typed column would respell must stay a string: once the column widens to
  // string, the warehouse would show earlier rows as '7' instead of '007'.
  it.each([
    '007',
    '+5',
    '-0',
    '1e3',
    '1.',
    '.5',
    'TRUE',
    'True',
    'yes',
    '2023-02-29',
    '2024-01-01 10:00:00',
    '2024-01-01T10:00:00',
    '2024-01-01T10:00:00.1234567891Z',
    'NaN',
    '{"a":1}',
    ' 1',
    'abc',
  ])('keeps %j a string', (value) => {
    expect(inferType(value)).toBe('string');
  });

  it('gives no type for null, undefined and the empty string', () => {
    expect(inferType(null)).toBeNull();
    expect(inferType(undefined)).toBeNull();
    expect(inferType('')).toBeNull();
  });

  it('infers a type whose canonical form the value always has', () => {
    for (const v of [
      'true',
      '12',
      '-9223372036854775808',
      '99999999999999999999',
      '0.10',
      '2024-01-01',
      '2024-01-01T00:00:00Z',
      1.5,
      3,
      { x: 'y' },
      'hello',
    ]) {
      const t = inferType(v);
      expect(t).not.toBeNull();
      expect(canonicalize(t as LogicalType, v)).toBeTypeOf('string');
    }
  });
});

describe('widen', () => {
  it('keeps a type with itself and ignores no-information', () => {
    for (const t of ALL) {
      expect(widen(t, t)).toBe(t);
      expect(widen(t, null)).toBe(t);
    }
  });

  it('widens integer and decimal to decimal, whose text every integer already is', () => {
    expect(widen('integer', 'decimal')).toBe('decimal');
    expect(widen('decimal', 'integer')).toBe('decimal');
  });

  // boolean→integer would be the lattice neighbour, but 'true' is not integer text.
  it.each([
    ['boolean', 'integer'],
    ['boolean', 'decimal'],
    ['integer', 'boolean'],
    ['date', 'timestamp'],
    ['timestamp', 'date'],
    ['timestamp', 'integer'],
    ['json', 'integer'],
    ['float', 'integer'],
    ['string', 'boolean'],
  ] as Array<[LogicalType, LogicalType]>)('widens %s with %s straight to string', (a, b) => {
    expect(widen(a, b)).toBe('string');
  });

  it('never narrows: every widening result accepts the canonical text of both inputs', () => {
    const samples: Record<LogicalType, unknown> = {
      boolean: 'true',
      integer: '42',
      decimal: '4.20',
      float: 1.5,
      string: 'x',
      timestamp: '2024-01-01T00:00:00Z',
      date: '2024-01-01',
      json: { a: 1 },
    };
    for (const a of ALL) {
      for (const b of ALL) {
        const w = widen(a, b);
        const ta = canonicalize(a, samples[a]) as string;
        const tb = canonicalize(b, samples[b]) as string;
        expect(canonicalize(w, ta), `${a}+${b}→${w} holds ${ta}`).toBe(ta);
        expect(canonicalize(w, tb), `${a}+${b}→${w} holds ${tb}`).toBe(tb);
      }
    }
  });
});

describe('canonicalize integer', () => {
  it('takes int64 edges and refuses one past them', () => {
    expect(canonicalize('integer', '9223372036854775807')).toBe('9223372036854775807');
    expect(canonicalize('integer', '-9223372036854775808')).toBe('-9223372036854775808');
    expect(canonicalize('integer', '9223372036854775808')).toBeUndefined();
    expect(canonicalize('integer', '-9223372036854775809')).toBeUndefined();
    expect(canonicalize('integer', '12345678901234567890')).toBeUndefined();
  });

  it('keeps 2^53+1 exact', () => {
    expect(canonicalize('integer', '9007199254740993')).toBe('9007199254740993');
    expect(canonicalize('decimal', '9007199254740993')).toBe('9007199254740993');
    expect(canonicalize('string', '9007199254740993')).toBe('9007199254740993');
  });

  it('drops a plus sign and leading zeros', () => {
    expect(canonicalize('integer', '+17')).toBe('17');
    expect(canonicalize('integer', '007')).toBe('7');
    expect(canonicalize('integer', '-000')).toBe('0');
    expect(canonicalize('integer', '-007')).toBe('-7');
  });

  it('takes integral JS numbers and bigints, not fractions', () => {
    expect(canonicalize('integer', 42)).toBe('42');
    expect(canonicalize('integer', -0)).toBe('0');
    expect(canonicalize('integer', 2 ** 60)).toBe('1152921504606846976');
    expect(canonicalize('integer', 2 ** 63)).toBeUndefined();
    expect(canonicalize('integer', 1.5)).toBeUndefined();
    expect(canonicalize('integer', 123n)).toBe('123');
  });

  it('refuses non-integers, decimals and booleans', () => {
    for (const v of ['1.0', '1e3', 'abc', ' 1', '1 ', '-', '+', true, { a: 1 }])
      expect(canonicalize('integer', v)).toBeUndefined();
  });

  it('reads the empty string as NULL', () => {
    expect(canonicalize('integer', '')).toBeNull();
  });
});

describe('canonicalize decimal', () => {
  it('keeps the digits as given, without a plus sign', () => {
    expect(canonicalize('decimal', '1.50')).toBe('1.50');
    expect(canonicalize('decimal', '+1.50')).toBe('1.50');
    expect(canonicalize('decimal', '-0.000001')).toBe('-0.000001');
    expect(canonicalize('decimal', '123456789012345678901234567890.123456789')).toBe(
      '123456789012345678901234567890.123456789',
    );
  });

  it('expands exponents exactly with string arithmetic', () => {
    expect(canonicalize('decimal', '1.5e-7')).toBe('0.00000015');
    expect(canonicalize('decimal', '2E3')).toBe('2000');
    expect(canonicalize('decimal', '-1.25e1')).toBe('-12.5');
    expect(canonicalize('decimal', '12.5e+0')).toBe('12.5');
    expect(canonicalize('decimal', '9007199254740993e2')).toBe('900719925474099300');
  });

  it('refuses an exponent that would expand past the digit limit', () => {
    expect(canonicalize('decimal', '1e5000')).toBeUndefined();
    expect(canonicalize('decimal', '1e-5000')).toBeUndefined();
  });

  it('writes JS numbers as exact decimal text, never with an exponent', () => {
    expect(canonicalize('decimal', 0.1)).toBe('0.1');
    expect(canonicalize('decimal', 1e21)).toBe('1000000000000000000000');
    expect(canonicalize('decimal', 1.5e-7)).toBe('0.00000015');
    expect(canonicalize('decimal', -2.5)).toBe('-2.5');
  });

  it('refuses what is not a plain number', () => {
    for (const v of [
      '1.',
      '.5',
      '1,5',
      'NaN',
      'Infinity',
      '0x10',
      '1e',
      '1.2.3',
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]) {
      expect(canonicalize('decimal', v)).toBeUndefined();
    }
  });
});

describe('canonicalize boolean and float', () => {
  it('takes true/false in any case and JS booleans, but not 0/1', () => {
    expect(canonicalize('boolean', 'TRUE')).toBe('true');
    expect(canonicalize('boolean', 'False')).toBe('false');
    expect(canonicalize('boolean', true)).toBe('true');
    expect(canonicalize('boolean', '')).toBeNull();
    for (const v of ['1', '0', 1, 0, 't', 'yes', 'truee']) expect(canonicalize('boolean', v)).toBeUndefined();
  });

  it('takes finite numbers only as float', () => {
    expect(canonicalize('float', 1.5)).toBe('1.5');
    expect(canonicalize('float', '1.50')).toBe('1.5');
    expect(canonicalize('float', '1e300')).toBe('1e+300');
    expect(canonicalize('float', '1e999')).toBeUndefined();
    expect(canonicalize('float', Number.NaN)).toBeUndefined();
    expect(canonicalize('float', 'Infinity')).toBeUndefined();
    expect(canonicalize('float', '0x10')).toBeUndefined();
  });
});

describe('canonicalize timestamp', () => {
  it('keeps microseconds exactly and pads to six digits', () => {
    expect(canonicalize('timestamp', '2025-10-01T12:34:56.123456Z')).toBe('2025-10-01T12:34:56.123456Z');
    expect(canonicalize('timestamp', '2025-10-01T12:34:56.789Z')).toBe('2025-10-01T12:34:56.789000Z');
    expect(canonicalize('timestamp', '2025-10-01T12:34:56Z')).toBe('2025-10-01T12:34:56.000000Z');
    expect(canonicalize('timestamp', '2025-10-01T12:34:56.999999Z')).toBe('2025-10-01T12:34:56.999999Z');
  });

  it('reads a zoneless space form and a bare date as UTC', () => {
    expect(canonicalize('timestamp', '2025-10-01 12:34:56')).toBe('2025-10-01T12:34:56.000000Z');
    expect(canonicalize('timestamp', '2025-10-01 12:34:56.000001')).toBe('2025-10-01T12:34:56.000001Z');
    expect(canonicalize('timestamp', '2025-10-01')).toBe('2025-10-01T00:00:00.000000Z');
    expect(canonicalize('timestamp', '2025-10-01 12:34:56 UTC')).toBe('2025-10-01T12:34:56.000000Z');
  });

  it('converts offsets to UTC across day, month, year and leap-day boundaries', () => {
    expect(canonicalize('timestamp', '2025-10-01T05:30:00.5+05:30')).toBe('2025-10-01T00:00:00.500000Z');
    expect(canonicalize('timestamp', '2024-12-31T23:30:00.000001-01:00')).toBe('2025-01-01T00:30:00.000001Z');
    expect(canonicalize('timestamp', '2024-03-01T01:00:00+0200')).toBe('2024-02-29T23:00:00.000000Z');
    expect(canonicalize('timestamp', '2023-03-01T01:00:00+02')).toBe('2023-02-28T23:00:00.000000Z');
    expect(canonicalize('timestamp', '2025-01-01 00:00:00+00')).toBe('2025-01-01T00:00:00.000000Z');
  });

  it('keeps nanoseconds only when they are zeros, never rounds', () => {
    expect(canonicalize('timestamp', '2025-10-01T12:34:56.123456000Z')).toBe('2025-10-01T12:34:56.123456Z');
    expect(canonicalize('timestamp', '2025-10-01T12:34:56.123456789Z')).toBeUndefined();
  });

  it('refuses invalid calendar dates, times, zones and shapes', () => {
    for (const v of [
      '2023-02-29T00:00:00Z',
      '2024-02-30',
      '2025-13-01',
      '2025-00-10',
      '2025-04-31',
      '0000-01-01',
      '2025-10-01T24:00:00Z',
      '2025-10-01T12:60:00Z',
      '2025-10-01T12:00:60Z',
      '2025-10-01T12:00Z',
      '2025-10-01T12:00:00+24:00',
      '2025-10-01T12:00:00+05:3',
      '2025-10-01T12:00:00.Z',
      '2025-10-01T12:00:00ZZ',
      '2025/10/01',
      '20251001',
      'yesterday',
      1700000000,
      '0001-01-01T00:30:00+01:00',
    ]) {
      expect(canonicalize('timestamp', v), String(v)).toBeUndefined();
    }
  });

  it('takes a valid JS Date', () => {
    expect(canonicalize('timestamp', new Date(Date.UTC(2024, 1, 29, 1, 2, 3, 4)))).toBe(
      '2024-02-29T01:02:03.004000Z',
    );
    expect(canonicalize('timestamp', new Date(Number.NaN))).toBeUndefined();
  });
});

describe('canonicalize date', () => {
  it('validates the calendar', () => {
    expect(canonicalize('date', '2024-02-29')).toBe('2024-02-29');
    expect(canonicalize('date', '2000-02-29')).toBe('2000-02-29');
    expect(canonicalize('date', '1900-02-29')).toBeUndefined();
    expect(canonicalize('date', '2023-02-29')).toBeUndefined();
    expect(canonicalize('date', '2024-06-31')).toBeUndefined();
    expect(canonicalize('date', '2024-1-01')).toBeUndefined();
    expect(canonicalize('date', '2024-01-01T00:00:00Z')).toBeUndefined();
    expect(canonicalize('date', '')).toBeNull();
  });
});

describe('canonicalize json and string', () => {
  it('serialises objects and keeps JSON object/array text as given', () => {
    expect(canonicalize('json', { a: [1, 'b'] })).toBe('{"a":[1,"b"]}');
    expect(canonicalize('json', '{"big": 12345678901234567890}')).toBe('{"big": 12345678901234567890}');
    expect(canonicalize('json', '[1,2]')).toBe('[1,2]');
    expect(canonicalize('json', '{"a":')).toBeUndefined();
    expect(canonicalize('json', 'plain words')).toBeUndefined();
  });

  it('removes NUL and lone surrogates from JSON text, which jsonb rejects', () => {
    expect(canonicalize('json', { a: 'x\0y', ['k\0']: '\ud800' })).toBe('{"a":"xy","k":"\ufffd"}');
    expect(canonicalize('json', '{"a":"x\\u0000y"}')).toBe('{"a":"xy"}');
    // An escaped backslash followed by u0000 is not a NUL and survives.
    expect(JSON.parse(canonicalize('json', { a: '\\u0000' }) as string)).toEqual({ a: '\\u0000' });
  });

  it('removes NUL bytes from strings and keeps everything else', () => {
    expect(canonicalize('string', 'a\0b\0')).toBe('ab');
    expect(canonicalize('string', '')).toBe('');
    expect(canonicalize('string', 'héllo ☃ 😀')).toBe('héllo ☃ 😀');
    expect(canonicalize('string', 1e21)).toBe('1000000000000000000000');
    expect(canonicalize('string', false)).toBe('false');
    expect(canonicalize('string', { a: 1 })).toBe('{"a":1}');
  });

  it('reads the empty string as NULL for every type but string', () => {
    for (const t of ALL) expect(canonicalize(t, '')).toBe(t === 'string' ? '' : null);
  });
});
