/**
 * What every command needs: the validated config, a logger, the destination (opened), and a
 * clean way to end. Errors surface here once, as a short message and an exit code.
 *
 * Order matters: every command validates everything it can from the config alone (connector and
 * stream names, `--streams`, `--stream`) BEFORE opening the destination, so a typo exits 2 without
 * creating a DuckDB file or a Postgres schema.
 */
import { existsSync } from 'node:fs';
import type { Destination, Logger } from '../core/contracts.js';
import { ConfigError, EXIT, ExportSyncError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { loadConfig, type Config } from '../config/load.js';
import { createDestination } from '../destinations/index.js';
import { selectStreams, type SelectedStream } from '../engine/sources.js';

export interface CommandContext {
  config: Config;
  log: Logger;
  /** The config file the command read (for messages). */
  configFile?: string;
}

/** `--config`, else $EXPORTSYNC_CONFIG, else ./exportsync.yaml. */
export function configPath(option?: string): string {
  return option ?? process.env.EXPORTSYNC_CONFIG ?? 'exportsync.yaml';
}

export async function loadContext(configOption?: string): Promise<CommandContext> {
  const path = configPath(configOption);
  if (configOption === undefined && !existsSync(path)) {
    // The user gave no path at all: say where we looked and how to point elsewhere.
    throw new ConfigError(
      process.env.EXPORTSYNC_CONFIG
        ? `${path}: file not found (the path in $EXPORTSYNC_CONFIG)`
        : `${path}: file not found; no --config was given (pass --config <file> or set EXPORTSYNC_CONFIG)`,
    );
  }
  const config = await loadConfig(path);
  const log = createLogger();
  return { config, log, configFile: path };
}

/** The streams a command covers; throws ConfigError (exit 2) for unknown names, before any I/O. */
export function streamsOf(ctx: CommandContext, only?: string[]): SelectedStream[] {
  try {
    return selectStreams(ctx.config, only);
  } catch (err) {
    // A problem in the file (not in --streams) names the file, like the loader's own errors.
    if (!(err instanceof ConfigError) || !ctx.configFile || err.issues.every((i) => i.startsWith('--'))) {
      throw err;
    }
    const located = new ConfigError(`invalid configuration (${ctx.configFile})`, err.issues);
    located.message = `invalid configuration (${ctx.configFile}):\n  ${err.issues.join('\n  ')}`;
    throw located;
  }
}

/** `source.stream` keys of every configured stream. */
export function configuredStreamKeys(ctx: CommandContext): string[] {
  return streamsOf(ctx).map((s) => `${s.source.name}.${s.stream.name}`);
}

export async function withDestination<T>(
  ctx: CommandContext,
  fn: (d: Destination) => Promise<T>,
): Promise<T> {
  const destination = await createDestination(ctx.config.destination, ctx.log, {
    lockWaitMs: ctx.config.sync.lock_wait_ms,
  });
  try {
    await destination.open();
    return await fn(destination);
  } finally {
    await destination.close().catch((err) => ctx.log.warn({ err: errorMessage(err) }, 'close failed'));
  }
}

/**
 * Maps an error that escaped a command to a message on stderr and an exit code. The message is
 * human text (not a JSON log line) even with EXPORTSYNC_LOG_FORMAT=json: it is the one line a
 * person reads when the job fails. Error messages are redacted where they are built.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) {
    const origin = /^invalid configuration \(([^)\n]*)\)/.exec(err.message)?.[1];
    // `--streams nope` is a ConfigError too (exit 2), but not a problem in the file.
    const what = err.issues.every((i) => i.startsWith('--'))
      ? 'invalid command line'
      : 'invalid configuration';
    process.stderr.write(
      `exportsync: ${what}${origin ? ` (${origin})` : ''}\n${err.issues.map((i) => `  - ${i}`).join('\n')}\n`,
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
