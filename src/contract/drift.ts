/**
 * Compares what a stream actually returned with its contract (`StreamDefinition.contract`) on the
 * first batch of each run, and warns once per stream per run when the shape drifted. A field the
 * contract names that stopped coming is the early sign of a rename: without the warning its column
 * would silently fill with NULLs while the renamed field lands in `_extra`.
 */
import type { Logger, RecordBatch, StreamContract } from '../core/contracts.js';

export interface FieldDrift {
  /** Contract fields absent from the response. */
  missing: string[];
  /** Response fields the contract does not name. */
  extra: string[];
}

/** Field names compared case- and separator-insensitively (`appId` ~ `app_id`). */
export function fieldDrift(contract: StreamContract, fields: string[]): FieldDrift {
  const fold = (name: string) => name.replace(/[_\-\s]/g, '').toLowerCase();
  const seen = new Set(fields.map(fold));
  const expected = Object.keys(contract.fields);
  const known = new Set(expected.map(fold));
  return {
    missing: expected.filter((f) => !seen.has(fold(f))),
    extra: fields.filter((f) => !known.has(fold(f))),
  };
}

/** One per run: remembers which streams were already compared. */
export class DriftWatcher {
  private readonly seen = new Set<string>();

  /** Compares the first batch of `streamKey` in this run; later batches are ignored. */
  observe(streamKey: string, contract: StreamContract | undefined, batch: RecordBatch, log: Logger): void {
    if (!contract || this.seen.has(streamKey) || batch.fields.length === 0) return;
    this.seen.add(streamKey);
    const drift = fieldDrift(contract, batch.fields);
    if (drift.missing.length === 0 && drift.extra.length === 0) return;
    log.warn(
      { stream: streamKey, missing: drift.missing, extra: drift.extra },
      'the source response differs from the stream contract: run `exportsync check --contract` and report it',
    );
  }
}
