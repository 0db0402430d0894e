import { describe, expect, it } from 'vitest';
import { advanceMark, cutWindows, planIncremental } from '../../src/engine/windows.js';
import type { StreamState } from '../../src/core/contracts.js';

const policy = { backfillDays: 31, lookbackDays: 1, windowDays: 1 };
const at = (s: string) => new Date(s);
const state = (mark: string): StreamState => ({
  version: 1,
  highWaterMark: mark,
  schemaVersion: 1,
  updatedAt: mark,
});

describe('window planning', () => {
  it('first-run-covers-exactly-the-last-31-days-including-today', () => {
    const plan = planIncremental(null, at('2026-11-25T13:00:00Z'), policy);
    expect(plan.windows).toHaveLength(31);
    expect(plan.windows[0]!.from.toISOString()).toBe('2026-10-26T00:00:00.000Z');
    expect(plan.windows.at(-1)!.to.toISOString()).toBe('2026-11-26T00:00:00.000Z');
  });

  it('later-run-starts-at-the-mark-day-minus-lookback', () => {
    const plan = planIncremental(state('2026-11-24T13:05:00.000Z'), at('2026-11-25T13:00:00Z'), policy);
    expect(plan.windows.map((w) => w.from.toISOString().slice(0, 10))).toEqual([
      '2026-11-23',
      '2026-11-24',
      '2026-11-25',
    ]);
  });

  it('zero-lookback-still-rereads-the-partial-day-of-the-mark', () => {
    const plan = planIncremental(state('2026-11-25T09:00:00.000Z'), at('2026-11-25T13:00:00Z'), {
      ...policy,
      lookbackDays: 0,
    });
    expect(plan.windows.map((w) => w.from.toISOString().slice(0, 10))).toEqual(['2026-11-25']);
  });

  it('windows-are-adjacent-half-open-and-the-last-one-is-cut-at-the-end', () => {
    const w = cutWindows(at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:00Z'), 3);
    expect(w.map((x) => [x.from.toISOString().slice(0, 10), x.to.toISOString().slice(0, 10)])).toEqual([
      ['2026-01-01', '2026-01-04'],
      ['2026-01-04', '2026-01-07'],
      ['2026-01-07', '2026-01-08'],
    ]);
  });

  it('planning-uses-utc-whatever-the-process-time-zone', () => {
    // 23:30 in UTC-5 is already the next UTC day: the window must follow UTC.
    const plan = planIncremental(null, at('2026-03-01T04:30:00Z'), { ...policy, backfillDays: 1 });
    expect(plan.windows[0]!.from.toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });
});

describe('mark', () => {
  const win = { from: at('2026-11-24T00:00:00Z'), to: at('2026-11-25T00:00:00Z') };

  it('moves-to-the-window-end-for-a-past-window', () => {
    expect(advanceMark(null, win, at('2026-11-25T10:00:00Z'))).toBe('2026-11-25T00:00:00.000Z');
  });

  it('stops-at-the-fetch-instant-for-a-window-reaching-into-the-present', () => {
    expect(advanceMark(null, win, at('2026-11-24T10:00:00Z'))).toBe('2026-11-24T10:00:00.000Z');
  });

  it('never-moves-backwards-when-an-old-window-is-reread', () => {
    expect(advanceMark('2026-11-30T00:00:00.000Z', win, at('2026-12-01T00:00:00Z'))).toBe(
      '2026-11-30T00:00:00.000Z',
    );
  });
});

describe('retention clamp', () => {
  it('drops-windows-before-the-edge-and-cuts-the-one-across-it', async () => {
    const { clampWindows } = await import('../../src/engine/windows.js');
    const w = cutWindows(at('2026-01-01T00:00:00Z'), at('2026-01-10T00:00:00Z'), 3);
    const r = clampWindows(w, at('2026-01-05T00:00:00Z'));
    expect(r.windows.map((x) => x.from.toISOString().slice(0, 10))).toEqual(['2026-01-05', '2026-01-07']);
    expect(r.lost?.from.toISOString().slice(0, 10)).toBe('2026-01-01');
    expect(r.lost?.to.toISOString().slice(0, 10)).toBe('2026-01-05');
    expect(clampWindows(w, at('2025-01-01T00:00:00Z')).lost).toBeNull();
  });
});
