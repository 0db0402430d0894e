import type { Command } from 'commander';
import type { CheckVerdict } from '../core/contracts.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { createDestination } from '../destinations/index.js';
import { createHttpClient } from '../http/client.js';
import { checkContractCommand, type CheckContractOptions } from './check-contract.js';
import { type CommandContext, loadContext, streamsOf } from './context.js';

export interface CheckOptions extends CheckContractOptions {
  /** Compare each stream's real answers with its contract instead (check-contract.ts). */
  contract?: boolean;
}

/**
 * `exportsync check`: credentials and connectivity, one verdict line per source and one for the
 * destination (`ok    <target>: <message>` / `FAIL  <target>: <message>`). Writes nothing to
 * user tables. Exit 1 if any verdict fails. Each source line starts with the source's configured
 * `name`, so two sources of one type (two tokens, one owner) are told apart.
 * With `contract: true` it runs `check --contract` instead (check-contract.ts).
 */
export async function checkCommand(ctx: CommandContext, opts: CheckOptions = {}): Promise<number> {
  if (opts.contract) return checkContractCommand(ctx, opts);
  const selected = streamsOf(ctx); // config errors exit 2 before anything is contacted
  const verdicts: CheckVerdict[] = [];
  const destination = await createDestination(ctx.config.destination, ctx.log);
  try {
    const v = await destination.check();
    verdicts.push({ ...v, target: `destination ${v.target}` });
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
  for (const s of selected) {
    if (seen.has(s.source.name)) continue;
    seen.add(s.source.name);
    const log = ctx.log.child({ source: s.source.name });
    const http = createHttpClient({
      log,
      retryAttempts: 2,
      retryMinDelayMs: ctx.config.sync.retry.min_delay_ms,
      retryMaxDelayMs: ctx.config.sync.retry.max_delay_ms,
      requestTimeoutMs: ctx.config.sync.request_timeout_ms,
      maxRequests: 10,
      userAgent: 'exportsync',
    });
    const target = `source ${s.source.name}`;
    try {
      const v = await s.source.check({ http, log, signal: new AbortController().signal, batchRows: 100 });
      // The connector's target ("scarf (acme)") plus the configured name when it differs from the type.
      const named = s.source.name === s.source.type ? v.target : `${s.source.name}, ${v.target}`;
      verdicts.push({ ...v, target: `source ${named}` });
    } catch (err) {
      verdicts.push({ target, ok: false, message: errorMessage(err) });
    }
  }
  for (const v of verdicts) {
    process.stdout.write(`${v.ok ? 'ok  ' : 'FAIL'}  ${v.target}: ${errorMessage(v.message)}\n`);
  }
  const failed = verdicts.filter((v) => !v.ok).length;
  if (failed > 0) process.stdout.write(`${failed} of ${verdicts.length} check(s) failed\n`);
  return failed === 0 ? 0 : 1;
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Adds `check [--contract [--streams a,b] [--out file]]` to the command line. `done` receives the
 * exit code (cli.ts: `(code) => (exitCode = code)`); errors propagate to the CLI's own handler.
 * `--streams` and `--out` without `--contract` are refused (exit 2): plain `check` checks sources.
 */
export function registerCheckCommand(program: Command, done: (code: number) => void): void {
  program
    .command('check')
    .description(
      'check credentials and connectivity of every source and the destination; with --contract, compare each stream with its contract',
    )
    .option('--contract', "fetch small windows of each stream and compare them with the stream's contract")
    .option('--streams <list>', 'with --contract: only these streams (source.stream or stream)', list)
    .option(
      '--out <file>',
      'with --contract: where to save the observed shape (default exportsync-contract-observed.json)',
    )
    .action(async (flags: { contract?: boolean; streams?: string[]; out?: string }) => {
      if (!flags.contract && (flags.streams || flags.out)) {
        throw new ConfigError('--streams and --out need --contract', [
          '--streams/--out: only with --contract',
        ]);
      }
      done(await checkCommand(await loadContext(program.opts<{ config?: string }>().config), flags));
    });
}
