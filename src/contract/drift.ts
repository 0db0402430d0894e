/**
 * Compares what a stream actually returned with its contract (`StreamDefinition.contract`) on the
 * first batch of each run:
 *  - a point that would lose or double data (the key or cursor field missing, always empty, or not
 *    parsing as its type) throws a DataError: the stream fails with nothing of the window
 *    committed, the other streams go on, and the message says which point and what was seen;
 *  - any other difference (a field missing or renamed, an extra field, a value of another type,
 *    another timestamp format) is logged once per stream per run as one warning.
 * A field the contract names that stopped coming is the early sign of a rename: without the
 * warning its column would silently fill with NULLs while the renamed field lands in a new column.
 */
import type { Logger, RecordBatch, StreamContract } from '../core/contracts.js';
import { DataError } from '../core/errors.js';
import { compareShape, missingAndExtra, type PointVerdict } from './compare.js';
import { fold, shapeOf } from './shape.js';

export interface FieldDrift {
  /** Contract fields absent from the response. */
  missing: string[];
  /** Response fields the contract does not name. */
  extra: string[];
}

/** Field names compared case- and separator-insensitively (`appId` ~ `app_id`). */
export function fieldDrift(contract: StreamContract, fields: string[]): FieldDrift {
  const seen = new Set(fields.map(fold));
  const expected = Object.keys(contract.fields);
  const known = new Set(expected.map(fold));
  return {
    missing: expected.filter((f) => !seen.has(fold(f))),
    extra: fields.filter((f) => !known.has(fold(f))),
  };
}

/** The verdicts of one batch against a contract (what `observe` acts on). */
export function firstPageVerdicts(contract: StreamContract, batch: RecordBatch): PointVerdict[] {
  return compareShape(contract, shapeOf(batch, contract));
}

/** One per run: remembers which streams were already compared. */
export class DriftWatcher {
  private readonly seen = new Set<string>();

  /**
   * Compares the first batch of `streamKey` in this run; later batches are ignored. Throws a
   * DataError (not retryable: the stream fails, nothing of the window is committed) when a
   * corrupting point differs; warns once when anything else does.
   */
  observe(streamKey: string, contract: StreamContract | undefined, batch: RecordBatch, log: Logger): void {
    if (!contract || this.seen.has(streamKey) || batch.fields.length === 0) return;
    this.seen.add(streamKey);
    const verdicts = firstPageVerdicts(contract, batch);
    const corrupting = verdicts.filter((v) => v.corrupting);
    if (corrupting.length > 0) {
      const first = corrupting[0] as PointVerdict;
      throw new DataError(
        `${streamKey}: the source's answer breaks the stream contract; loading it would lose or double data, so nothing was loaded: ` +
          `${corrupting.map((v) => `${v.point}: ${v.message}`).join('; ')}. ` +
          'Run `exportsync check --contract` and attach its output file to a report',
        { stream: streamKey, ...(first.field ? { field: first.field } : {}) },
      );
    }
    const differs = verdicts.filter((v) => v.verdict === 'differs');
    if (differs.length === 0) return;
    const { missing, extra } = missingAndExtra(verdicts);
    log.warn(
      {
        stream: streamKey,
        missing,
        extra,
        differs: differs.map((v) => `${v.point}: ${v.message}`),
      },
      'the source response differs from the stream contract: run `exportsync check --contract` and report it',
    );
  }
}
