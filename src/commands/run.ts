import { runSync } from '../engine/run.js';
import { onStopSignals } from './graceful-stop.js';
import { formatSummary } from './output.js';
import { type CommandContext, streamsOf, withDestination } from './context.js';

/**
 * `exportsync run`: the daily job. SIGTERM/SIGINT stop the run after the window in flight
 * commits (exit 130); a second signal aborts at once (nothing partial is committed either way).
 */
export async function runCommand(ctx: CommandContext, opts: { streams?: string[] }): Promise<number> {
  streamsOf(ctx, opts.streams); // unknown names exit 2 before the destination is touched
  const stop = onStopSignals(ctx.log);
  try {
    const summary = await withDestination(ctx, (destination) =>
      runSync({
        config: ctx.config,
        destination,
        log: ctx.log,
        streams: opts.streams,
        stopping: stop.stopping,
        signal: stop.signal,
      }),
    );
    process.stdout.write(`${formatSummary(summary)}\n`);
    // ok/interrupted at info; partial at warn and failed at error, so a warn-level job log still shows them.
    const level = summary.status === 'failed' ? 'error' : summary.status === 'partial' ? 'warn' : 'info';
    ctx.log[level](
      {
        run: summary.runId,
        status: summary.status,
        exitCode: summary.exitCode,
        requests: summary.requests,
        ms: summary.durationMs,
        rows: summary.streams.reduce((n, s) => n + s.staged, 0),
        upserted: summary.streams.reduce((n, s) => n + s.upserted, 0),
        failed: summary.streams
          .filter((s) => s.status === 'failed' || s.status === 'locked')
          .map((s) => s.streamKey),
      },
      'run finished',
    );
    return summary.exitCode;
  } finally {
    stop.dispose();
  }
}
