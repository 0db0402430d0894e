/**
 * `exportsync backfill --from --to [--streams] [--shard i/n] [--redo]`. Every flag is checked
 * before the destination is opened (exit 2 naming the flag). SIGTERM/SIGINT stop after the window
 * in flight commits (exit 130); a second signal aborts it (it rolls back and stays not done).
 */
import type { Window } from '../core/contracts.js';
import { onStopSignals } from './graceful-stop.js';
import { ConfigError } from '../core/errors.js';
import { addDays, isoDate, parseIsoDate, startOfUtcDay } from '../core/time.js';
import { parseShard, planBackfill, type Shard } from '../engine/backfill-plan.js';
import { runBackfill, type BackfillSummary } from '../engine/backfill.js';
import type { BackfillFlags } from './backfill-cli.js';
import { createProgress } from './backfill-progress.js';
import { type CommandContext, streamsOf, withDestination } from './context.js';

export interface BackfillArgs {
  range: Window;
  shard: Shard;
  streams?: string[];
  redo: boolean;
}

/** Validates the flags; a ConfigError lists every problem, each naming its flag. */
export function parseBackfillFlags(flags: BackfillFlags, now: Date): BackfillArgs {
  const issues: string[] = [];
  const range = parseRange(flags, now, true, issues);
  let shard: Shard = { index: 0, count: 1 };
  if (flags.shard !== undefined) {
    try {
      shard = parseShard(flags.shard);
    } catch (err) {
      issues.push(...(err as ConfigError).issues);
    }
  }
  if (flags.streams !== undefined && flags.streams.length === 0) issues.push('--streams: empty list');
  if (issues.length > 0 || !range) throw new ConfigError('invalid command line', issues);
  return {
    range,
    shard,
    ...(flags.streams ? { streams: flags.streams } : {}),
    redo: flags.redo === true,
  };
}

/**
 * `--from` and `--to` as [from, to) of whole UTC days. `--to` may be at most tomorrow (the range
 * then ends with today); a range in the future would be recorded done with nothing in it.
 */
export function parseRange(
  flags: { from?: string; to?: string },
  now: Date,
  required: boolean,
  issues: string[],
): Window | undefined {
  if (!required && flags.from === undefined && flags.to === undefined) return undefined;
  const day = (flag: '--from' | '--to', value: string | undefined): Date | undefined => {
    if (value === undefined) {
      issues.push(`${flag}: required (YYYY-MM-DD)`);
      return undefined;
    }
    try {
      return parseIsoDate(value);
    } catch {
      issues.push(`${flag}: not a YYYY-MM-DD date: ${JSON.stringify(value)}`);
      return undefined;
    }
  };
  const from = day('--from', flags.from);
  const to = day('--to', flags.to);
  if (!from || !to) return undefined;
  if (to <= from) {
    issues.push(`--to: must be after --from (the range is [from, to): --to is the day after the last day)`);
    return undefined;
  }
  const latest = addDays(startOfUtcDay(now), 1);
  if (to > latest) {
    issues.push(
      `--to: ${isoDate(to)} is in the future; at most ${isoDate(latest)} (the range then ends with today, UTC)`,
    );
    return undefined;
  }
  return { from, to };
}

export async function backfillCommand(ctx: CommandContext, flags: BackfillFlags): Promise<number> {
  const args = parseBackfillFlags(flags, new Date());
  const selected = streamsOf(ctx, args.streams); // unknown names exit 2 before the destination is touched
  const plan = planBackfill(selected, args.range, new Date());
  if (plan.skipped.length === selected.length) {
    throw new ConfigError(
      'invalid command line',
      plan.skipped.map((s) => `--streams: ${s.streamKey} cannot be backfilled (${s.reason})`),
    );
  }

  const stop = onStopSignals(ctx.log);
  try {
    const summary = await withDestination(ctx, (destination) =>
      runBackfill({
        config: ctx.config,
        destination,
        log: ctx.log,
        range: args.range,
        ...(args.streams ? { streams: args.streams } : {}),
        shard: args.shard,
        redo: args.redo,
        stopping: stop.stopping,
        signal: stop.signal,
        progress: createProgress(ctx.log, process.stderr),
      }),
    );
    process.stdout.write(`${formatBackfillSummary(summary)}\n`);
    const level = summary.status === 'failed' ? 'error' : summary.status === 'partial' ? 'warn' : 'info';
    ctx.log[level](
      {
        run: summary.runId,
        shard: summary.shard,
        status: summary.status,
        exitCode: summary.exitCode,
        windows: summary.total,
        alreadyDone: summary.skipped,
        committed: summary.committed,
        failed: summary.failed.length,
        left: summary.left,
        rows: summary.rows,
        upserted: summary.upserted,
        requests: summary.requests,
        ms: summary.durationMs,
      },
      'backfill finished',
    );
    return summary.exitCode;
  } finally {
    stop.dispose();
  }
}

const fmt = new Intl.NumberFormat('en-US');

export function formatBackfillSummary(s: BackfillSummary): string {
  const lines = [
    `backfill ${s.runId} (shard ${s.shard}): ${s.status} in ${(s.durationMs / 1000).toFixed(1)} s, ${fmt.format(s.requests)} request(s)`,
    `  ${s.total} window(s) for this shard: ${s.committed} loaded now, ${s.skipped} already done, ${s.failed.length} failed, ${s.left} left`,
    `  ${fmt.format(s.rows)} rows read, ${fmt.format(s.upserted)} new or changed`,
  ];
  for (const n of s.notBackfillable) lines.push(`  skipped ${n.streamKey}: ${n.reason}`);
  for (const f of s.failed) {
    lines.push(`  FAILED ${f.streamKey} ${isoDate(f.window.from)}..${isoDate(f.window.to)}: ${f.error}`);
  }
  if (s.failed.length > 0 || s.left > 0) {
    lines.push('  run the same command again to load what is not done (done windows are skipped)');
  }
  return lines.join('\n');
}
