/**
 * Warehouse identifiers from source names. A column's name is decided once and then persisted
 * in `_exportsync_columns`; these functions only decide names for columns seen for the first
 * time. They must be deterministic (same raw name → same identifier on every machine, every
 * run): a name that changed between runs would split one field over two columns.
 *
 * Rules: lower snake_case (`fieldName` → `field_name`, `HTTPServer` → `http_server`), accents
 * folded (`café` → `cafe`), every other run of characters outside [a-z0-9] → `_`, underscores
 * trimmed, a leading digit prefixed with `_`, nothing left → `_col`. Too long for the warehouse
 * → `<prefix>_<8 hex of sha256(raw)>`, cut to the limit.
 */
import { createHash } from 'node:crypto';
import { AUDIT_COLUMNS } from '../core/contracts.js';

/** Prefix of every column and table exportsync itself owns; data fields never get it. */
export const RESERVED_PREFIX = '_exportsync_';
const AUDIT_NAMES: ReadonlySet<string> = new Set(Object.values(AUDIT_COLUMNS));
const HASH_LENGTH = 8;
const MIN_LENGTH = HASH_LENGTH + 2;

/** Deterministic 8-hex digest of a raw name. */
export function nameHash(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

function baseIdentifier(raw: string): string {
  let s = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s === '') s = '_col';
  else if (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57) s = `_${s}`;
  return s;
}

/** `<prefix>_<hash>` fitting `maxLength`, without a dangling underscore before the hash. */
function withHash(name: string, raw: string, maxLength: number): string {
  const prefix = name.slice(0, maxLength - HASH_LENGTH - 1).replace(/_+$/, '');
  return `${prefix || '_col'}_${nameHash(raw)}`;
}

function checkLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < MIN_LENGTH) {
    throw new RangeError(`identifier length limit must be an integer >= ${MIN_LENGTH}, got ${maxLength}`);
  }
}

/** The warehouse identifier for a raw source name (see the rules above). */
export function normaliseIdentifier(raw: string, maxLength: number): string {
  checkLength(maxLength);
  const base = baseIdentifier(raw);
  return base.length <= maxLength ? base : withHash(base, raw, maxLength);
}

/** True for names data fields may never take: the audit columns and `_exportsync_*`. */
export function isReservedName(name: string): boolean {
  const lower = name.toLowerCase();
  return AUDIT_NAMES.has(lower) || lower.startsWith(RESERVED_PREFIX);
}

/**
 * A column name for a raw field that is new to the table. `taken` holds the table's current
 * column names in lower case (warehouses fold or compare case-insensitively, so `Foo` and `foo`
 * collide); it is not modified. On a collision the result is `<name>_<hash of raw>`, so the
 * winner is decided by first appearance and the loser's name is still a function of its raw
 * name. Reserved names cannot come out of normalisation (leading underscores are trimmed:
 * a field `_extra` becomes `extra`); they are checked anyway, as a guard.
 */
export function resolveColumnName(raw: string, taken: ReadonlySet<string>, maxLength: number): string {
  const plain = normaliseIdentifier(raw, maxLength);
  if (!taken.has(plain) && !isReservedName(plain)) return plain;
  let name = withHash(plain, raw, maxLength);
  // A second collision (two raw names with the same hash prefix, or a field literally named
  // like a suffixed one) gets a counter folded into the hash: still deterministic.
  for (let i = 2; taken.has(name) || isReservedName(name); i++)
    name = withHash(plain, `${raw}#${i}`, maxLength);
  return name;
}

/** Table name of a stream: `<source>_<stream>`, each part normalised, hashed when too long. */
export function tableName(sourceName: string, streamName: string, maxLength: number): string {
  checkLength(maxLength);
  const base = `${baseIdentifier(sourceName)}_${baseIdentifier(streamName)}`
    .replace(/_+/g, '_')
    .replace(/^_+/, '');
  let name = base === '' ? '_table' : base;
  if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) name = `_${name}`;
  return name.length <= maxLength ? name : withHash(name, `${sourceName}.${streamName}`, maxLength);
}
