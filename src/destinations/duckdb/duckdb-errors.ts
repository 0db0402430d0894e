/**
 * The one place a DuckDB error becomes a DestinationError (or LockedError). DuckDB errors carry
 * no code, only a message prefixed with their class ("Conversion Error: …"), so the class is
 * parsed from the text once, here. Getting this wrong either retries what can never succeed
 * (a constraint violation) or gives up on what would (a transaction conflict), and a file held
 * by another process must read as "locked" (exit code 4), not as a crash.
 */
import { basename } from 'node:path';
import { DestinationError, ExportSyncError, LockedError, redactSecrets } from '../../core/errors.js';

/**
 * The disk is full or the file cannot be written: no retry can succeed until someone frees space,
 * and each retry would fetch (and, for Scarf, pay for) the window again. DuckDB reports a failed
 * WAL write as a "TransactionContext Error", so this is tested before CONFLICT.
 */
const NO_SPACE = /No space left on device|Disk quota exceeded|File too large/i;
/** DuckDB's single-writer file lock: another process has the database file open. */
const FILE_LOCK = /Could not set lock on file "([^"]*)"(?:.*?PID (\d+))?/s;
/** Optimistic-concurrency conflicts between transactions of one process: safe to retry. */
const CONFLICT =
  /TransactionContext Error|Conflict on (update|tuple|insert)|write-write conflict|Catalog write-write conflict/i;

/** The error class DuckDB put in front of the message ("Conversion", "Constraint", "IO", …). */
export function duckDbErrorClass(message: string): string | undefined {
  return /^([A-Za-z][A-Za-z ]*?) Error:/.exec(message)?.[1];
}

/**
 * A LockedError when another process holds the file, naming the file and the holder's pid.
 * `path` is the file this destination opens (used when the message lacks it).
 */
export function lockedError(message: string, path: string): LockedError | undefined {
  const m = FILE_LOCK.exec(message);
  if (!m) return undefined;
  const file = basename(m[1] || path);
  const pid = m[2] ? ` (pid ${m[2]})` : '';
  return new LockedError(
    `${file} is open in another process${pid}; DuckDB allows one process per database file, so wait for it to finish or stop it`,
  );
}

/**
 * Wraps `err` with `context` (what we were doing: "commit of scarf.events into events"), the
 * DuckDB error class as `code`, and the statement (identifiers only: values are always bound).
 * ExportSyncErrors pass through unchanged so an error is classified exactly once.
 */
export function classifyDuckDbError(
  err: unknown,
  context: string,
  options: { path?: string; statement?: string } = {},
): ExportSyncError {
  if (err instanceof ExportSyncError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const locked = lockedError(raw, options.path ?? '');
  if (locked) return locked;
  const code = duckDbErrorClass(raw);
  const noSpace = NO_SPACE.test(raw);
  const retryable = !noSpace && CONFLICT.test(raw);
  let message = `${context}: ${raw.split('\n')[0]}`;
  if (noSpace) message += ' (free space on the volume holding the database file, then run again)';
  if (code === 'Conversion' && context.startsWith('commit')) {
    // Staged values are canonical text for their type, so a failing CAST is a bug upstream.
    message +=
      ' (a staged value is not canonical for its column type: this is a bug in exportsync, please report it)';
  }
  return new DestinationError(redactSecrets(message), {
    code,
    retryable,
    cause: err,
    statement: options.statement === undefined ? undefined : options.statement.slice(0, 2000),
  });
}
