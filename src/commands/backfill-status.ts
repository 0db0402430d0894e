/** `exportsync backfill status [--streams] [--from --to] [--json]`: the ledger per stream. Exit 0. */
import { ConfigError } from '../core/errors.js';
import { isoDate } from '../core/time.js';
import { backfillStatus, type StreamBackfillStatus } from '../engine/backfill-status.js';
import type { BackfillStatusFlags } from './backfill-cli.js';
import { parseRange } from './backfill.js';
import { type CommandContext, streamsOf, withDestination } from './context.js';
import { table } from './output.js';

export async function backfillStatusCommand(
  ctx: CommandContext,
  flags: BackfillStatusFlags,
): Promise<number> {
  const issues: string[] = [];
  const now = new Date();
  const range = parseRange(flags, now, false, issues);
  if (issues.length > 0) throw new ConfigError('invalid command line', issues);
  const selected = streamsOf(ctx, flags.streams);
  const statuses = await withDestination(ctx, (destination) =>
    backfillStatus({ destination, selected, now, ...(range ? { range } : {}) }),
  );
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(statuses.map(toJson), null, 2)}\n`);
  } else {
    process.stdout.write(`${formatStatus(statuses)}\n`);
  }
  return 0;
}

const fmt = new Intl.NumberFormat('en-US');
const days = (w: { from: Date; to: Date }) => `${isoDate(w.from)}..${isoDate(w.to)}`;

export function formatStatus(statuses: StreamBackfillStatus[]): string {
  const rows = [
    ['stream', 'range', 'windows', 'done', 'running', 'interrupted', 'failed', 'missing', 'rows'],
  ];
  const notes: string[] = [];
  for (const s of statuses) {
    if (s.notBackfillable) {
      rows.push([s.streamKey, `(${s.notBackfillable}: not backfillable)`, '', '', '', '', '', '', '']);
      continue;
    }
    if (!s.range) {
      rows.push([s.streamKey, '(no backfill recorded)', '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      s.streamKey,
      days(s.range),
      String(s.windows),
      String(s.done),
      String(s.running),
      String(s.interrupted),
      String(s.failed),
      String(s.missing),
      fmt.format(s.rows),
    ]);
    if (s.lastError) {
      notes.push(
        `${s.streamKey} last error (${days(s.lastError.window)}, shard ${s.lastError.shard}, ${s.lastError.updatedAt}): ${s.lastError.error}`,
      );
    }
  }
  const out = [table(rows), ...notes];
  if (statuses.some((s) => s.interrupted > 0 || s.failed > 0 || s.missing > 0)) {
    out.push(
      'windows not done are loaded by running the same backfill command again (done ones are skipped)',
    );
  }
  return out.join('\n');
}

function toJson(s: StreamBackfillStatus): Record<string, unknown> {
  return {
    ...s,
    range: s.range ? { from: s.range.from.toISOString(), to: s.range.to.toISOString() } : null,
    ...(s.lastError
      ? {
          lastError: {
            ...s.lastError,
            window: { from: s.lastError.window.from.toISOString(), to: s.lastError.window.to.toISOString() },
          },
        }
      : {}),
  };
}
