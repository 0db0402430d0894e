/**
 * Deterministic Scarf event rows for the simulator. Every value is a pure function of
 * (seed, UTC day, index), so the same seed gives the same bytes on every run and a day can be
 * regenerated at any time (cross-day duplicates, test expectations) without storing anything.
 *
 * Getting this wrong makes tests flaky (non-determinism) or blind: ids must be unique by
 * construction (never by chance), or a merge would silently collapse two distinct events and the
 * tests that count rows would pass for the wrong reason.
 */
import { DAY_MS, isoDate } from '../../src/core/time.js';
import { SCARF_EVENTS_CONTRACT } from './contract.js';
import { SCARF_EVENT_FIELDS } from './dictionary.js';

/**
 * Header names come from the stream contract (connectors/scarf/contract.ts), values are written
 * positionally in dictionary order: both lists must have the same length, or every column after
 * the difference would be misaligned.
 */
const CONTRACT_FIELDS: readonly string[] = Object.keys(SCARF_EVENTS_CONTRACT.fields);
if (CONTRACT_FIELDS.length !== SCARF_EVENT_FIELDS.length) {
  throw new Error('connectors/scarf/contract.ts and dictionary.ts disagree on the event fields');
}

export interface ScarfDataOptions {
  seed: string | number;
  /** Events per UTC day (`day` is YYYY-MM-DD). */
  eventsPerDay: number | ((day: string) => number);
  /** Probability that an event is repeated (identically) a few rows later in the same response. */
  duplicateRate: number;
  /** The last N events of day D-1 are repeated at the start of day D's rows. */
  crossDayDuplicates: number;
  /** Extra events of day D that only become visible `lateEventDelayDays` days after D starts. */
  lateEvents: number | ((day: string) => number);
  lateEventDelayDays: number;
  /** From this day (YYYY-MM-DD) on, responses carry an extra column `newColumnName`. */
  newColumnFrom?: string;
  newColumnName: string;
}

/** Index offset of late events: their ids never collide with a day's regular events. */
const LATE_INDEX_BASE = 0x800000000000;

export function hashSeed(seed: string | number): number {
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3 finaliser over a few 32-bit words. */
export function mix(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h ^= Math.imul(w | 0, 0xcc9e2d51);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for plausible values. */
export function rng(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** 8 hex digits of a 32-bit value (toString(16) + padStart costs ~10x more per row). */
const hex8 = (n: number): string =>
  (BYTE_HEX[(n >>> 24) & 255] as string) +
  (BYTE_HEX[(n >>> 16) & 255] as string) +
  (BYTE_HEX[(n >>> 8) & 255] as string) +
  (BYTE_HEX[n & 255] as string);
const hex4 = (n: number): string => hex8(n).slice(4);
/** 12 hex digits of a non-negative integer below 2^48. */
const hex12 = (n: number): string => hex4(Math.floor(n / 0x100000000)) + hex8(n >>> 0);

/** `HH:MM:SS.mmmZ` of an offset into a UTC day (toISOString costs ~2 µs). */
function timeOfDay(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const sec = Math.floor(ms / 1000) % 60;
  const milli = ms % 1000;
  const mm = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : String(milli);
  return `${TWO_DIGITS[h] as string}:${TWO_DIGITS[m] as string}:${TWO_DIGITS[sec] as string}.${mm}Z`;
}

/** A decimal with 4 places from an integer count of 1/10000 (toFixed costs ~0.3 µs). */
function decimal4(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  const frac = abs % 10000;
  return `${sign}${Math.floor(abs / 10000)}.${frac < 10 ? '000' : frac < 100 ? '00' : frac < 1000 ? '0' : ''}${frac}`;
}

function valueFor(option: number | ((day: string) => number), day: string): number {
  const n = typeof option === 'function' ? option(day) : option;
  return Math.max(0, Math.floor(n));
}

const CITIES: string[][] = [
  // country, city, state, latitude, longitude, postal
  ['DE', 'Berlin', 'Berlin', '52.52', '13.405', '10115'],
  ['DE', 'München', 'Bavaria', '48.1351', '11.582', '80331'],
  ['US', 'San Francisco', 'California', '37.7749', '-122.4194', '94103'],
  ['US', 'Boston', 'Massachusetts', '42.3601', '-71.0589', '02108'],
  ['BR', 'São Paulo', 'São Paulo', '-23.5505', '-46.6333', '01000-000'],
  ['JP', '東京', 'Tokyo', '35.6762', '139.6503', '100-0001'],
  ['CH', 'Zürich', 'Zurich', '47.3769', '8.5417', '8001'],
  ['PL', 'Kraków', 'Lesser Poland', '50.0647', '19.945', '30-001'],
  ['FR', 'Saint-Étienne', 'Auvergne-Rhône-Alpes', '45.4397', '4.3872', '42000'],
  ['IN', 'Bengaluru', 'Karnataka', '12.9716', '77.5946', '560001'],
  ['', '', '', '', '', ''],
];
const COMPANIES: string[][] = [
  ['Acme, Inc.', 'acme.example'],
  ['Globex "Global" Corporation', 'globex.example'],
  ['Initech', 'initech.example'],
  ['Müller & Söhne GmbH', 'mueller.example'],
];
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0 os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))',
  'pip/23.3.1 {"ci":null,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.12.1"}}',
  'Helm/3.13.1',
  'curl/8.4.0',
  'npm/10.2.4 node/v20.11.0 darwin arm64 workspaces/false',
  '"quoted agent", with a comma',
  '',
];
const REFERERS = [
  'https://docs.acme.example/install?utm_source=readme,github&lang=en',
  'https://github.com/acme/cli',
  'https://acme.example/blog/"launch"',
  '',
];
const PACKAGES = ['acme/cli', 'acme/server', 'acme-sdk'];
const VERSIONS = ['1.4.2', '2.0.0', '2.1.0-rc.1', ''];
const PLATFORMS = ['linux', 'darwin', 'windows', ''];
const CONNECTION_TYPES = ['business', 'isp', 'hosting', ''];
const VARIABLES = ['', '', '{"os":"linux","arch":"amd64"}', 'os=darwin&arch=arm64'];

