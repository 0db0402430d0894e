/**
 * The one place a BigQuery API or job error becomes a DestinationError. Everything above acts on
 * `retryable`: if a rate limit, a backend error or a concurrent-update abort were not retryable a
 * window would fail for nothing; if an invalid query were, the run would retry a statement that
 * can never succeed (and pay for it each time).
 */
import { DestinationError, ExportSyncError, redactSecrets } from '../../core/errors.js';

/** `errors[].reason` values BigQuery documents as transient ("retry with exponential backoff"). */
const RETRYABLE_REASONS = new Set([
  'backendError',
  'internalError',
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'jobRateLimitExceeded',
  'jobBackendError',
  'jobInternalError',
  'tableUnavailable',
]);
const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENOTFOUND',
]);
/** Transactions and DML aborted by another writer of the same table: the retry runs alone. */
const CONCURRENT = /concurrent update|could not serialize access|aborted due to concurrent/i;

interface ApiLikeError {
  message?: string;
  code?: number | string;
  errors?: Array<{ reason?: string; message?: string; location?: string }>;
  errorResult?: { reason?: string; message?: string };
}

/** The API reason of an error (first of `errors[]`), e.g. 'notFound', 'duplicate', 'invalidQuery'. */
export function reasonOf(err: unknown): string | undefined {
  const e = err as ApiLikeError | null;
  return e?.errors?.[0]?.reason ?? e?.errorResult?.reason;
}

export function isNotFound(err: unknown): boolean {
  const e = err as ApiLikeError | null;
  return e?.code === 404 || reasonOf(err) === 'notFound';
}

export function isDuplicate(err: unknown): boolean {
  const e = err as ApiLikeError | null;
  return e?.code === 409 || reasonOf(err) === 'duplicate';
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof ExportSyncError) return err.retryable;
  const e = (err ?? {}) as ApiLikeError;
  const reasons = (e.errors ?? []).map((x) => x.reason ?? '');
  if (e.errorResult?.reason) reasons.push(e.errorResult.reason);
  if (reasons.some((r) => RETRYABLE_REASONS.has(r))) return true;
  if (typeof e.code === 'number' && (e.code === 429 || e.code >= 500)) return true;
  if (typeof e.code === 'string' && RETRYABLE_NODE_CODES.has(e.code)) return true;
  const text = [e.message ?? '', ...(e.errors ?? []).map((x) => x.message ?? '')].join(' ');
  return CONCURRENT.test(text);
}

/**
 * Wraps `err` as a DestinationError with `context` (what we were doing), the API reason as
 * `code`, and the statement (identifiers only: values are parameters). ExportSyncErrors pass
 * through unchanged so an error is classified exactly once.
 */
export function classifyBigQueryError(err: unknown, context: string, statement?: string): ExportSyncError {
  if (err instanceof ExportSyncError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ApiLikeError;
  const reason = reasonOf(err) ?? (typeof e.code === 'string' ? e.code : undefined);
  const messages = new Set<string>([e.message ?? String(err)]);
  for (const x of e.errors ?? []) if (x.message) messages.add(x.message);
  const text = [...messages].join('; ');
  return new DestinationError(redactSecrets(`${context}: ${text}${reason ? ` (${reason})` : ''}`), {
    code: reason,
    retryable: isRetryable(err),
    cause: err,
    statement: statement?.slice(0, 2000),
  });
}
