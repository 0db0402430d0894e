/**
 * Replicated Vendor API errors turned into messages a data engineer can act on. Classified once,
 * here: 400/401/403/404 are permanent (retryable=false): repeating a request with a bad token, a
 * wrong app id or a rejected query only fails again. 429/5xx never get here: the HTTP client
 * retries them. The error body shape is unknown [G]: `{message}` or `{error}` JSON, else text.
 */
import type { HttpResponse } from '../../src/core/contracts.js';
import { SourceError } from '../../src/core/errors.js';

/** Statuses the connector takes back from the HTTP client to explain itself. */
export const REPLICATED_ERROR_STATUSES = [400, 401, 403, 404];

const MAX_ERROR_BYTES = 16 * 1024;

/** First 16 KiB of a body as text; the rest is abandoned (which cancels the request). */
export async function readErrorBody(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.byteLength;
    if (size >= MAX_ERROR_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BYTES);
}

export function parseReplicatedError(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      for (const k of ['message', 'error']) if (typeof o[k] === 'string') return o[k];
    }
  } catch {
    // plain text
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

export interface ReplicatedRequestInfo {
  appId: string;
  /** Path without query string. */
  path: string;
  /** Query string as sent (no secrets in it). */
  query: string;
}

/** The SourceError for a non-2xx Replicated answer. */
export async function replicatedError(
  response: HttpResponse,
  info: ReplicatedRequestInfo,
): Promise<SourceError> {
  const { status } = response;
  const message = parseReplicatedError(await readErrorBody(response.body));
  const said = `${status}${message ? `: ${message}` : ''}`;
  let text: string;
  if (status === 401 || status === 403) {
    text =
      `Replicated rejected the token for app '${info.appId}' (${said}). Check the source's token ` +
      `(e.g. \${REPLICATED_API_TOKEN}: a service-account or user API token, sent without 'Bearer') ` +
      `and that it can read this app`;
  } else if (status === 404) {
    text = `Replicated has no app '${info.appId}' at GET ${info.path} (${said}). Check the source's app_id`;
  } else {
    text = `Replicated rejected GET ${info.path}${info.query ? `?${info.query}` : ''} (${said})`;
  }
  return new SourceError(text, { status, url: info.path, retryable: false });
}
