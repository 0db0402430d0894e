/**
 * String and JSON text that every warehouse accepts. Postgres rejects NUL in text and both NUL
 * (`\u0000`) and lone surrogates (`\ud800`) in jsonb; one such value would fail a whole COPY
 * batch. So NUL bytes are removed and lone surrogates become U+FFFD, here, once.
 */
import { numberText } from './numbers.js';

/** `s` without NUL bytes (the same string object when it has none). */
export function stripNul(s: string): string {
  return s.indexOf('\0') < 0 ? s : s.replaceAll('\0', '');
}

// JSON.stringify escapes only NUL-class control chars as \u00XX and lone surrogates as \udXXX;
// a preceding backslash pair is matched too, which only sends clean text down the slow path.
const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/i;

function toWellFormed(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      out += s.slice(from, i);
      from = i + 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      out += `${s.slice(from, i)}\ufffd`;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

function cleanReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    let dirty = false;
    for (const k of Object.keys(v)) if (toWellFormed(k) !== k) dirty = true;
    if (!dirty) return value;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[toWellFormed(k)] = v[k];
    return out;
  }
  return value;
}

/** JSON text of a value, safe for jsonb (no NUL, no lone surrogate escapes). */
export function jsonText(value: unknown): string {
  const s = JSON.stringify(value);
  return SUSPECT_ESCAPE.test(s) ? JSON.stringify(value, cleanReplacer) : s;
}

/**
 * Canonical json text: objects and arrays are serialised; a string is kept as given when it
 * parses as a JSON object or array (so big numbers inside keep their digits); numbers and
 * booleans become their JSON text. Other strings do not fit (undefined): a bare word is not
 * JSON, and quoting it would invent a value the source never sent.
 */
export function jsonCanonical(value: unknown): string | null | undefined {
  if (typeof value === 'string') {
    if (value === '') return null;
    const c = value.charCodeAt(0);
    if (c !== 123 && c !== 91) return undefined; // { [
    try {
      const parsed: unknown = JSON.parse(value);
      return SUSPECT_ESCAPE.test(value) ? jsonText(parsed) : value;
    } catch {
      return undefined;
    }
  }
  if (typeof value === 'number') return Number.isFinite(value) ? numberText(value) : undefined;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'object' && value !== null) return jsonText(value);
  return undefined;
}

/** Canonical string text: anything fits. Numbers keep their exact digits, objects become JSON. */
export function stringCanonical(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return stripNul(value);
    case 'number':
      return Number.isFinite(value) ? numberText(value) : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      if (value instanceof Date)
        return Number.isFinite(value.getTime()) ? value.toISOString() : 'Invalid Date';
      return jsonText(value);
    default:
      return stripNul(String(value));
  }
}
