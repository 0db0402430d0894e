/**
 * A per-stream view of a source's HTTP client: the same client (so the source's request budget and
 * its attempt count stay shared by all its streams), counting what THIS stream asked for and
 * received. Without it, two streams of one source running at once could not be told apart in the
 * run's stats.
 *
 * - `requests`: GETs the stream issued (one per call, whatever the client's retries).
 * - `bytes`: response body bytes the stream consumed, counted chunk by chunk as they stream (a body
 *   abandoned midway counts what was read), never by buffering.
 * The client's own `requestCount` (attempts, retries included) is passed through unchanged, so
 * retries of a source = its attempts − the requests its streams issued (see `sourceRetries`).
 */
import type { HttpClient, HttpRequestOptions, HttpResponse } from '../core/contracts.js';

export interface CountingHttpClient extends HttpClient {
  /** GET calls this stream made. */
  readonly requests: number;
  /** Body bytes this stream has read so far. */
  readonly bytes: number;
}

export function countingHttpClient(inner: HttpClient): CountingHttpClient {
  let requests = 0;
  let bytes = 0;

  async function* counted(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    // for-await forwards an early return (the consumer stopped) to the inner body, which closes it
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  }

  return {
    async get(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
      requests++;
      const response = await inner.get(url, options);
      return { ...response, body: counted(response.body) };
    },
    get requestCount() {
      return inner.requestCount;
    },
    get requests() {
      return requests;
    },
    get bytes() {
      return bytes;
    },
  };
}

/**
 * Retries a source's client made: attempts beyond the first of each request. Exact when every call
 * of the source went through a counting view; a call refused by an exhausted budget made no
 * attempt, hence the floor at 0.
 */
export function sourceRetries(client: HttpClient, views: CountingHttpClient[]): number {
  return Math.max(0, client.requestCount - views.reduce((n, v) => n + v.requests, 0));
}
