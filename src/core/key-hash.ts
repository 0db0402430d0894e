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

/**
 * A set of key hashes in one Float64Array (open addressing): a window's 100k–500k hashes as a
 * `Set<number>` are boxed numbers (~30 MB of peak RSS on a 1M-row load, measured), here 8–16 bytes
 * each. 0 marks an empty slot, so a hash of 0 is stored as 1 (a collision costs a search, never
 * a missed repeat).
 */
export class KeyHashSet {
  private slots = new Float64Array(1 << 12);
  private size = 0;

  /** Adds `h`; false when it was there already. */
  add(hash: number): boolean {
    const h = hash === 0 ? 1 : hash;
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    for (let i = (h % 4294967296) & mask; ; i = (i + 1) & mask) {
      const v = this.slots[i] as number;
      if (v === h) return false;
      if (v === 0) {
        this.slots[i] = h;
        this.size++;
        return true;
      }
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2);
    this.size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.add(old[i] as number);
  }
}
