/**
 * A response body as an AsyncIterable of chunks with an idle timeout per chunk. Every failure
 * after the status arrived (reset, truncated Content-Length, premature close, silence) becomes a
 * retryable SourceError: the caller cannot resume a body midway, so the engine re-reads the
 * whole window. If a mid-body failure looked like a clean end instead, the window would commit
 * with rows missing and nobody would notice.
 */
import { SourceError } from '../core/errors.js';
import { describeCause } from './classify.js';

export interface BodyOptions {
  /** Aborts the underlying request (ends the socket). */
  controller: AbortController;
  /** The caller's signal: an abort surfaces as its reason, not as a SourceError. */
  signal?: AbortSignal;
  idleTimeoutMs: number;
  endpoint: string;
  /** Called exactly once when the body is finished, failed or abandoned. */
  onClose: () => void;
}

/** Reads one chunk, failing after `idleTimeoutMs` without data. */
async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: BodyOptions,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    options.controller.abort(new Error('idle timeout'));
  }, options.idleTimeoutMs);
  try {
    return await reader.read();
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timedOut) {
      throw new SourceError(
        `no data for ${options.idleTimeoutMs} ms while reading the response body of GET ${options.endpoint}`,
        { url: options.endpoint, retryable: true, cause: err },
      );
    }
    const { code, text } = describeCause(err);
    throw new SourceError(`response body of GET ${options.endpoint} broke off: ${text}`, {
      url: options.endpoint,
      code,
      retryable: true,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Streams the body. Breaking out of the loop early cancels the request. Iterate at most once. */
export async function* streamBody(
  body: ReadableStream<Uint8Array> | null,
  options: BodyOptions,
): AsyncGenerator<Uint8Array> {
  if (body === null) {
    options.onClose();
    return;
  }
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const result = await readChunk(reader, options);
      if (result.done) {
        finished = true;
        return;
      }
      if (result.value.byteLength > 0) yield result.value;
    }
  } finally {
    if (!finished) {
      options.controller.abort(new Error('body abandoned'));
      reader.cancel().catch(() => undefined);
    }
    options.onClose();
  }
}

/** Up to `maxBytes` of a (small, error) body as text; never fails, always releases the socket. */
export async function readExcerpt(
  body: ReadableStream<Uint8Array> | null,
  options: BodyOptions,
  maxBytes = 4096,
): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of streamBody(body, options)) {
      parts.push(chunk);
      size += chunk.byteLength;
      if (size >= maxBytes) break;
    }
  } catch {
    if (options.signal?.aborted) throw options.signal.reason;
    // a broken error body still leaves the status to report
  }
  return Buffer.concat(parts).subarray(0, maxBytes).toString('utf8');
}

/** Releases the connection of a response whose body we do not want. */
export async function discardBody(
  body: ReadableStream<Uint8Array> | null,
  options: BodyOptions,
): Promise<void> {
  options.controller.abort(new Error('body discarded'));
  await body?.cancel().catch(() => undefined);
  options.onClose();
}
