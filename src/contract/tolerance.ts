/**
 * Tolerance for the alternatives the docs leave open, applied to every stream's batches before
 * the mapper (src/engine/sources.ts wraps `read`):
 *  - a field spelled differently from the dictionary only by case or separators (`userAgent`,
 *    `User-Agent` for `user_agent`) is renamed to the dictionary's spelling, so it fills its typed
 *    column instead of becoming a second, dynamic one;
 *  - a `date` field sent as a timestamp at exactly midnight (`2024-01-15T00:00:00Z`,
 *    `2024-01-15 00:00:00`) becomes the date (`2024-01-15`); any other time of day is left as it is
 *    (it does not fit the column and goes to `_extra`, or fails the stream when it is the cursor).
 * What the readers already tolerate (src/http): CSV columns in any order and unknown columns (by
 * header name), a JSON array or an object wrapping it, timestamps with or without time and zone
 * (src/schema/temporal.ts). Unknown fields are kept (new column or `_extra`), never dropped.
 *
 * The output `fields` array is the same object for every batch with the same input array (the
 * mapper caches its column plan by identity), and a batch that needs nothing is passed through.
 */
import type { Logger, RecordBatch, StreamDefinition } from '../core/contracts.js';
import { midnightDate } from './formats.js';
import { fold } from './shape.js';

interface Plan {
  fields: string[];
  renames: Array<[string, string]>;
  /** Indexes of date fields whose values may need the midnight → date conversion. */
  dates: number[];
}

export class Tolerance {
  private readonly dictionary: string[];
  private readonly dateFields: Set<string>;
  private readonly plans = new WeakMap<string[], Plan>();
  private logged = false;

  constructor(
    stream: Pick<StreamDefinition, 'columns' | 'name'>,
    private readonly log?: Logger,
  ) {
    this.dictionary = stream.columns.map((c) => c.name);
    this.dateFields = new Set(stream.columns.filter((c) => c.type === 'date').map((c) => c.name));
  }

  apply(batch: RecordBatch): RecordBatch {
    const plan = this.planFor(batch.fields);
    if (plan.dates.length > 0) {
      for (const record of batch.records) {
        for (const i of plan.dates) {
          const v = record[i];
          if (typeof v === 'string' && v.length > 10) {
            const day = midnightDate(v);
            if (day !== undefined) record[i] = day;
          }
        }
      }
    }
    return plan.fields === batch.fields ? batch : { ...batch, fields: plan.fields };
  }

  private planFor(input: string[]): Plan {
    let plan = this.plans.get(input);
    if (plan) return plan;
    const present = new Set(input);
    const taken = new Set<string>();
    const renames: Array<[string, string]> = [];
    const fields = input.map((f) => {
      if (this.dictionary.includes(f)) return f;
      const target = this.dictionary.find((d) => fold(d) === fold(f));
      if (target === undefined || present.has(target) || taken.has(target)) return f;
      taken.add(target);
      renames.push([f, target]);
      return target;
    });
    const dates = fields.flatMap((f, i) => (this.dateFields.has(f) ? [i] : []));
    plan = { fields: renames.length > 0 ? fields : input, renames, dates };
    this.plans.set(input, plan);
    if (renames.length > 0 && !this.logged) {
      this.logged = true;
      this.log?.info(
        { renamed: Object.fromEntries(renames) },
        'source fields spelled differently from the dictionary; read under the dictionary name',
      );
    }
    return plan;
  }
}

/** Wraps `stream.read` (in place) so every batch goes through a Tolerance. */
export function tolerate(stream: StreamDefinition): StreamDefinition {
  const read = stream.read.bind(stream);
  stream.read = async function* (window, ctx, unit) {
    const tolerance = new Tolerance(stream, ctx.log);
    for await (const batch of read(window, ctx, unit)) yield tolerance.apply(batch);
  };
  return stream;
}
