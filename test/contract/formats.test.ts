import { describe, expect, it } from 'vitest';
import { formatTimestamp, midnightDate, temporalFormat } from '../../src/contract/formats.js';
import { parseTimestamp } from '../../src/schema/temporal.js';

describe('temporal formats', () => {
  it('names the shape of a value without its digits', () => {
    expect(temporalFormat('2025-10-01T12:34:56.789Z')).toBe('YYYY-MM-DDTHH:MM:SS.sssZ');
    expect(temporalFormat('2025-10-01 12:34:56')).toBe('YYYY-MM-DD HH:MM:SS');
    expect(temporalFormat('2025-10-01T12:34:56+02:00')).toBe('YYYY-MM-DDTHH:MM:SS±HH:MM');
    expect(temporalFormat('2025-10-01 12:34:56 UTC')).toBe('YYYY-MM-DD HH:MM:SS UTC');
    expect(temporalFormat('2025-10-01')).toBe('YYYY-MM-DD');
    expect(temporalFormat('1759322096')).toBe('epoch-seconds');
    expect(temporalFormat('1759322096789')).toBe('epoch-millis');
    expect(temporalFormat('10/01/2025 12:34')).toBe('other(99/99/9999 99:99)');
    expect(temporalFormat('acme/cli')).toBeNull();
  });

  it('writes every named format so that it reads back as the same instant (to its precision)', () => {
    const ms = Date.parse('2025-10-01T12:34:56.789Z');
    for (const format of [
      'YYYY-MM-DDTHH:MM:SS.sssZ',
      'YYYY-MM-DDTHH:MM:SSZ',
      'YYYY-MM-DD HH:MM:SS',
      'YYYY-MM-DD HH:MM:SS.sss',
      'YYYY-MM-DDTHH:MM:SS±HH:MM',
      'YYYY-MM-DD HH:MM:SS UTC',
    ]) {
      const text = formatTimestamp(ms, format);
      expect(temporalFormat(text), text).toBe(format);
      expect(parseTimestamp(text)?.slice(0, 19), text).toBe('2025-10-01T12:34:56');
    }
    expect(formatTimestamp(ms, 'epoch-seconds')).toBe('1759322096');
    expect(() => formatTimestamp(ms, 'DD.MM.YYYY')).toThrow(/cannot write/);
  });

  it('reads a date sent with a midnight time as the date, and nothing else', () => {
    expect(midnightDate('2024-01-15')).toBe('2024-01-15');
    expect(midnightDate('2024-01-15T00:00:00Z')).toBe('2024-01-15');
    expect(midnightDate('2024-01-15 00:00:00.000')).toBe('2024-01-15');
    expect(midnightDate('2024-01-15T00:00:00+02:00')).toBe('2024-01-15');
    expect(midnightDate('2024-01-15T00:00')).toBe('2024-01-15');
    expect(midnightDate('2024-01-15T10:00:00Z')).toBeUndefined();
    expect(midnightDate('2024-01-15T00:00:01Z')).toBeUndefined();
    expect(midnightDate('15.01.2024')).toBeUndefined();
  });
});
