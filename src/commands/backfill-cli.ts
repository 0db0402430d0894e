/**
 * The command-line shape of `exportsync backfill` and `exportsync backfill status`, kept apart
 * from cli.ts so the manifest test can parse a Job's arguments with the very parser the CLI uses.
 *
 * Commander parses a parent command's options before it dispatches to a subcommand, so in
 * `backfill status --streams x` the `backfill` command takes `--streams` itself. The status action
 * therefore reads the parent's options too, and refuses the ones that make no sense there.
 */
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';

export interface BackfillFlags {
  from?: string;
  to?: string;
  streams?: string[];
  shard?: string;
  redo?: boolean;
}

export interface BackfillStatusFlags {
  from?: string;
  to?: string;
  streams?: string[];
  json?: boolean;
}

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function defineBackfillCommands(
  program: Command,
  handlers: {
    backfill(flags: BackfillFlags): Promise<void>;
    status(flags: BackfillStatusFlags): Promise<void>;
  },
): void {
  const backfill = program
    .command('backfill')
    .description(
      'load a historical range window by window into the ledger; resumable, shardable (--shard i/n)',
    )
    .option('--from <date>', 'first UTC day to load, YYYY-MM-DD (required)')
    .option('--to <date>', 'UTC day after the last one, YYYY-MM-DD: the range is [from, to) (required)')
    .option('--streams <list>', 'only these streams (source.stream or stream), comma-separated', list)
    .option('--shard <i/n>', 'take window k when k mod n = i (0-based; e.g. $JOB_COMPLETION_INDEX/4)')
    .option('--redo', 'load windows the ledger says are done again')
    .action(async (opts: BackfillFlags) => handlers.backfill(opts));
  backfill
    .command('status')
    .description(
      'the ledger per stream: windows done, running, interrupted, failed, missing; rows; last error',
    )
    .option('--streams <list>', 'only these streams', list)
    .option('--from <date>', 'count the windows of [from, to) (default: the range the ledger has seen)')
    .option('--to <date>', 'end of that range (exclusive), YYYY-MM-DD')
    .option('--json', 'print JSON')
    .action(async (opts: BackfillStatusFlags) => {
      const parent = backfill.opts<BackfillFlags>();
      const misplaced = [parent.shard !== undefined && '--shard', parent.redo && '--redo'].filter(
        (x): x is string => typeof x === 'string',
      );
      if (misplaced.length > 0) {
        throw new ConfigError(
          'invalid command line',
          misplaced.map((f) => `${f}: not an option of backfill status`),
        );
      }
      await handlers.status({
        ...(parent.from === undefined ? {} : { from: parent.from }),
        ...(parent.to === undefined ? {} : { to: parent.to }),
        ...(parent.streams === undefined ? {} : { streams: parent.streams }),
        ...opts,
      });
    });
}
