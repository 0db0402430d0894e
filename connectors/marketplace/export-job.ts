/**
 * The async export path (OUR design, README "HTTP contract"): an export too large to answer at
 * once returns 202 `{job_id, status_url}`; we poll the status URL (honouring Retry-After, each poll
 * counted in the source's request budget) until `done` with a `result_url`, then download it.
 * A job that ends `failed`/`expired` is submitted again once, then reported. If polling were not
 * bounded, one stuck job would hold the stream's lock forever.
 */
import type { HttpResponse, ReadContext } from '../../src/core/contracts.js';
import { SourceError } from '../../src/core/errors.js';
import { abortableSleep } from '../../src/http/client.js';
import { readErrorBody } from '../replicated/errors.js';

export interface JobTicket {
  job_id: string;
  status_url: string;
}

export interface JobOptions {
  headers: Record<string, string>;
  /** Origin of base_url: only URLs on it get the Authorization header. */
  origin: string;
  maxPolls: number;
  /** Longest wait between polls, whatever Retry-After says. */
  maxDelayMs?: number;
  dataset: string;
}

export async function readJson(response: HttpResponse, what: string): Promise<Record<string, unknown>> {
  const text = await readErrorBody(response.body);
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new SourceError(`marketplace: ${what} is not a JSON object`, {
    status: response.status,
    retryable: false,
  });
}

export function ticketOf(body: Record<string, unknown>, dataset: string): JobTicket {
  if (typeof body.job_id !== 'string' || typeof body.status_url !== 'string') {
    throw new SourceError(`marketplace answered 202 for '${dataset}' without job_id and status_url`, {
      status: 202,
    });
  }
  return { job_id: body.job_id, status_url: body.status_url };
}

/**
 * Headers for a URL the source handed us: the token only goes to base_url's own origin. A
 * status/result URL elsewhere (a storage bucket, a presigned link) must not receive it: that would
 * leak the token to a third party, and presigned URLs reject a second auth mechanism.
 */
export function headersFor(
  url: string,
  origin: string,
  headers: Record<string, string>,
): Record<string, string> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new SourceError('marketplace: the export job gave an invalid URL', { retryable: false });
  }
  if (target.origin === origin) return headers;
  const { Authorization: _dropped, ...rest } = headers;
  return rest;
}

export type JobOutcome = { ok: true; response: HttpResponse } | { ok: false; reason: string };

/** Polls one job to its end; `ok: false` when the job itself failed or expired (worth one resubmit). */
export async function awaitJob(ticket: JobTicket, ctx: ReadContext, o: JobOptions): Promise<JobOutcome> {
  const maxDelay = o.maxDelayMs ?? 30_000;
  for (let poll = 1; poll <= o.maxPolls; poll++) {
    const response = await ctx.http.get(ticket.status_url, {
      headers: headersFor(ticket.status_url, o.origin, o.headers),
      signal: ctx.signal,
      acceptStatus: [404, 410],
    });
    if (response.status === 404 || response.status === 410) {
      await readErrorBody(response.body);
      return { ok: false, reason: `job ${ticket.job_id} expired (${response.status})` };
    }
    const retryAfter = Number(response.headers.get('retry-after') ?? '1');
    const status = await readJson(response, `job ${ticket.job_id} status`);
    if (status.status === 'done') {
      if (typeof status.result_url !== 'string') {
        throw new SourceError(`marketplace job ${ticket.job_id} is done without a result_url`, {
          retryable: false,
        });
      }
      const result = await ctx.http.get(status.result_url, {
        headers: headersFor(status.result_url, o.origin, o.headers),
        signal: ctx.signal,
      });
      return { ok: true, response: result };
    }
    if (status.status === 'failed' || status.status === 'expired') {
      return {
        ok: false,
        reason: `job ${ticket.job_id} ${status.status}${typeof status.error === 'string' ? `: ${status.error}` : ''}`,
      };
    }
    const delay =
      Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, maxDelay) : 1000;
    ctx.log.debug({ job: ticket.job_id, poll, delay }, 'export job pending');
    await abortableSleep(delay, ctx.signal);
  }
  throw new SourceError(
    `marketplace export job ${ticket.job_id} for '${o.dataset}' still pending after ${o.maxPolls} polls (max_job_polls)`,
    { retryable: false },
  );
}
