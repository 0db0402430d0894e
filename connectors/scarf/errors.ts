/**
 * Scarf's export errors (`{message, code}` with 400/401/403/404) turned into messages a data
 * engineer can act on. Classified once, here: all of them are permanent (retryable=false), since
 * repeating a request with a bad token, an unpaid plan or a too-long range only burns API runs.
 */
import type { HttpResponse } from '../../src/core/contracts.js';
import { ConfigError, SourceError } from '../../src/core/errors.js';

/** Statuses the connector takes back from the HTTP client to explain itself. */
export const SCARF_ERROR_STATUSES = [400, 401, 403, 404];

export interface ScarfRequestInfo {
  owner: string;
  startDate: string;
  endDate: string;
  /** Days per request (`window_days`), for the range-too-long advice. */
  windowDays: number;
  /** Endpoint without query string. */
  endpoint: string;
  /** What a 404 means for this endpoint (default: an unknown owner). */
  notFound?: string;
  /** The export, for messages (default 'the events CSV'). */
  what?: string;
}

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

export function parseScarfError(text: string): { message: string; code?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      const message = typeof o.message === 'string' ? o.message : '';
      return typeof o.code === 'string' ? { message, code: o.code } : { message };
    }
  } catch {
    // plain text (e.g. a framework's 400 for an unparsable parameter)
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return { message: flat.length > 300 ? `${flat.slice(0, 297)}...` : flat };
}

/** The SourceError for a non-2xx Scarf answer. */
export async function scarfError(
  response: HttpResponse,
  info: ScarfRequestInfo,
): Promise<SourceError | ConfigError> {
  const { status } = response;
  const { message, code } = parseScarfError(await readErrorBody(response.body));
  const said = `${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  const range = info.startDate ? `start_date=${info.startDate} end_date=${info.endDate}` : '';
  let text: string;
  if (code === 'not-a-pro-member') {
    text =
      `Scarf refused raw event exports for owner '${info.owner}' (${said}). Raw event exports need a paid ` +
      `Scarf plan (Basic or Premium) for that owner; check the plan, or that the token belongs to a member of it`;
  } else if (status === 401 || status === 403) {
    text =
      `Scarf rejected the token for owner '${info.owner}' (${said}). Check the source's token ` +
      `(e.g. \${SCARF_API_TOKEN}) and that its user can export this owner's data`;
  } else if (code === 'range-too-long') {
    text =
      `Scarf refused the date range ${range} as too long (${said}). window_days is too large ` +
      `(${info.windowDays}); lower it (1 is the default and the safest)`;
  } else if (status === 404 && info.notFound !== undefined) {
    text = `${info.notFound} (${said})`;
  } else if (status === 404) {
    text = `Scarf has no owner '${info.owner}' (${said}). Check the source's owner (a Scarf user or organisation name)`;
  } else {
    text = `Scarf rejected GET ${info.endpoint} ${range} (${said})`;
  }
  // Not a fault of the request but of the account: a configuration problem the user must fix.
  if (code === 'not-a-pro-member') return new ConfigError(text);
  return new SourceError(text, { status, code, url: info.endpoint, retryable: false });
}

/** A 2xx answer that is not the CSV export (JSON): retrying may help if the export was still being prepared. */
export async function notCsvError(response: HttpResponse, info: ScarfRequestInfo): Promise<SourceError> {
  const { message, code } = parseScarfError(await readErrorBody(response.body));
  const range = info.startDate ? ` start_date=${info.startDate} end_date=${info.endDate}` : '';
  return new SourceError(
    `Scarf answered GET ${info.endpoint}${range} with ` +
      `${response.headers.get('content-type') ?? 'JSON'} instead of ${info.what ?? 'the events CSV'}` +
      `${message ? `: ${message}` : ''}${code ? ` (code ${code})` : ''}`,
    { status: response.status, code, url: info.endpoint, retryable: true },
  );
}
