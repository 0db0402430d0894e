import type { CheckVerdict } from '../core/contracts.js';
import { errorMessage } from '../core/errors.js';
import { createDestination } from '../destinations/index.js';
import { createHttpClient } from '../http/client.js';
import { selectStreams } from '../engine/sources.js';
import type { CommandContext } from './context.js';

/**
 * `exportsync check`: credentials and connectivity, one verdict per source and for the
 * destination. Writes nothing to user tables. Exit 1 if any verdict fails.
 */
export async function checkCommand(ctx: CommandContext): Promise<number> {
  const verdicts: CheckVerdict[] = [];
  const destination = await createDestination(ctx.config.destination, ctx.log);
  try {
    verdicts.push(await destination.check());
  } catch (err) {
    verdicts.push({
      target: `destination ${ctx.config.destination.type}`,
      ok: false,
      message: errorMessage(err),
    });
  } finally {
    await destination.close().catch(() => undefined);
  }
  const seen = new Set<string>();
  for (const s of selectStreams(ctx.config)) {
    if (seen.has(s.source.name)) continue;
    seen.add(s.source.name);
    const http = createHttpClient({
      log: ctx.log.child({ source: s.source.name }),
      retryAttempts: 2,
      retryMinDelayMs: ctx.config.sync.retry.min_delay_ms,
      retryMaxDelayMs: ctx.config.sync.retry.max_delay_ms,
      requestTimeoutMs: ctx.config.sync.request_timeout_ms,
      maxRequests: 10,
      userAgent: 'exportsync',
    });
    try {
      verdicts.push(await s.source.check({ http, log: ctx.log, signal: new AbortController().signal, batchRows: 100 }));
    } catch (err) {
      verdicts.push({ target: `source ${s.source.name}`, ok: false, message: errorMessage(err) });
    }
  }
  for (const v of verdicts) process.stdout.write(`${v.ok ? 'ok  ' : 'FAIL'}  ${v.target}: ${v.message}\n`);
  return verdicts.every((v) => v.ok) ? 0 : 1;
}
