/**
 * The 24-month retention of the marketplace: older data is deleted at the source, and the export
 * refuses (400) a range starting before the edge. Connector and simulator share this one
 * definition: if they disagreed, every backfill reaching the edge would fail on a 400 (connector
 * later than the source) or lose a day silently (earlier).
 */
import { isoDate, startOfUtcDay } from '../../src/core/time.js';

export const RETENTION_MONTHS = 24;

/** First UTC day still held at the source: today's date 24 calendar months back (day clamped to the month's end). */
export function retentionEdge(now: Date): Date {
  const today = startOfUtcDay(now);
  const y = today.getUTCFullYear();
  const m = today.getUTCMonth() - RETENTION_MONTHS;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(today.getUTCDate(), lastDay)));
}

export function retentionEdgeDate(now: Date): string {
  return isoDate(retentionEdge(now));
}
