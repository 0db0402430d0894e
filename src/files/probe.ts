/**
 * The half-written check, done before a file is planned so that a bad object is skipped with a
 * warning instead of failing the stream (and blocking every file after it). Reads two ranges: the
 * first bytes (header line) and the last bytes (last line). An object is half-written when it is
 * empty, or when its last line has fewer fields than its header with its quotes balanced (a
 * writer cut off mid-record). A last line inside an open quote is left to the parser, which
 * fails loudly on an unclosed quote. Gzip objects cannot be checked from their ends: a cut-off
 * `.gz` is found when read (DataError naming the object; the stream stops there).
 */
import type { ObjectStore, StoredObject } from './types.js';

const PROBE_BYTES = 64 * 1024;

export type ProbeVerdict = { ok: true } | { ok: false; reason: string };

/** Fields in one CSV line, or null when its quotes are unbalanced (the line is part of a multi-line record). */
export function countFields(line: string): number | null {
  let fields = 1;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) fields++;
  }
  return quoted ? null : fields;
}

/** A JSON report is complete when its last non-blank character closes the document. */
async function probeJson(store: ObjectStore, object: StoredObject): Promise<ProbeVerdict> {
  const tail = await store.readRange(object.key, Math.max(0, object.size - 256), object.size - 1);
  const end = tail.toString('utf8').trimEnd().slice(-1);
  return end === ']' || end === '}'
    ? { ok: true }
    : { ok: false, reason: 'the JSON document does not end with ] or }: cut off (still being written?)' };
}

export async function probeObject(
  store: ObjectStore,
  object: StoredObject,
  format: 'csv' | 'json',
): Promise<ProbeVerdict> {
  if (object.size === 0) return { ok: false, reason: 'the object is empty (0 bytes): still being written?' };
  if (/\.gz$/i.test(object.key) || object.contentEncoding === 'gzip') return { ok: true };
  const head = await store.readRange(object.key, 0, Math.min(object.size, PROBE_BYTES) - 1);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { ok: true };
  if (format === 'json') return probeJson(store, object);
  const headText = head.toString('utf8').replace(/^\uFEFF/, '');
  const headerEnd = headText.search(/\r?\n/);
  if (headerEnd === -1) {
    // header only, without a newline: complete if the whole object was read
    return object.size <= PROBE_BYTES
      ? { ok: true }
      : { ok: false, reason: 'no line break in the first 64 KiB' };
  }
  const headerFields = countFields(headText.slice(0, headerEnd));
  const tailStart = Math.max(0, object.size - PROBE_BYTES);
  const tail = (
    tailStart === 0 ? head : await store.readRange(object.key, tailStart, object.size - 1)
  ).toString('utf8');
  const lines = tail.replace(/(\r?\n)+$/, '').split(/\r?\n/);
  const last = lines[lines.length - 1] ?? '';
  if (lines.length < 2 && tailStart === 0) return { ok: true }; // header only
  const lastFields = countFields(last);
  if (headerFields !== null && lastFields !== null && lastFields < headerFields) {
    return {
      ok: false,
      reason: `its last line has ${lastFields} of the header's ${headerFields} fields: cut off mid-record (still being written?)`,
    };
  }
  return { ok: true };
}
