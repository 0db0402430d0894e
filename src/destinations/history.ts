/**
 * Naming and keying of `<table>_history` (snapshot history), shared by every destination: if two
 * backends named or keyed it differently, moving a warehouse would orphan the history, and a
 * user's queries would not carry over. The contract suite pins the names.
 */
import type { TableSchema } from '../core/contracts.js';
import { nameHash } from '../schema/identifiers.js';

export const HISTORY_SUFFIX = '_history';
const HASH_PART = 9; // '_' + 8 hex

/**
 * `<table>_history`, or when that exceeds `maxLength` bytes `<table cut>_<8 hex of
 * sha256(table)>_history`: deterministic, so every run finds the same table.
 */
export function historyTableName(table: string, maxLength: number): string {
  const plain = `${table}${HISTORY_SUFFIX}`;
  if (Buffer.byteLength(plain, 'utf8') <= maxLength) return plain;
  const room = maxLength - HISTORY_SUFFIX.length - HASH_PART;
  let prefix = '';
  for (const ch of table) {
    if (Buffer.byteLength(prefix + ch, 'utf8') > room) break;
    prefix += ch;
  }
  prefix = prefix.replace(/_+$/, '');
  return `${prefix || '_t'}_${nameHash(table)}${HISTORY_SUFFIX}`;
}

/** History key: the merge key plus the cursor (one row per key per snapshot date). */
export function historyKey(schema: TableSchema): string[] {
  return schema.primaryKey.includes(schema.cursorColumn)
    ? [...schema.primaryKey]
    : [...schema.primaryKey, schema.cursorColumn];
}
