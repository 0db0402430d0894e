/**
 * Checks every destination makes before staging or committing, whatever its dialect. If a backend
 * skipped them, a malformed schema or row would surface as an obscure SQL error mid-commit (or, for
 * a row wider than its schema, as values silently shifted into the wrong columns).
 */
import type { CommitRequest, CsvRows, Row, TableSchema } from '../core/contracts.js';
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

/**
 * What can be checked of encoded lines without reading them: their width is the schema's (else
 * every value would land one column off, or the COPY fail far from the cause), and the text is
 * whole lines (else the last line would run into the next batch's first).
 */
export function assertCsvRowsFit(streamKey: string, rows: CsvRows, schema: TableSchema): void {
  const width = schema.columns.length;
  if (rows.width !== width) {
    throw new DestinationError(
      `${streamKey}: encoded rows have ${rows.width} fields per line but the schema has ${width} columns`,
    );
  }
  const { text } = rows;
  if ((text.length === 0) !== (rows.rows === 0) || (text.length > 0 && text[text.length - 1] !== 0x0a)) {
    throw new DestinationError(
      `${streamKey}: encoded rows are not ${rows.rows} whole line(s) (${text.length} bytes, last byte ${text.length > 0 ? text[text.length - 1] : 'none'})`,
    );
  }
}
