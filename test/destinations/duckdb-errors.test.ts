/**
 * DuckDB errors carry only text; the classification decides whether a window is fetched again. A
 * full disk must not be retried (each retry re-fetches, and Scarf bills, the window), while a
 * transaction conflict must be.
 */
import { expect, test } from 'vitest';
import { DestinationError, LockedError } from '../../src/core/errors.js';
import { classifyDuckDbError } from '../../src/destinations/duckdb/duckdb-errors.js';

const classify = (message: string) =>
  classifyDuckDbError(new Error(message), 'commit of scarf.events into scarf_events', {
    path: '/d/w.duckdb',
  });

test('full-disk-wal-write-is-not-retried-and-says-what-to-do', () => {
  const err = classify(
    'TransactionContext Error: Failed to commit: Could not write file "/d/w.duckdb.wal": No space left on device',
  );
  expect(err).toBeInstanceOf(DestinationError);
  expect(err.retryable).toBe(false);
  expect(err.message).toMatch(/No space left on device \(free space on the volume holding the database file/);
});

test('a-transaction-conflict-is-retried', () => {
  const err = classify('TransactionContext Error: Catalog write-write conflict on create with "t"');
  expect(err.retryable).toBe(true);
});

test('the-file-held-by-another-process-reads-as-locked', () => {
  const err = classify(
    'IO Error: Could not set lock on file "/d/w.duckdb": Conflicting lock is held in node (PID 42)',
  );
  expect(err).toBeInstanceOf(LockedError);
  expect(err.message).toContain('w.duckdb is open in another process (pid 42)');
});
