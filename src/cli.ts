/**
 * The `exportsync` command line. Commands print results on stdout and log JSON on stderr.
 * Exit codes: 0 ok · 1 failed · 2 invalid config · 3 partial (some streams failed) ·
 * 4 locked by another run · 130 interrupted (stopped by a signal after committing).
 * `backfill` exits 3 when some of its windows failed (the others committed).
 */
import { Command } from 'commander';
import { EXIT } from './core/errors.js';
import { backfillCommand } from './commands/backfill.js';
import { defineBackfillCommands } from './commands/backfill-cli.js';
import { backfillStatusCommand } from './commands/backfill-status.js';
import { registerCheckCommand } from './commands/check.js';
import { exitCodeFor, loadContext } from './commands/context.js';
import { planCommand } from './commands/plan.js';
import { runCommand } from './commands/run.js';
import { registerRunsCommand } from './commands/runs.js';
import { stateResetCommand, stateShowCommand } from './commands/state.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('exportsync')
    .description(
      'Keep a warehouse in step with the analytics exports of Scarf, Replicated and a software marketplace.',
    )
    .option('-c, --config <path>', 'config file (default: $EXPORTSYNC_CONFIG or ./exportsync.yaml)')
    .showHelpAfterError("(run 'exportsync --help' for the commands and options)")
    .exitOverride();
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };

  program
    .command('run')
    .description('load what is new since the stored mark, window by window')
    .option('--streams <list>', 'only these streams (source.stream or stream), comma-separated', list)
    .action(
      act(async (opts: { streams?: string[] }) => runCommand(await loadContext(program.opts().config), opts)),
    );
  registerCheckCommand(program, (code) => (exitCode = code));
  program
    .command('plan')
    .description('show what a run would create and fetch, without writing')
    .option('--streams <list>', 'only these streams', list)
    .action(
      act(async (opts: { streams?: string[] }) =>
        planCommand(await loadContext(program.opts().config), opts),
      ),
    );
  defineBackfillCommands(program, {
    backfill: act(async (flags) => backfillCommand(await loadContext(program.opts().config), flags)),
    status: act(async (flags) => backfillStatusCommand(await loadContext(program.opts().config), flags)),
  });
  registerRunsCommand(program, (code) => (exitCode = code));
  const state = program.command('state').description('inspect or reset the stored high-water marks');
  state
    .command('show')
    .description('print the high-water mark of every stream (or one)')
    .option('--stream <key>', 'one stream, e.g. scarf.events')
    .option('--json', 'print JSON')
    .action(
      act(async (opts: { stream?: string; json?: boolean }) =>
        stateShowCommand(await loadContext(program.opts().config), opts),
      ),
    );
  state
    .command('reset')
    .description("forget one stream's mark: its next run loads backfill_days again (rows stay)")
    .requiredOption('--stream <key>', 'the stream to reset, e.g. scarf.events')
    .action(
      act(async (opts: { stream?: string }) =>
        stateResetCommand(await loadContext(program.opts().config), opts),
      ),
    );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err && typeof err === 'object' && 'code' in err && String(err.code).startsWith('commander.')) {
      const code = (err as { exitCode?: number }).exitCode ?? 2;
      return code === 0 ? 0 : 2;
    }
    return exitCodeFor(err);
  }
  return exitCode;
}

// Every command stops on SIGTERM/SIGINT (in a container the CLI is PID 1, which ignores signals it
// has no handler for). `run` installs its own handlers to finish the window in flight first; this
// default only acts when no command-specific handler is listening.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return;
    process.stderr.write(`exportsync: stopped by ${signal}\n`);
    process.exit(EXIT.interrupted);
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = exitCodeFor(err);
  },
);