const pick = <T>(list: readonly T[], r: () => number): T => list[Math.floor(r() * list.length)] as T;
/** A coordinate near `base` (up to ±0.05 degrees). */
const jitter = (base: string, r: () => number): string =>
  base === '' ? '' : decimal4(Math.round(Number(base) * 10000) + Math.floor((r() - 0.5) * 1000));

/** Per-seed values reused across rows: device ids (5000 origins, 1250 endpoints) and pixel ids. */
interface SeedPools {
  origins: string[];
  endpoints: string[];
  pixels: string[];
}
const pools = new Map<number, SeedPools>();
function poolsFor(seed: number): SeedPools {
  let p = pools.get(seed);
  if (!p) {
    p = {
      origins: Array.from({ length: 5000 }, (_, i) => hex8(mix(seed, i, 11)) + hex8(mix(seed, i, 12))),
      endpoints: Array.from({ length: 1250 }, (_, i) => hex8(mix(seed, i, 13)) + hex8(mix(seed, i, 14))),
      pixels: Array.from({ length: 3 }, (_, i) => `${hex8(mix(seed, 99))}-0000-4000-8000-00000000000${i}`),
    };
    if (pools.size > 32) pools.clear();
    pools.set(seed, p);
  }
  return p;
}

/** The header of a response covering days up to `lastDay`. */
export function headerFor(lastDay: string, o: ScarfDataOptions): string[] {
  return o.newColumnFrom !== undefined && lastDay >= o.newColumnFrom
    ? [...CONTRACT_FIELDS, o.newColumnName]
    : [...CONTRACT_FIELDS];
}

let prefixDay = Number.NaN;
let prefix = '';
/** `YYYY-MM-DDT` of a day start (memoised: rows come day by day). */
function dayPrefixOf(dayMs: number): string {
  if (dayMs !== prefixDay) {
    prefixDay = dayMs;
    prefix = `${isoDate(new Date(dayMs))}T`;
  }
  return prefix;
}

