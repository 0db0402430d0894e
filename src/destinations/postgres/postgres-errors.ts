/**
 * The one place a pg / network error becomes a DestinationError (or LockedError). Everything above
 * acts on `retryable`: if a deadlock or a dropped connection is not marked retryable the window
 * fails for nothing; if a constraint violation is, the run retries a batch that can never load.
 */
import { DestinationError, ExportSyncError, redactSecrets } from '../../core/errors.js';

/** SQLSTATEs worth retrying: serialization, deadlock, lock timeout, shutdown, resources, connection class 08. */
const RETRYABLE_SQLSTATE = new Set([
  '40001',
  '40P01',
  '55P03',
  '57P01',
  '57P02',
  '57P03',
  '53000',
  '53100',
  '53200',
  '53300',
  '53400',
]);
const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

interface PgLikeError {
  message?: string;
  code?: string;
  detail?: string;
  hint?: string;
  column?: string;
  table?: string;
}

export function isRetryableSqlState(code: string | undefined): boolean {
  if (!code) return false;
  return code.startsWith('08') || RETRYABLE_SQLSTATE.has(code);
}

/**
 * Wraps `err` as a DestinationError with `context` (what we were doing: "commit scarf.events"),
 * the SQLSTATE or node error code, and the statement text (identifiers only: values are bound).
 * ExportSyncErrors pass through unchanged so an error is classified exactly once.
 */
export function classifyPgError(err: unknown, context: string, statement?: string): ExportSyncError {
  if (err instanceof ExportSyncError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as PgLikeError;
  const raw = e.message ?? String(err);
  let code = e.code;
  let retryable: boolean;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    retryable = isRetryableSqlState(code);
  } else if (code && RETRYABLE_NODE_CODES.has(code)) {
    retryable = true;
  } else if (
    /connection terminated|connection ended|terminating connection|server closed the connection/i.test(raw)
  ) {
    code = '08006';
    retryable = true;
  } else {
    retryable = false;
  }
  const parts = [`${context}: ${raw}`];
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (e.hint) parts.push(`hint: ${e.hint}`);
  if (code) parts.push(`(${/^[0-9A-Z]{5}$/.test(code) ? 'SQLSTATE ' : ''}${code})`);
  return new DestinationError(redactSecrets(parts.join(' ')), {
    code,
    retryable,
    cause: err,
    statement: statement === undefined ? undefined : statement.slice(0, 2000),
  });
}
