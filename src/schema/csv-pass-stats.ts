/**
 * What the CSV pass-through writer (csv-pass.ts) measures of the lines it writes, handed to the
 * destination as `CsvRows.stats`: the longest line, and per column the most integer and fraction
 * digits of its values, counted exactly as DuckDB's spool check counts them (duckdb-load-target.ts
 * `decimalNeedExprs`: integer digits without sign and leading zeros, so '0.5' has 0; every
 * fraction digit, trailing zeros too). Integer columns are measured as well: a column may widen
 * to decimal after its lines were written, and its integers then size the DECIMAL. A column is
 * listed only when every line since the last `take` was measured (a column that is NULL in every
 * line counts, as 0/0). If a size came out too small, a DECIMAL column sized from it would fail
 * the cast or round its values; a value of a line the writer then refused must not count.
 */
import type { CsvRows } from '../core/contracts.js';

const MINUS = 45;
const DOT = 46;
const ZERO = 48;

/** How a column's values are measured under the writer's current plan. */
export const UNMEASURED = 0;
export const INTEGER_DIGITS = 1;
export const DECIMAL_DIGITS = 2;
export const ALWAYS_NULL = 3;

/** `CsvRows.stats`. */
export type CsvLineStats = NonNullable<CsvRows['stats']>;

export class PassStats {
  /** Per column: UNMEASURED, INTEGER_DIGITS, DECIMAL_DIGITS or ALWAYS_NULL. */
  private measure: Uint8Array = new Uint8Array(0);
  /** Per column: its slot in the line scratch, or -1 when its values are not measured. */
  private numSlot = new Int32Array(0);
  /** The measured column of each slot, and the current line's digits per slot. */
  private numCols = new Int32Array(0);
  private lineInt = new Int32Array(0);
  private lineFrac = new Int32Array(0);
  /** Since the last `take`: per column, whether every line was measured, and the maxima. */
  private covered = new Uint8Array(0);
  private intMax = new Int32Array(0);
  private fracMax = new Int32Array(0);
  private longest = 0;

  /**
   * Follows a new plan (one entry per column, the line's width; it only grows). Keeps what was
   * measured since the last take; a column not measured now is no longer covered until the take.
   */
  plan(measure: Uint8Array): void {
    const width = measure.length;
    this.measure = measure;
    this.numSlot = new Int32Array(width).fill(-1);
    const nums: number[] = [];
    for (let c = 0; c < width; c++) {
      const m = measure[c];
      if (m === INTEGER_DIGITS || m === DECIMAL_DIGITS) {
        this.numSlot[c] = nums.length;
        nums.push(c);
      }
    }
    this.numCols = Int32Array.from(nums);
    this.lineInt = new Int32Array(nums.length);
    this.lineFrac = new Int32Array(nums.length);
    const old = this.covered.length;
    const covered = new Uint8Array(width);
    const intMax = new Int32Array(width);
    const fracMax = new Int32Array(width);
    for (let c = 0; c < width; c++) {
      const measured = measure[c] !== UNMEASURED;
      covered[c] = measured && (c >= old || this.covered[c] === 1) ? 1 : 0;
      if (c < old) {
        intMax[c] = this.intMax[c] as number;
        fracMax[c] = this.fracMax[c] as number;
      }
    }
    this.covered = covered;
    this.intMax = intMax;
    this.fracMax = fracMax;
  }

  /** Starts a line: forgets the values of a line the writer gave up on. */
  startLine(): void {
    // a loop, not fill(): a line has a handful of measured columns, and fill's call cost per line showed
    const { lineInt, lineFrac } = this;
    for (let k = 0; k < lineInt.length; k++) {
      lineInt[k] = 0;
      lineFrac[k] = 0;
    }
  }

  /** Notes the canonical text buf[v, end) of column `c` in the current line (no-op if not measured). */
  value(c: number, buf: Uint8Array, v: number, end: number): void {
    const k = this.numSlot[c] as number;
    if (k < 0) return;
    let i = buf[v] === MINUS ? v + 1 : v;
    if (this.measure[c] === INTEGER_DIGITS) {
      this.lineInt[k] = end - i === 1 && buf[i] === ZERO ? 0 : end - i; // canonical: no leading zero
      return;
    }
    while (i < end && buf[i] === ZERO) i++;
    let d = i;
    while (d < end && buf[d] !== DOT) d++;
    this.lineInt[k] = d - i;
    this.lineFrac[k] = d < end ? end - d - 1 : 0;
  }

  /** The current line was written, `bytes` long with its line end: its values count. */
  endLine(bytes: number): void {
    if (bytes > this.longest) this.longest = bytes;
    const { numCols, lineInt, lineFrac, intMax, fracMax } = this;
    for (let k = 0; k < numCols.length; k++) {
      const c = numCols[k] as number;
      if ((lineInt[k] as number) > (intMax[c] as number)) intMax[c] = lineInt[k] as number;
      if ((lineFrac[k] as number) > (fracMax[c] as number)) fracMax[c] = lineFrac[k] as number;
    }
  }

  /** What the lines since the last take measured (columns below `width`), and starts afresh. */
  take(width: number): CsvLineStats {
    const decimals: CsvLineStats['decimals'] = [];
    const n = Math.min(width, this.covered.length);
    for (let c = 0; c < n; c++) {
      if (this.covered[c] !== 1) continue;
      decimals.push({
        column: c,
        integerDigits: this.intMax[c] as number,
        fractionDigits: this.fracMax[c] as number,
      });
    }
    const stats = { longestLine: this.longest, decimals };
    this.longest = 0;
    this.intMax.fill(0);
    this.fracMax.fill(0);
    for (let c = 0; c < this.covered.length; c++) this.covered[c] = this.measure[c] !== UNMEASURED ? 1 : 0;
    return stats;
  }
}
