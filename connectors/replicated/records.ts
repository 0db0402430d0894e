/**
 * Source records → the stream's fields. JSON and CSV answers of the same data must yield the same
 * rows: `/events` JSON keys are camelCase (`instanceId`), its CSV headers snake_case
 * (`instance_id`) [G], so both are renamed to the dictionary's snake_case names here; values are
 * turned into the same text whatever their JSON type. If the two formats drifted apart, switching
 * `format` would rewrite every row (or double them: `created_at` is part of the merge key).
 *
 * The output `fields` array is the same object for every batch with the same input fields, as the
 * mapper's plan cache expects.
 */
import type { RecordBatch } from '../../src/core/contracts.js';
import { decimalText } from '../../src/schema/numbers.js';
import { EVENT_JSON_KEYS, INSTANCE_EVENT_COLUMNS, NO_INSTANCE, SNAPSHOT_DATE } from './dictionary.js';

/** The widest decimal every destination takes (DuckDB/BigQuery/Snowflake DECIMAL(38)). */
const MAX_NUMERIC_DIGITS = 38;
const NUMBER_SHAPE = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** `fooBarId` → `foo_bar_id`; snake_case stays as it is. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Text of an event value: strings as sent, numbers as their JSON text, objects as JSON; '' → null. */
export function valueText(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Exact decimal text of a value that is a plain number (`12`, `-0.5`, `1e3`), else null. */
export function numericValue(text: string | null): string | null {
  if (text === null || !NUMBER_SHAPE.test(text)) return null;
  const d = decimalText(text.startsWith('+') ? text.slice(1) : text);
  if (d === undefined) return null;
  return d.replace(/[-.]/g, '').replace(/^0+(?=\d)/, '').length <= MAX_NUMERIC_DIGITS ? d : null;
}

interface EventPlan {
  fields: string[];
  /** Input index of each dictionary field (-1: absent). */
  known: number[];
  /**
   * Dictionary fields the output carries: those the input has (and field_value_numeric with
   * field_value). A field the source stopped sending stays absent, so the contract's drift check
   * reports it missing instead of seeing an empty column. Plans are per input header, so a field
   * absent from one batch and present in a later one is in that later batch's fields and lands in
   * its column (test/connectors/replicated/fields-across-pages.test.ts); if the plan of the first
   * batch were reused for later ones, such a field would be dropped.
   */
  keep: number[];
  /** Input indexes of other fields, appended after the dictionary fields in this order. */
  others: number[];
}

const EVENT_FIELDS = INSTANCE_EVENT_COLUMNS.map((c) => c.name);
const VALUE = EVENT_FIELDS.indexOf('field_value');
const NUMERIC = EVENT_FIELDS.indexOf('field_value_numeric');

/** Renames and completes `/events` records; one instance per read (it caches plans by header). */
export class EventShaper {
  private readonly plans = new Map<string, EventPlan>();

  shape(batch: RecordBatch): RecordBatch {
    const plan = this.planFor(batch.fields);
    const records = batch.records.map((rec) => {
      const full: unknown[] = plan.known.map((i) => (i < 0 ? null : (rec[i] ?? null)));
      const text = valueText(full[VALUE]);
      full[VALUE] = text;
      full[NUMERIC] = numericValue(text);
      const out = plan.keep.length === full.length ? full : plan.keep.map((j) => full[j]);
      for (const i of plan.others) out.push(rec[i] ?? null);
      return out;
    });
    return { ...batch, fields: plan.fields, records };
  }

  private planFor(input: string[]): EventPlan {
    const key = input.join('\u0000');
    let plan = this.plans.get(key);
    if (plan) return plan;
    const names = input.map((f) => EVENT_JSON_KEYS[f] ?? snakeCase(f));
    const known = EVENT_FIELDS.map((f, j) => (j === NUMERIC ? -1 : names.indexOf(f)));
    const others: number[] = [];
    const keep = EVENT_FIELDS.flatMap((_, j) =>
      known[j]! >= 0 || (j === NUMERIC && known[VALUE]! >= 0) ? [j] : [],
    );
    const fields = keep.map((j) => EVENT_FIELDS[j] as string);
    names.forEach((name, i) => {
      if (EVENT_FIELDS.includes(name) || fields.includes(name)) {
        if (!known.includes(i)) {
          // a second spelling of a dictionary field (or a computed one): keep it, under its raw name
          others.push(i);
          fields.push(input[i] as string);
        }
        return;
      }
      others.push(i);
      fields.push(name);
    });
    plan = { fields, known, keep, others };
    this.plans.set(key, plan);
    return plan;
  }
}

/**
 * Adds `snapshot_date` and replaces an empty `instance_id` (a customer without instances) by
 * `_none`: the mapper refuses an empty key part, and every instance-less customer is one row.
 */
export class CustomerInstanceShaper {
  private readonly plans = new Map<string, { fields: string[]; instance: number; date: number }>();

  constructor(private readonly snapshotDate: string) {}

  shape(batch: RecordBatch): RecordBatch {
    const key = batch.fields.join('\u0000');
    let plan = this.plans.get(key);
    if (!plan) {
      const date = batch.fields.indexOf(SNAPSHOT_DATE);
      const fields = date < 0 ? [...batch.fields, SNAPSHOT_DATE] : batch.fields;
      plan = {
        fields,
        instance: batch.fields.indexOf('instance_id'),
        date: date < 0 ? batch.fields.length : date,
      };
      this.plans.set(key, plan);
    }
    const { instance, date, fields } = plan;
    const width = batch.fields.length;
    for (const rec of batch.records) {
      while (rec.length < width) rec.push(null);
      if (instance >= 0 && (rec[instance] === null || rec[instance] === '' || rec[instance] === undefined)) {
        rec[instance] = NO_INSTANCE;
      }
      rec[date] = this.snapshotDate;
    }
    if (instance < 0) {
      // No instance_id at all (a Customers-only export): every row is keyed as instance-less.
      const withInstance = [...fields, 'instance_id'];
      return {
        ...batch,
        fields: this.sameArray(withInstance),
        records: batch.records.map((r) => [...r, NO_INSTANCE]),
      };
    }
    return { ...batch, fields };
  }

  private readonly arrays = new Map<string, string[]>();
  private sameArray(fields: string[]): string[] {
    const key = fields.join('\u0000');
    const found = this.arrays.get(key);
    if (found) return found;
    this.arrays.set(key, fields);
    return fields;
  }
}
