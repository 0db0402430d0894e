/**
 * The one place a snowflake-sdk error becomes a DestinationError, by Snowflake error code:
 *   reconnect — the session is gone (expired token the driver could not renew, deleted session,
 *     terminated connection): retryable, and the session is discarded so the next attempt logs in
 *     again. A load on such a session lost its temporary staging table, so its window restarts.
 *   retry — transient server conditions (warehouse suspended or resuming, statement timeout,
 *     lock contention, transaction conflict, network): retryable on the same or a new session.
 *   terminal — everything else, notably SQL compilation errors (42xxx, 001003, 002003, 000904):
 *     the message names the statement, since the same SQL will fail again.
 * Marking a terminal error retryable burns every window attempt on SQL that can never pass; a
 * dead session marked terminal fails a whole stream for a token that one login would renew.
 */
import { DestinationError, ExportSyncError, redactSecrets } from '../../core/errors.js';

/** Server codes (and driver codes for a terminated connection) meaning "this session is gone". */
const RECONNECT = new Set(['390104', '390111', '390112', '390114', '401004', '407001', '407002', '405503']);

/** Transient server codes: warehouse suspended/unavailable, timeouts, lock waits, conflicts, network. */
const RETRY = new Set([
  '000608', // warehouse suspended
  '000625', // statement aborted (conflicting transaction, lock waiters)
  '000630', // statement or warehouse timeout
  '000604', // statement canceled
  '000603', // internal error, processing aborted; retry
  '390423', // warehouse is resuming / cannot be resumed right now
  '401001', // driver: could not connect
  '401002', // driver: HTTP request failed after the driver's own retries
  '402001', // driver: could not fetch a result chunk
]);

const COMPILATION = new Set(['001003', '002003', '000904', '002043', '001044', '000002']);

export type ErrorAction = 'reconnect' | 'retry' | 'terminal';

interface SfLikeError {
  message?: string;
  code?: string | number;
  sqlState?: string;
  data?: { queryId?: string };
}

function codeOf(err: unknown): string | undefined {
  const code = (err as SfLikeError | undefined)?.code;
  return code === undefined || code === null ? undefined : String(code);
}

export function errorAction(err: unknown): ErrorAction {
  const code = codeOf(err);
  if (code && RECONNECT.has(code)) return 'reconnect';
  if (code && RETRY.has(code)) return 'retry';
  const nodeCode = (err as { cause?: { code?: string } })?.cause?.code;
  if (nodeCode && /^E(CONNRESET|CONNREFUSED|TIMEDOUT|PIPE|AI_AGAIN|HOSTUNREACH)$/.test(nodeCode))
    return 'retry';
  return 'terminal';
}

export function isCompilationError(err: unknown): boolean {
  const code = codeOf(err);
  const sqlState = (err as SfLikeError | undefined)?.sqlState;
  return (code !== undefined && COMPILATION.has(code)) || (sqlState?.startsWith('42') ?? false);
}

/** Statement text for messages: identifiers only (values are bound), whitespace folded, cut. */
export function statementSummary(sql: string, max = 300): string {
  const folded = sql.replace(/\s+/g, ' ').trim();
  return folded.length > max ? `${folded.slice(0, max)}…` : folded;
}

/**
 * Wraps `err` with `context` ("commit of scarf.events"), the Snowflake code and query id, and for
 * compilation errors the statement. ExportSyncErrors pass through (classified exactly once).
 */
export function classifySnowflakeError(err: unknown, context: string, statement?: string): ExportSyncError {
  if (err instanceof ExportSyncError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SfLikeError;
  const code = codeOf(err);
  const action = errorAction(err);
  const parts = [`${context}: ${(e.message ?? String(err)).trim()}`];
  if (code) parts.push(`(Snowflake ${code}${e.sqlState ? `, SQLSTATE ${e.sqlState}` : ''})`);
  if (e.data?.queryId) parts.push(`query id ${e.data.queryId}`);
  if (statement && isCompilationError(err)) parts.push(`in statement: ${statementSummary(statement)}`);
  if (action === 'reconnect') parts.push('(session lost; reconnecting)');
  return new DestinationError(redactSecrets(parts.join(' ')), {
    code,
    retryable: action !== 'terminal',
    cause: err,
    statement: statement === undefined ? undefined : statement.slice(0, 2000),
  });
}
