import { ConfigError } from '../core/errors.js';
import { table } from './output.js';
import { type CommandContext, withDestination } from './context.js';

/** `exportsync state show [--stream X]`: the stored marks, as a table (or JSON with --json). */
export async function stateShowCommand(
  ctx: CommandContext,
  opts: { stream?: string; json?: boolean },
): Promise<number> {
  const states = await withDestination(ctx, (d) => d.listStates());
  const shown = opts.stream ? states.filter((s) => s.streamKey === opts.stream) : states;
  if (opts.stream && shown.length === 0) {
    process.stdout.write(`no state for ${opts.stream} (it has never committed a window)\n`);
    return 0;
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    return 0;
  }
  const rows = [['stream', 'high-water mark', 'schema version', 'updated at']];
  for (const s of shown) {
    rows.push([s.streamKey, s.state.highWaterMark ?? '-', String(s.state.schemaVersion), s.state.updatedAt]);
  }
  process.stdout.write(`${shown.length === 0 ? 'no stream has state yet' : table(rows)}\n`);
  return 0;
}

/** `exportsync state reset --stream X`: the next run of X starts again from `backfill_days`. Rows stay. */
export async function stateResetCommand(ctx: CommandContext, opts: { stream?: string }): Promise<number> {
  if (!opts.stream) throw new ConfigError('--stream is required (e.g. --stream scarf.events)');
  const stream = opts.stream;
  const removed = await withDestination(ctx, (d) => d.resetState(stream));
  process.stdout.write(
    removed
      ? `reset ${stream}: the next run loads its last backfill_days again (rows already loaded are kept and merged)\n`
      : `no state for ${stream}: nothing to reset\n`,
  );
  return 0;
}
