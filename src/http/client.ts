/**
 * The HTTP client every connector uses (one per source per run): Node's fetch plus the retry,
 * timeout and budget policy, so connectors never write their own.
 * - Status phase, retried with p-retry up to `retryAttempts` attempts in all: 408, 429 (waits
 *   `Retry-After`, seconds or HTTP-date, capped at `retryMaxDelayMs`; also honoured on 503),
 *   500/502/503/504, resets/refusals ("fetch failed") and `requestTimeoutMs` without headers.
 *   Other statuses throw SourceError retryable=false naming status, endpoint and the body's
 *   message/code; `acceptStatus` returns them instead. Exhausted retries => retryable=false
 *   "gave up after N attempts: <last reason>".
 * - Body phase: a stream with the same idle timeout per chunk; a failure there is a retryable
 *   SourceError, the engine re-reads the window. Every attempt counts against `maxRequests`.
 * - Never logs headers or query strings; an abort of `signal` rejects with the signal's reason.
 */
import pRetry from 'p-retry';
import type { HttpClient, HttpRequestOptions, HttpResponse, Logger } from '../core/contracts.js';
import { SourceError, rememberSecret } from '../core/errors.js';
import { discardBody, readExcerpt, streamBody, type BodyOptions } from './body.js';
import {
  RETRYABLE_STATUSES,
  backoffMs,
  endpointOf,
  networkError,
  retryAfterMs,
  statusError,
  statusLine,
} from './classify.js';

export interface HttpClientOptions {
  log: Logger;
  /** Total attempts including the first (DEFAULTS.retry_attempts). */
  retryAttempts: number;
  retryMinDelayMs: number;
  retryMaxDelayMs: number;
  /** No byte (headers or body chunk) for this long => timeout, retryable. */
  requestTimeoutMs: number;
  /** Per-source request budget per run (attempts, retries included). */
  maxRequests: number;
  /** Default headers, e.g. Authorization. Never logged. */
  headers?: Record<string, string>;
  userAgent?: string;
  /** Injectable for tests; must reject with `signal.reason` when aborted. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DEFAULT_USER_AGENT = 'exportsync';

/** Delay a retryable failure asked for (Retry-After), keyed by the error it rode on. */
const requestedDelay = new WeakMap<Error, number>();

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Header names whose values are credentials. */
const SECRET_HEADER = /authorization|token|api[-_]?key|secret|cookie|password/i;

/**
 * Registers the credentials among `headers` with `rememberSecret`, so every error message built
 * later (e.g. from an error body that quotes the token back) has them removed.
 */
function rememberCredentials(headers: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {}))
    if (SECRET_HEADER.test(name)) rememberSecret(value);
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const log = options.log.child({ component: 'http' });
  rememberCredentials(options.headers);
  const sleep = options.sleep ?? abortableSleep;
  const attempts = Math.max(1, Math.floor(options.retryAttempts));
  let requestCount = 0;

  async function attempt(url: URL, endpoint: string, request: HttpRequestOptions): Promise<HttpResponse> {
    if (requestCount >= options.maxRequests) {
      throw new SourceError(
        `request budget exhausted: ${options.maxRequests} requests already made by this source in this run ` +
          `(max_requests_per_run); not sending GET ${endpoint}`,
        { url: endpoint, retryable: false },
      );
    }
    requestCount++;
    const controller = new AbortController();
    const { signal } = request;
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let closed = false;
    const body: BodyOptions = {
      controller,
      signal,
      idleTimeoutMs: options.requestTimeoutMs,
      endpoint,
      onClose: () => {
        if (closed) return;
        closed = true;
        signal?.removeEventListener('abort', onAbort);
      },
    };
    // a server may quote the credentials back ("token abc123 is not valid"): errors must not
    rememberCredentials(request.headers);
    const headers: Record<string, string> = {
      'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
      ...options.headers,
      ...request.headers,
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, options.requestTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
    } catch (err) {
      body.onClose();
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        throw new SourceError(`no response within ${options.requestTimeoutMs} ms from GET ${endpoint}`, {
          url: endpoint,
          retryable: true,
          cause: err,
        });
      }
      throw networkError(err, endpoint);
    } finally {
      clearTimeout(timer);
    }

    const { status } = response;
    const accepted = (status >= 200 && status < 300) || (request.acceptStatus?.includes(status) ?? false);
    if (accepted) {
      return { status, headers: response.headers, url: response.url, body: streamBody(response.body, body) };
    }
    if (RETRYABLE_STATUSES.has(status)) {
      const wait =
        status === 429 || status === 503
          ? retryAfterMs(response.headers.get('retry-after'), options.retryMaxDelayMs)
          : undefined;
      await discardBody(response.body, body);
      const err = new SourceError(`${statusLine(status)} from GET ${endpoint}`, {
        status,
        url: endpoint,
        retryable: true,
      });
      if (wait !== undefined) requestedDelay.set(err, wait);
      throw err;
    }
    const excerpt = await readExcerpt(response.body, body);
    throw statusError(status, endpoint, excerpt);
  }

  async function get(rawUrl: string, request: HttpRequestOptions = {}): Promise<HttpResponse> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch (err) {
      throw new SourceError(`invalid request URL: ${rawUrl.split('?')[0]}`, { retryable: false, cause: err });
    }
    const endpoint = endpointOf(url);
    const { signal } = request;
    let attemptsMade = 0;
    try {
      return await pRetry(
        (n) => {
          attemptsMade = n;
          return attempt(url, endpoint, request);
        },
        {
          retries: attempts - 1,
          // p-retry's own wait is disabled: the delay (Retry-After or backoff) is slept in shouldRetry.
          minTimeout: 0,
          maxTimeout: 0,
          signal,
          shouldRetry: async ({ error, attemptNumber }) => {
            if (!(error instanceof SourceError) || !error.retryable || signal?.aborted) return false;
            const delayMs =
              requestedDelay.get(error) ??
              backoffMs(attemptNumber, options.retryMinDelayMs, options.retryMaxDelayMs);
            log.warn(
              {
                attempt: attemptNumber,
                status: error.details.status,
                delayMs,
                endpoint,
                reason: error.message,
              },
              'request failed, retrying',
            );
            await sleep(delayMs, signal);
            return true;
          },
        },
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof SourceError && err.retryable) {
        throw new SourceError(`gave up after ${attemptsMade} attempts: ${err.message}`, {
          ...err.details,
          retryable: false,
          cause: err,
        });
      }
      throw err;
    }
  }

  return {
    get,
    get requestCount() {
      return requestCount;
    },
  };
}
