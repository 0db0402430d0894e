/**
 * UTC day arithmetic. Every window boundary in exportsync is a UTC instant; days are
 * [00:00Z, next 00:00Z). Never use local-time Date methods here: a job running in another time
 * zone would shift its windows by a day (the bug of the original Scarf exporter).
 */
export const DAY_MS = 86_400_000;

/** Start of the UTC day containing `d`. */
export function startOfUtcDay(d: Date): Date {
  return new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * DAY_MS);
}

/** `YYYY-MM-DD` of the UTC day containing `d`. */
export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Parses `YYYY-MM-DD` as the start of that UTC day; throws on anything else. */
export function parseIsoDate(s: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(s)}`);
  const d = new Date(`${s}T00:00:00.000Z`);
  if (Number.isNaN(d.getTime()) || isoDate(d) !== s) throw new RangeError(`not a valid date: ${s}`);
  return d;
}

/** Whole UTC days between two day starts (b - a). */
export function daysBetween(a: Date, b: Date): number {
  return Math.round((b.getTime() - a.getTime()) / DAY_MS);
}
