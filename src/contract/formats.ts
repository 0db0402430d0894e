/**
 * Text shapes of dates and timestamps, named without data: `2025-10-01T12:34:56.789Z` has the
 * format `YYYY-MM-DDTHH:MM:SS.sssZ`. `check --contract` reports the formats it saw per field,
 * the run's drift check warns when one differs from the contract, and the simulators write their
 * timestamps in the contract's format (`formatTimestamp`), so a variant with another format is
 * one option away.
 *
 * Only shapes are ever returned, never values: the observed-shape file a user attaches to a bug
 * report must not carry their data.
 */

const ZONE = /^(Z|z| UTC|[+-]\d{2}:\d{2}|[+-]\d{4}|[+-]\d{2})$/;

/** The format of a temporal-looking text, or null when it looks like neither a date nor a time. */
export function temporalFormat(value: string): string | null {
  const s = value.trim();
  if (/^\d{10}$/.test(s)) return 'epoch-seconds';
  if (/^\d{13}$/.test(s)) return 'epoch-millis';
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return /^\d{1,4}[/.]\d{1,2}[/.]\d{1,4}/.test(s) ? maskShape(s) : null;
  if (s.length === 10) return 'YYYY-MM-DD';
  const m = /^\d{4}-\d{2}-\d{2}([T ])(\d{2}):(\d{2})(:\d{2})?(\.\d+)?(.*)$/.exec(s);
  if (!m) return maskShape(s);
  const [, sep, , , sec, frac, zone] = m;
  if (zone !== '' && !ZONE.test(zone as string)) return maskShape(s);
  const zoneText =
    zone === ''
      ? ''
      : zone === 'Z' || zone === 'z'
        ? 'Z'
        : zone === ' UTC'
          ? ' UTC'
          : /^[+-]\d{2}:\d{2}$/.test(zone as string)
            ? '±HH:MM'
            : /^[+-]\d{4}$/.test(zone as string)
              ? '±HHMM'
              : '±HH';
  const fraction = frac ? `.${'s'.repeat(Math.min(frac.length - 1, 9))}` : '';
  return `YYYY-MM-DD${sep}HH:MM${sec ? ':SS' : ''}${fraction}${zoneText}`;
}

/** Digits → 9, letters → a: the shape of an unrecognised text, without its value. */
export function maskShape(s: string): string {
  return `other(${s
    .slice(0, 40)
    .replace(/\d/g, '9')
    .replace(/[A-Za-z]/g, 'a')})`;
}

/** The format carries a zone (Z, ±HH:MM, UTC): without one the instant is read as UTC. */
export function hasZone(format: string): boolean {
  return /Z$|UTC$|±HH(:?MM)?$/.test(format);
}

/**
 * `ms` (UTC epoch milliseconds) written in `format`: the YYYY-MM-DD… formats `temporalFormat`
 * names (zones written as Z, +00:00, +0000, +00 or UTC), or epoch-seconds / epoch-millis.
 */
export function formatTimestamp(ms: number, format: string): string {
  if (format === 'epoch-seconds') return String(Math.floor(ms / 1000));
  if (format === 'epoch-millis') return String(ms);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const m = /^YYYY-MM-DD(?:([T ])HH:MM(:SS)?(?:\.(s+))?(Z| UTC|±HH:MM|±HHMM|±HH)?)?$/.exec(format);
  if (!m) throw new RangeError(`cannot write timestamps as ${format}`);
  const [, sep, sec, frac, zone] = m;
  if (sep === undefined) return iso.slice(0, 10);
  let out = `${iso.slice(0, 10)}${sep}${iso.slice(11, 16)}`;
  if (sec) out += iso.slice(16, 19);
  if (frac) out += `.${(iso.slice(20, 23) + '000000').slice(0, frac.length)}`;
  const zones: Record<string, string> = {
    Z: 'Z',
    ' UTC': ' UTC',
    '±HH:MM': '+00:00',
    '±HHMM': '+0000',
    '±HH': '+00',
  };
  return out + (zone ? (zones[zone] as string) : '');
}

/**
 * `YYYY-MM-DD` of a text that is a date, or a timestamp at exactly midnight (`2024-01-15T00:00:00Z`,
 * `2024-01-15 00:00:00.000`, `2024-01-15T00:00:00+02:00`: the calendar day as written). Anything
 * else is undefined: a date column never takes a time of day by truncation, that would move rows
 * to another day.
 */
export function midnightDate(value: string): string | undefined {
  if (value.length === 10) return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[T ]00:00(:00(\.0+)?)?(Z|z| UTC|[+-]\d{2}(:?\d{2})?)?$/.exec(value);
  return m ? m[1] : undefined;
}
