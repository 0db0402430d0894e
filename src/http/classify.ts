/**
 * Classification of HTTP outcomes into SourceErrors, done once here at the boundary. Everything
 * above acts on `retryable` only: a 4xx classed as retryable burns the retry budget against a
 * request that can never succeed; a reset classed as fatal fails a whole run over a blip.
 */
import { STATUS_CODES } from 'node:http';
import { SourceError } from '../core/errors.js';

/** Statuses worth another attempt: request timeout, rate limit, transient server failures. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Causes of `fetch failed` that retrying cannot cure (TLS trust, malformed requests). */
const FATAL_NETWORK_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UND_ERR_INVALID_ARG',
  'ERR_INVALID_URL',
  'ERR_INVALID_PROTOCOL',
]);

/** URL without query string or credentials: what logs and error messages name. */
export function endpointOf(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export function statusLine(status: number): string {
  const text = STATUS_CODES[status];
  return text === undefined ? `HTTP ${status}` : `HTTP ${status} ${text}`;
}

/**
 * Delay requested by a `Retry-After` header (delta seconds or HTTP-date), capped at `maxMs`.
 * Undefined when absent or unparseable, so the caller falls back to backoff.
 */
export function retryAfterMs(header: string | null, maxMs: number, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), maxMs);
}

/** Exponential backoff with equal jitter: attempt 1 waits ~min, each later one doubles, capped. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** The innermost `code`/message of a fetch/undici error chain, e.g. "ECONNRESET: read ECONNRESET". */
export function describeCause(err: unknown): { code?: string; text: string } {
  let current: unknown = err;
  let code: string | undefined;
  const parts: string[] = [];
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    if (current.message && !parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  const text = parts.join(': ') || String(err);
  return code === undefined ? { text } : { code, text: text.includes(code) ? text : `${code}: ${text}` };
}

/** A rejection of `fetch()` itself (no status): connection refused/reset, DNS, TLS. */
export function networkError(err: unknown, endpoint: string): SourceError {
  const { code, text } = describeCause(err);
  const fatal = code !== undefined && FATAL_NETWORK_CODES.has(code);
  const isFetchFailure = err instanceof TypeError || code !== undefined;
  return new SourceError(`GET ${endpoint} failed: ${text}`, {
    url: endpoint,
    code,
    retryable: isFetchFailure && !fatal,
    cause: err,
  });
}

/**
 * A 4xx (or unexpected) status the caller did not accept. `bodyText` is the start of the
 * response body; Scarf's error shape `{message, code}` is lifted into the message and
 * `details.code`, anything else is quoted (≤300 chars).
 */
export function statusError(status: number, endpoint: string, bodyText: string): SourceError {
  let detail = '';
  let code: string | undefined;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed !== null && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      const msg =
        typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : undefined;
      if (typeof o.code === 'string') code = o.code;
      if (msg !== undefined) detail = code === undefined ? msg : `${msg} (code ${code})`;
    }
  } catch {
    // not JSON: quote the text below
  }
  if (detail === '') detail = bodyText.replace(/\s+/g, ' ').trim();
  if (detail.length > 300) detail = `${detail.slice(0, 297)}...`;
  const hint =
    status === 401
      ? ' (the API token was rejected)'
      : status === 403
        ? ' (the API token was rejected or lacks access to this resource)'
        : '';
  const message = `${statusLine(status)} from GET ${endpoint}${hint}${detail ? `: ${detail}` : ''}`;
  return new SourceError(message, { status, code, url: endpoint, retryable: false });
}