/** Fields of event `index` of day `dayMs`; `time` is fixed by the caller (regular or late). */
function eventRow(
  seed: number,
  dayMs: number,
  index: number,
  timeMs: number,
  extraColumn: boolean,
): string[] {
  const dayPrefix = dayPrefixOf(dayMs);
  const dayNumber = dayMs / DAY_MS;
  const r = rng(mix(seed, dayNumber, index, Math.floor(index / 0x100000000)));
  const h = mix(seed, dayNumber, index, Math.floor(index / 0x100000000), 7);
  const id = `${hex8(h)}-${hex4(dayNumber)}-4${hex8(mix(h, 1)).slice(5)}-a${hex8(mix(h, 2)).slice(5)}-${hex12(index)}`;
  const pool = poolsFor(seed);
  const type = pick(['binary-download', 'manifest-fetch', 'pixel-fetch'], r);
  const pixelEvent = type === 'pixel-fetch';
  const origin = Math.floor(r() * 5000);
  const dnt = r() < 0.05;
  const city = dnt ? (CITIES[CITIES.length - 1] as string[]) : pick(CITIES, r);
  const quota = r() < 0.02;
  const company = !dnt && !quota && r() < 0.4 ? pick(COMPANIES, r) : ['', ''];
  const row = [
    id,
    type,
    pixelEvent ? '' : pick(PACKAGES, r),
    pixelEvent ? pick(pool.pixels, r) : '',
    pixelEvent ? '' : pick(VERSIONS, r),
    dayPrefix + timeOfDay(timeMs - dayMs),
    pixelEvent ? pick(REFERERS, r) : '',
    pick(USER_AGENTS, r),
    pick(PLATFORMS, r),
    pixelEvent ? '' : pick(VARIABLES, r),
    pool.origins[origin] as string,
    jitter(city[3] as string, r),
    jitter(city[4] as string, r),
    city[0] as string,
    city[1] as string,
    city[5] as string,
    dnt ? '' : pick(CONNECTION_TYPES, r),
    company[0] as string,
    company[1] as string,
    dnt ? 'true' : 'false',
    company[0] === '' ? '' : (0.5 + r() / 2).toFixed(2),
    pool.endpoints[origin >> 2] as string,
    city[2] as string,
    quota ? 'true' : 'false',
  ];
  if (extraColumn) row.push(city[0] === '' ? '' : `AS${3000 + (origin % 60000)}`);
  return row;
}

function regularTime(seed: number, dayMs: number, index: number, count: number): number {
  const u = mix(seed, dayMs / DAY_MS, index, 3) / 4294967296;
  return dayMs + Math.floor(((index + u) / count) * DAY_MS);
}

/**
 * Rows of one UTC day as the API would serve them at instant `now`: nothing for days after now's
 * day, events up to `now` for now's day (`cutAtNow`), late events once visible, duplicates as
 * configured. `width` is the response's header width (the extra column only from `newColumnFrom`).
 */
export function* dayRows(
  dayMs: number,
  now: Date,
  cutAtNow: boolean,
  width: number,
  o: ScarfDataOptions,
): Generator<string[]> {
  const seed = hashSeed(o.seed);
  const day = isoDate(new Date(dayMs));
  const todayMs = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  if (dayMs > todayMs) return;
  const limit = cutAtNow && dayMs === todayMs ? now.getTime() : Number.POSITIVE_INFINITY;
  const extra = width > SCARF_EVENT_FIELDS.length && o.newColumnFrom !== undefined && day >= o.newColumnFrom;
  const pad = (row: string[]): string[] => {
    while (row.length < width) row.push('');
    return row;
  };

  const prevMs = dayMs - DAY_MS;
  const prevCount = valueFor(o.eventsPerDay, isoDate(new Date(prevMs)));
  const carried = Math.min(o.crossDayDuplicates, prevCount);
  const prevExtra = extra && isoDate(new Date(prevMs)) >= (o.newColumnFrom ?? '');
  for (let i = prevCount - carried; i < prevCount; i++) {
    yield pad(eventRow(seed, prevMs, i, regularTime(seed, prevMs, i, prevCount), prevExtra));
  }

  const pending: Array<{ due: number; row: string[] }> = [];
  let emitted = 0;
  function* emit(row: string[], index: number): Generator<string[]> {
    yield row;
    emitted++;
    if (o.duplicateRate > 0 && mix(seed, dayMs / DAY_MS, index, 5) / 4294967296 < o.duplicateRate) {
      pending.push({ due: emitted + 1 + (mix(seed, index, 6) % 20), row: [...row] });
    }
    while (pending.length > 0 && (pending[0] as { due: number }).due <= emitted) {
      yield (pending.shift() as { row: string[] }).row;
    }
  }

  const count = valueFor(o.eventsPerDay, day);
  for (let i = 0; i < count; i++) {
    const time = regularTime(seed, dayMs, i, count);
    if (time > limit) break;
    yield* emit(pad(eventRow(seed, dayMs, i, time, extra)), i);
  }
  const visibleLate = now.getTime() >= dayMs + o.lateEventDelayDays * DAY_MS;
  const late = visibleLate ? valueFor(o.lateEvents, day) : 0;
  for (let j = 0; j < late; j++) {
    const index = LATE_INDEX_BASE + j;
    const time = dayMs + Math.floor((mix(seed, dayMs / DAY_MS, j, 4) / 4294967296) * DAY_MS);
    yield* emit(pad(eventRow(seed, dayMs, index, time, extra)), index);
  }
  for (const p of pending) yield p.row;
}

/** One CSV record (RFC 4180 quoting, `\n` line end). */
export function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    if (i > 0) line += ',';
    line += /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
  }
  return `${line}\n`;
}
