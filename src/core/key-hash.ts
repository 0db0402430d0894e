/**
 * A 53-bit hash of a row's primary key values, the same whichever path encoded the row: the CSV
 * pass-through hashes a key field's bytes as they are between its quotes (a '""' pair counts as
 * one '"'), a mapped row the UTF-8 bytes of its canonical text. Equal keys always hash equal;
 * different keys collide rarely (two 32-bit lanes). A destination uses it to learn, without a
 * query, that a window holds no key twice (postgres-load.ts); a collision only costs that query.
 * If the two paths hashed one value differently, a repeat would go unseen and stay twice until
 * settle.
 */

const SEPARATOR = 0xff; // never a byte of UTF-8 text: "a","bc" and "ab","c" differ

/** Lane state: [h1, h2]. */
type Lanes = Int32Array;

export function keyHashStart(): Lanes {
  return Int32Array.of(0x811c9dc5 | 0, 0x9747b28c | 0);
}

function step(l: Lanes, x: number): void {
  l[0] = Math.imul((l[0] as number) ^ x, 0x01000193);
  const h = Math.imul((l[1] as number) ^ x, 0x5bd1e995);
  l[1] = h ^ (h >>> 15);
}

/** Adds one key value, `src[a, b)`; `quoted`: the bytes are a quoted CSV field's ('""' is '"'). */
export function keyHashAdd(l: Lanes, src: Uint8Array, a: number, b: number, quoted: boolean): void {
  for (let i = a; i < b; i++) {
    const x = src[i] as number;
    step(l, x);
    if (quoted && x === 0x22) i++; // the second quote of the pair
  }
  step(l, SEPARATOR);
}

export function keyHashEnd(l: Lanes): number {
  return ((l[0] as number) >>> 0) * 2097152 + (((l[1] as number) >>> 0) & 0x1fffff);
}

const encoder = new TextEncoder();

/** The hash of canonical key values (a mapped row's), or null when one is missing. */
export function keyHashOfValues(values: ReadonlyArray<string | null | undefined>): number | null {
  const l = keyHashStart();
  for (const v of values) {
    if (v === null || v === undefined) return null;
    const bytes = encoder.encode(v);
    keyHashAdd(l, bytes, 0, bytes.length, false);
  }
  return keyHashEnd(l);
}
