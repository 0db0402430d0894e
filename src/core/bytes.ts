/**
 * A growable byte buffer for the CSV pass-through: writers append encoded lines to it and the
 * reader hands its contents to the destination batch by batch. Growth doubles, so appending n
 * bytes costs O(n) amortised; `take` hands the bytes over and starts a fresh buffer, so a batch
 * given to a destination is never overwritten by the next one.
 */
import type { ByteSink } from './contracts.js';

export class ByteBuffer implements ByteSink {
  private buf: Uint8Array;
  length = 0;

  constructor(private readonly initial = 1 << 16) {
    this.buf = new Uint8Array(initial);
  }

  reserve(n: number): Uint8Array {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.buf;
  }

  /** Appends `src[start, end)`. */
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const buf = this.reserve(n);
    if (n < 32) {
      let p = this.length;
      for (let i = start; i < end; i++) buf[p++] = src[i] as number;
    } else {
      buf.set(src.subarray(start, end), this.length);
    }
    this.length += n;
  }

  /** The bytes written so far, as a view the caller now owns; the buffer starts empty again. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(Math.max(this.initial, Math.min(this.buf.length, 1 << 24)));
    this.length = 0;
    return out;
  }
}
