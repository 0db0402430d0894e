/**
 * Contract variants of the Scarf simulator: each breaks ONE assumption of connectors/scarf/contract.ts
 * so a test can show that `check --contract` reports it precisely and that a run fails (when the
 * difference would corrupt data) or warns and loads (when it is tolerated). Without a variant the
 * simulator serves exactly the contract: its header is the contract's field list, its `time` is in
 * the contract's format and its `end_date` has the contract's semantics.
 *
 * A variant is applied where the response is written (the `/events`-shaped CSV routes), never to
 * the ground truth (`sim.rows`): a tolerated variant must load exactly the truth.
 */
import { formatTimestamp } from '../../src/contract/formats.js';
import { SCARF_EVENTS_CONTRACT } from './contract.js';

export interface ScarfContractVariant {
  /** Header names replaced in event CSVs: `{ time: 'timestamp' }` (a renamed field). */
  renameFields?: Record<string, string>;
  /** Fields left out of event CSVs entirely. */
  dropFields?: string[];
  /** Event CSV columns in reverse order (CSV columns in any order). */
  reverseColumns?: boolean;
  /** end_date includes its day (default: the contract's `endInclusive`). */
  endInclusive?: boolean;
  /** Format of `time` (formats.ts names; default: the contract's). */
  timeFormat?: string;
}

/** The contract's own points the simulator serves by default. */
export const CONTRACT_TIME_FORMAT = SCARF_EVENTS_CONTRACT.formats.time?.value ?? 'YYYY-MM-DDTHH:MM:SS.sssZ';
export const CONTRACT_END_INCLUSIVE = SCARF_EVENTS_CONTRACT.endInclusive?.value ?? true;
export const CONTRACT_EVENT_FIELDS: readonly string[] = Object.keys(SCARF_EVENTS_CONTRACT.fields);

/** True when the variant changes nothing about the CSV body (the fast path). */
function plain(v: ScarfContractVariant): boolean {
  return (
    !v.renameFields &&
    !(v.dropFields && v.dropFields.length > 0) &&
    !v.reverseColumns &&
    (v.timeFormat === undefined || v.timeFormat === CONTRACT_TIME_FORMAT)
  );
}

/** Rows (header first) as the variant serves them. */
export function* variantRows(rows: Iterable<string[]>, v: ScarfContractVariant): Generator<string[]> {
  if (plain(v)) {
    yield* rows;
    return;
  }
  let order: number[] | undefined;
  let timeAt = -1;
  for (const row of rows) {
    if (!order) {
      const header = row;
      timeAt = header.indexOf('time');
      order = header.map((_, i) => i).filter((i) => !(v.dropFields ?? []).includes(header[i] as string));
      if (v.reverseColumns) order.reverse();
      yield order.map((i) => v.renameFields?.[header[i] as string] ?? (header[i] as string));
      continue;
    }
    if (timeAt >= 0 && v.timeFormat && v.timeFormat !== CONTRACT_TIME_FORMAT && row[timeAt]) {
      row[timeAt] = formatTimestamp(Date.parse(row[timeAt] as string), v.timeFormat);
    }
    yield order.map((i) => row[i] ?? '');
  }
}
