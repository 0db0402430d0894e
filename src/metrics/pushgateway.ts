/**
 * Push to a Prometheus Pushgateway: `PUT <url>/metrics/job/exportsync` with the whole exposition.
 * PUT (not POST) replaces every metric of the group, so a stream removed from the config does not
 * linger with its last values. Credentials in the URL (`https://user:pass@host`) are sent as Basic
 * auth (fetch refuses URLs with credentials) and never appear in an error or a log line.
 */
import { SourceError } from '../core/errors.js';

export const PUSH_JOB = 'exportsync';
const PUSH_TIMEOUT_MS = 10_000;

/** The push URL without credentials, for messages. */
export function pushTarget(baseUrl: string): URL {
  const url = new URL(baseUrl);
  url.username = '';
  url.password = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/job/${PUSH_JOB}`;
  url.search = '';
  url.hash = '';
  return url;
}

export async function pushMetrics(
  baseUrl: string,
  text: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const parsed = new URL(baseUrl);
  const target = pushTarget(baseUrl);
  const headers: Record<string, string> = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' };
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'PUT',
      headers,
      body: text,
      signal: AbortSignal.timeout(options.timeoutMs ?? PUSH_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : causeText(err);
    throw new SourceError(`Pushgateway PUT ${target.href} failed: ${reason}`, {
      url: target.href,
      cause: err,
    });
  }
  if (!response.ok) {
    const excerpt = (await response.text().catch(() => '')).slice(0, 200).trim();
    throw new SourceError(
      `Pushgateway PUT ${target.href} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
      { status: response.status, url: target.href },
    );
  }
  await response.body?.cancel().catch(() => undefined);
}

function causeText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
