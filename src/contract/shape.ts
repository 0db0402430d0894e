/**
 * The observed shape of a response: per field, how many values came, of which kinds, in which
 * temporal formats, and how many do not parse as the contract's type. It holds counts and format
 * names only, never a value, so it can be saved and attached to a bug report as it is.
 */
import type { LogicalType, RecordBatch, StreamContract } from '../core/contracts.js';
import { canonicalize } from '../schema/types.js';
import { midnightDate, temporalFormat } from './formats.js';

export type ValueKind = 'boolean' | 'integer' | 'decimal' | 'date' | 'timestamp' | 'string' | 'json';

export interface ObservedField {
  name: string;
  /** Records that carried a non-empty value. */
  values: number;
  /** Records where it was null, absent or ''. */
  empty: number;
  kinds: Partial<Record<ValueKind, number>>;
  /** Temporal formats seen (formats.ts names) → count. */
  formats: Record<string, number>;
  /** The contract's type for this field, when the contract names it. */
  expected?: LogicalType;
  /** Values that do not parse as `expected`. */
  misfits: number;
  /** Formats of the values that did not parse (shapes, not values). */
  misfitFormats: Record<string, number>;
  /** Where the first misfits are: CSV line or JSON record number (at most MAX_MISFIT_LINES). */
  misfitLines: number[];
}

const MAX_MISFIT_LINES = 5;

export interface ObservedShape {
  records: number;
  fields: ObservedField[];
}

/** Names compared case- and separator-insensitively: `createdAt` ~ `created_at` ~ `Created-At`. */
export function fold(name: string): string {
  return name.replace(/[_\-\s]/g, '').toLowerCase();
}

/** The contract field a response field stands for (exact name first, then folded), if any. */
export function contractFieldOf(contract: StreamContract, field: string): string | undefined {
  if (field in contract.fields) return field;
  const f = fold(field);
  return Object.keys(contract.fields).find((name) => fold(name) === f);
}

function kindOf(v: unknown): ValueKind {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number' || typeof v === 'bigint')
    return Number.isInteger(v) || typeof v === 'bigint' ? 'integer' : 'decimal';
  if (typeof v === 'object') return 'json';
  const s = String(v);
  if (s === 'true' || s === 'false') return 'boolean';
  if (/^-?\d+$/.test(s)) return 'integer';
  if (/^-?\d+\.\d+$/.test(s)) return 'decimal';
  const format = temporalFormat(s);
  if (format === 'YYYY-MM-DD') return 'date';
  if (format?.startsWith('YYYY-MM-DD')) return 'timestamp';
  return 'string';
}

/**
 * The value loads into a column of `type`: it canonicalizes, or it is a date sent as a midnight
 * timestamp (which the run's tolerance turns into the date, src/contract/tolerance.ts).
 */
export function fits(type: LogicalType, v: unknown): boolean {
  if (canonicalize(type, v) !== undefined) return true;
  return type === 'date' && typeof v === 'string' && midnightDate(v) !== undefined;
}

export class ShapeObserver {
  private readonly byName = new Map<string, ObservedField>();
  private records = 0;

  constructor(private readonly contract?: StreamContract) {}

  add(batch: RecordBatch): void {
    const fields = batch.fields.map((name) => this.field(name));
    this.records += batch.records.length;
    batch.records.forEach((record, i) => {
      const line = batch.positions?.[i];
      fields.forEach((f, j) => this.value(f, record[j], line));
    });
    // fields seen in other batches but absent here count as empty for these records
    for (const f of this.byName.values()) {
      if (!batch.fields.includes(f.name)) f.empty += batch.records.length;
    }
  }

  private field(name: string): ObservedField {
    let f = this.byName.get(name);
    if (!f) {
      const contractName = this.contract ? contractFieldOf(this.contract, name) : undefined;
      const expected = contractName ? this.contract?.fields[contractName]?.value : undefined;
      f = {
        name,
        values: 0,
        empty: this.records, // records before it first appeared
        kinds: {},
        formats: {},
        misfits: 0,
        misfitFormats: {},
        misfitLines: [],
        ...(expected ? { expected } : {}),
      };
      this.byName.set(name, f);
    }
    return f;
  }

  private value(f: ObservedField, v: unknown, line?: number): void {
    if (v === null || v === undefined || v === '') {
      f.empty++;
      return;
    }
    f.values++;
    const kind = kindOf(v);
    f.kinds[kind] = (f.kinds[kind] ?? 0) + 1;
    const format = typeof v === 'string' ? temporalFormat(v) : null;
    if (format) f.formats[format] = (f.formats[format] ?? 0) + 1;
    if (f.expected && !fits(f.expected, v)) {
      f.misfits++;
      const shape = format ?? `${kind}`;
      f.misfitFormats[shape] = (f.misfitFormats[shape] ?? 0) + 1;
      if (line !== undefined && f.misfitLines.length < MAX_MISFIT_LINES) f.misfitLines.push(line);
    }
  }

  shape(): ObservedShape {
    return {
      records: this.records,
      fields: [...this.byName.values()].map((f) => ({ ...f, misfitLines: [...f.misfitLines] })),
    };
  }
}

/** The shape of one batch (the run's first-page check). */
export function shapeOf(batch: RecordBatch, contract?: StreamContract): ObservedShape {
  const o = new ShapeObserver(contract);
  o.add(batch);
  return o.shape();
}
