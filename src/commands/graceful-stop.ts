/**
 * SIGTERM/SIGINT for the commands that load windows (`run`, `backfill`): the first signal lets the
 * window in flight commit and stops before the next (exit 130); a second aborts the window in
 * flight, which rolls back. Either way nothing partial is committed. Without these handlers the
 * CLI's default handler would exit at once, and a Kubernetes pod would lose its grace period.
 */
import type { Logger } from '../core/contracts.js';

export interface GracefulStop {
  /** True once the first signal arrived: stop after the window in flight. */
  stopping(): boolean;
  /** Aborted by the second signal. */
  signal: AbortSignal;
  /** Removes the handlers (call in `finally`). */
  dispose(): void;
}

export function onStopSignals(log: Logger): GracefulStop {
  let stopping = false;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: aborting the window in flight (it rolls back)');
      abort.abort();
      return;
    }
    stopping = true;
    log.warn({ signal }, 'stopping after the window in flight commits');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    stopping: () => stopping,
    signal: abort.signal,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
