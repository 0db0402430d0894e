import { describe, expect, it } from 'vitest';
import {
  isReservedName,
  nameHash,
  normaliseIdentifier,
  resolveColumnName,
  tableName,
} from '../../src/schema/identifiers.js';

describe('normaliseIdentifier', () => {
  it.each([
    ['fieldName', 'field_name'],
    ['userID', 'user_id'],
    ['HTTPServer', 'http_server'],
    ['origin_latitude', 'origin_latitude'],
    ['Foo', 'foo'],
    ['a-b', 'a_b'],
    ['  Spaced  Out  ', 'spaced_out'],
    ['custom_metric__active-users', 'custom_metric_active_users'],
    ['price ($)', 'price'],
    ['__private__', 'private'],
    ['café', 'cafe'],
    ['Ärger', 'arger'],
    ['1st_place', '_1st_place'],
    ['2024', '_2024'],
    ['', '_col'],
    ['名前', '_col'],
    ['!!!', '_col'],
  ])('%j → %j', (raw, expected) => {
    expect(normaliseIdentifier(raw, 63)).toBe(expected);
  });

  it('hashes a long name deterministically from the raw name, within the limit', () => {
    const raw = `instance_tag__${'very_long_tag_name_'.repeat(6)}`;
    const a = normaliseIdentifier(raw, 63);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^instance_tag_very_long_tag_name_[a-z0-9_]*_[0-9a-f]{8}$/);
    expect(a.endsWith(`_${nameHash(raw)}`)).toBe(true);
    expect(normaliseIdentifier(raw, 63)).toBe(a);
    // Two long names sharing the prefix stay distinct.
    expect(normaliseIdentifier(`${raw}x`, 63)).not.toBe(a);
  });

  it('pins the hash so names never change between releases', () => {
    expect(nameHash('Foo')).toBe('1cbec737');
  });

  it('refuses a limit too small for a hash suffix', () => {
    expect(() => normaliseIdentifier('x', 9)).toThrow(RangeError);
  });
});

describe('resolveColumnName', () => {
  it('takes the plain name when it is free', () => {
    expect(resolveColumnName('fieldName', new Set(['id']), 63)).toBe('field_name');
  });

  it('suffixes a case collision with the hash of its raw name', () => {
    const taken = new Set(['foo']);
    expect(resolveColumnName('Foo', taken, 63)).toBe(`foo_${nameHash('Foo')}`);
    expect(resolveColumnName('a-b', new Set(['a_b']), 63)).toBe(`a_b_${nameHash('a-b')}`);
    expect(taken.size).toBe(1);
  });

  it('never gives a data field an audit or _exportsync_ name', () => {
    expect(resolveColumnName('_extra', new Set(), 63)).toBe('extra');
    expect(resolveColumnName('_exportsync_run_id', new Set(), 63)).toBe('exportsync_run_id');
    expect(resolveColumnName('_EXPORTSYNC_X', new Set(), 63)).toBe('exportsync_x');
    expect(isReservedName('_extra')).toBe(true);
    expect(isReservedName('_EXPORTSYNC_loaded_at')).toBe(true);
  });

  it('resolves a second collision deterministically', () => {
    const first = `foo_${nameHash('Foo')}`;
    const n = resolveColumnName('Foo', new Set(['foo', first]), 63);
    expect(n).not.toBe(first);
    expect(n).toMatch(/^foo_[0-9a-f]{8}$/);
    expect(resolveColumnName('Foo', new Set(['foo', first]), 63)).toBe(n);
  });

  it('keeps a suffixed long name within the limit', () => {
    const raw = 'x'.repeat(100);
    const plain = normaliseIdentifier(raw, 30);
    const n = resolveColumnName(raw, new Set([plain]), 30);
    expect(n.length).toBeLessThanOrEqual(30);
    expect(n).not.toBe(plain);
  });
});

describe('tableName', () => {
  it('joins source and stream as snake_case', () => {
    expect(tableName('scarf', 'events', 63)).toBe('scarf_events');
    expect(tableName('myScarf', 'company-rollup', 63)).toBe('my_scarf_company_rollup');
    expect(tableName('2nd', 'events', 63)).toBe('_2nd_events');
  });

  it('hashes a long table name deterministically', () => {
    const t = tableName('marketplace', 'a'.repeat(80), 63);
    expect(t.length).toBeLessThanOrEqual(63);
    expect(t).toBe(tableName('marketplace', 'a'.repeat(80), 63));
    expect(t).toMatch(/^marketplace_a+_[0-9a-f]{8}$/);
  });
});
