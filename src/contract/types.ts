/**
 * The contract of one stream as the connectors write it (connectors/<name>/contract.ts): the
 * engine's `StreamContract` plus what `check --contract` and the simulators need to compare and
 * reproduce the source exactly. Every point says whether it is confirmed or assumed, and where it
 * comes from, so a user reading a `differs` verdict knows whether the docs or our guess was wrong.
 *
 * A wrong point here is not harmless documentation: the connectors read `endInclusive` and the
 * simulators read field names, formats and end-date semantics from it. Flip `endInclusive` and
 * every request's end date moves by a day (and the simulator's answer with it).
 */
import type { ContractPoint, LogicalType, StreamContract } from '../core/contracts.js';

/** Query parameter → what it means (shown by `check --contract` and docs/contracts.md). */
export type ContractParams = Record<string, ContractPoint<string>>;

export interface SourceContract extends StreamContract {
  /** Query parameters and their date semantics. */
  params: ContractParams;
  /**
   * The field that dates a row (as the source spells it). Absent for snapshot streams, whose date
   * the connector fills. `check --contract` probes the end-date semantics with it; a run fails the
   * stream when it is missing or does not parse (rows could not be windowed or ordered).
   */
  cursor?: ContractPoint<string>;
  /** Text shape of temporal fields as sent (see formats.ts: `YYYY-MM-DDTHH:MM:SS.sssZ`, `YYYY-MM-DD`). */
  formats: Record<string, ContractPoint<string>>;
  /** Fields the connector adds itself; never expected from the source. */
  computed?: string[];
  /** Fields a response may lack (optional keys, per-breakdown fields): not reported missing. */
  optional?: string[];
  /** Prefixes of documented dynamic field families (`custom_metric__`): not reported as extra. */
  dynamic?: string[];
  /** JSON: the member wrapping the record array (`events`), when the format is json-object. */
  wrapper?: ContractPoint<string>;
}

export type ContractMap = Readonly<Record<string, SourceContract>>;

export const confirmed = <T>(value: T, source: string): ContractPoint<T> => ({
  value,
  status: 'confirmed',
  source,
});

export const assumed = <T>(value: T, source: string): ContractPoint<T> => ({
  value,
  status: 'assumed',
  source,
});

/** Field points from a dictionary: every field with one status and source, except `overrides`. */
export function fieldPoints(
  columns: ReadonlyArray<{ name: string; type: LogicalType }>,
  status: 'confirmed' | 'assumed',
  source: string,
  overrides: Record<string, ContractPoint<LogicalType>> = {},
): Record<string, ContractPoint<LogicalType>> {
  return Object.fromEntries(
    columns.map((c) => [c.name, overrides[c.name] ?? { value: c.type, status, source }]),
  );
}

/** The richer fields when `contract` is a SourceContract (the engine only knows StreamContract). */
export function asSourceContract(contract: StreamContract): Partial<SourceContract> & StreamContract {
  return contract as Partial<SourceContract> & StreamContract;
}
