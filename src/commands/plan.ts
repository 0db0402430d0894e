import { isoDate } from '../core/time.js';
import { tableName } from '../schema/identifiers.js';
import { selectStreams } from '../engine/sources.js';
import { planIncremental } from '../engine/windows.js';
import { type CommandContext, withDestination } from './context.js';

/**
 * `exportsync plan`: what a run would create and fetch, without fetching or writing anything
 * (the destination is opened read-only in spirit: only its metadata tables are read, after
 * `open()` has made sure they exist).
 */
export async function planCommand(ctx: CommandContext, opts: { streams?: string[] }): Promise<number> {
  const selected = selectStreams(ctx.config, opts.streams);
  const lines = await withDestination(ctx, async (destination) => {
    const out: string[] = [];
    for (const s of selected) {
      const key = `${s.source.name}.${s.stream.name}`;
      const table = tableName(s.source.name, s.stream.name, destination.capabilities.maxIdentifierLength);
      const existing = await destination.describeTable(table);
      const state = await destination.getState(key);
      const plan = planIncremental(state, new Date(), {
        backfillDays: s.settings.backfill_days,
        lookbackDays: s.settings.lookback_days,
        windowDays: s.stream.windowDays,
      });
      out.push(
        `${key} → ${table} (${s.stream.writeMode}${s.stream.primaryKey.length ? ` on ${s.stream.primaryKey.join(', ')}` : ''})`,
      );
      out.push(
        existing
          ? `  table exists with ${existing.columns.length} columns; new source fields will be added as columns`
          : `  CREATE TABLE ${table}: ${s.stream.columns.length} dictionary columns + audit columns; new fields become columns`,
      );
      out.push(`  ${plan.reason}`);
      const first = plan.windows[0];
      const last = plan.windows[plan.windows.length - 1];
      if (first && last) {
        out.push(
          `  fetch ${plan.windows.length} window(s) ${isoDate(first.from)} .. ${isoDate(new Date(last.to.getTime() - 1))} (inclusive)`,
        );
        out.push(`  e.g. ${s.stream.describe(first)}`);
      }
    }
    return out;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
