/**
 * Marketplace export errors turned into messages a data engineer can act on. Classified once,
 * here: 400/401/403/404 are permanent (retryable=false); 429/5xx never get here (the HTTP client
 * retries them). A 403 fails only its stream: the engine commits the others and exits "partial".
 */
import type { HttpResponse } from '../../src/core/contracts.js';
import { SourceError } from '../../src/core/errors.js';
import { parseReplicatedError, readErrorBody } from '../replicated/errors.js';

/** Statuses the connector takes back from the HTTP client to explain itself. */
export const MARKETPLACE_ERROR_STATUSES = [400, 401, 403, 404];

export interface MarketplaceRequestInfo {
  dataset: string;
  role: string;
  /** Path and query as sent (no secrets in it). */
  target: string;
}

export async function marketplaceError(
  response: HttpResponse,
  info: MarketplaceRequestInfo,
): Promise<SourceError> {
  const { status } = response;
  const message = parseReplicatedError(await readErrorBody(response.body));
  const said = `${status}${message ? `: ${message}` : ''}`;
  let text: string;
  if (status === 401) {
    text = `marketplace rejected the token (${said}). Check the source's token (sent as 'Authorization: Bearer ...')`;
  } else if (status === 403) {
    text =
      `marketplace refused dataset '${info.dataset}' to this token (${said}); the source is configured with role ` +
      `'${info.role}'. Ask for access, use an admin token with role: admin, or remove '${info.dataset}' from streams`;
  } else if (status === 404) {
    text = `marketplace has no export at GET ${info.target} (${said}). Check base_url and export_path`;
  } else {
    text = `marketplace rejected GET ${info.target} (${said})`;
  }
  return new SourceError(text, { status, url: info.target, retryable: false });
}
