/**
 * Checks every destination makes before staging or committing, whatever its dialect. If a backend
 * skipped them, a malformed schema or row would surface as an obscure SQL error mid-commit (or, for
 * a row wider than its schema, as values silently shifted into the wrong columns).
 */
import type { CommitRequest, Row, TableSchema } from '../core/contracts.js';
import { DestinationError } from '../core/errors.js';

/** A schema a commit can apply: a timestamp/date cursor, key columns present, a key for merge/snapshot. */
export function validateSchema(schema: TableSchema, mode: CommitRequest['mode']): void {
  const names = new Set(schema.columns.map((c) => c.name));
  const cursor = schema.columns.find((c) => c.name === schema.cursorColumn);
  if (!cursor || (cursor.type !== 'timestamp' && cursor.type !== 'date')) {
    throw new DestinationError(
      `${schema.table}: cursor column ${schema.cursorColumn} must be a timestamp or date column of the schema`,
    );
  }
  for (const k of schema.primaryKey) {
    if (!names.has(k)) throw new DestinationError(`${schema.table}: key column ${k} is not in the schema`);
  }
  if ((mode === 'merge' || mode === 'snapshot') && schema.primaryKey.length === 0) {
    throw new DestinationError(`${schema.table}: ${mode} needs a primary key`);
  }
}

/** Rows may be shorter than the schema (trailing NULLs), never longer. */
export function assertRowsFit(streamKey: string, rows: Row[], schema: TableSchema): void {
  const width = schema.columns.length;
  for (const row of rows) {
    if (row.length > width) {
      throw new DestinationError(
        `${streamKey}: a row has ${row.length} values but the schema has ${width} columns`,
      );
    }
  }
}

/**
 * A load's staging follows the schema as it grows: columns may be appended, never dropped, renamed
 * or reordered. A staged row is positional, so a reordered schema would put values in the wrong
 * columns without any error.
 */
export function assertAppendOnly(
  streamKey: string,
  staged: ReadonlyArray<{ name: string }>,
  schema: TableSchema,
): void {
  if (schema.columns.length < staged.length) {
    throw new DestinationError(
      `${streamKey}: the schema lost columns (${staged.length} → ${schema.columns.length})`,
    );
  }
  for (const [i, old] of staged.entries()) {
    const c = schema.columns[i]!;
    if (c.name !== old.name) {
      throw new DestinationError(
        `${streamKey}: column ${i + 1} was ${old.name} and is now ${c.name}; columns may only be appended`,
      );
    }
  }
}
