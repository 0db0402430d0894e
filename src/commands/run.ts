import { runSync } from '../engine/run.js';
import { formatSummary } from './output.js';
import { type CommandContext, withDestination } from './context.js';

/**
 * `exportsync run`: the daily job. SIGTERM/SIGINT stop the run after the window in flight
 * commits (exit 130); a second signal aborts at once (nothing partial is committed either way).
 */
export async function runCommand(ctx: CommandContext, opts: { streams?: string[] }): Promise<number> {
  let stopping = false;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      ctx.log.warn({ signal }, 'second signal: aborting the window in flight');
      abort.abort();
      return;
    }
    stopping = true;
    ctx.log.warn({ signal }, 'stopping after the window in flight commits');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const summary = await withDestination(ctx, (destination) =>
      runSync({
        config: ctx.config,
        destination,
        log: ctx.log,
        streams: opts.streams,
        stopping: () => stopping,
        signal: abort.signal,
      }),
    );
    process.stdout.write(`${formatSummary(summary)}\n`);
    ctx.log.info(
      {
        status: summary.status,
        requests: summary.requests,
        ms: summary.durationMs,
        rows: summary.streams.reduce((n, s) => n + s.staged, 0),
      },
      'run finished',
    );
    return summary.exitCode;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
