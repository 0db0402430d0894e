/**
 * What every command needs: the validated config, a logger, the destination (opened), and a
 * clean way to end. Errors surface here once, as a short message and an exit code.
 */
import type { Destination, Logger } from '../core/contracts.js';
import { ConfigError, EXIT, ExportSyncError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { loadConfig, type Config } from '../config/load.js';
import { createDestination } from '../destinations/index.js';

export interface CommandContext {
  config: Config;
  log: Logger;
}

/** `--config`, else $EXPORTSYNC_CONFIG, else ./exportsync.yaml. */
export function configPath(option?: string): string {
  return option ?? process.env.EXPORTSYNC_CONFIG ?? 'exportsync.yaml';
}

export async function loadContext(configOption?: string): Promise<CommandContext> {
  const log = createLogger();
  const config = await loadConfig(configPath(configOption));
  return { config, log };
}

export async function withDestination<T>(
  ctx: CommandContext,
  fn: (d: Destination) => Promise<T>,
): Promise<T> {
  const destination = await createDestination(ctx.config.destination, ctx.log);
  await destination.open();
  try {
    return await fn(destination);
  } finally {
    await destination.close().catch((err) => ctx.log.warn({ err: errorMessage(err) }, 'close failed'));
  }
}

/** Maps an error that escaped a command to a message on stderr and an exit code. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(
      `exportsync: invalid configuration\n${err.issues.map((i) => `  - ${i}`).join('\n')}\n`,
    );
    return EXIT.config;
  }
  if (err instanceof ExportSyncError && err.kind === 'locked') {
    process.stderr.write(`exportsync: ${err.message}\n`);
    return EXIT.locked;
  }
  process.stderr.write(`exportsync: ${errorMessage(err)}\n`);
  if (!(err instanceof ExportSyncError) && err instanceof Error && process.env.EXPORTSYNC_DEBUG) {
    process.stderr.write(`${err.stack}\n`);
  }
  return EXIT.failed;
}
