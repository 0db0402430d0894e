import { ConfigError } from '../core/errors.js';
import { table } from './output.js';
import { type CommandContext, configuredStreamKeys, streamsOf, withDestination } from './context.js';

/**
 * A `--stream` key that is neither configured nor has stored state is a typo: exit 2 and list
 * what exists, rather than "nothing to reset" (which reads as success and leaves the intended
 * stream untouched). A key with state but no longer configured stays usable (clean-up).
 */
function unknownStream(key: string, configured: string[], stored: string[]): ConfigError {
  const known = [...new Set([...configured, ...stored])].sort();
  return new ConfigError(
    `--stream: unknown stream '${key}' (configured: ${known.join(', ') || 'none'}; write it as source.stream)`,
  );
}

/** `exportsync state show [--stream X] [--json]`: the stored marks, as a table or JSON. */
export async function stateShowCommand(
  ctx: CommandContext,
  opts: { stream?: string; json?: boolean },
): Promise<number> {
  const configured = configuredStreamKeys(ctx);
  const states = await withDestination(ctx, (d) => d.listStates());
  const shown = opts.stream ? states.filter((s) => s.streamKey === opts.stream) : states;
  if (opts.stream && shown.length === 0) {
    if (!configured.includes(opts.stream)) {
      throw unknownStream(
        opts.stream,
        configured,
        states.map((s) => s.streamKey),
      );
    }
    if (opts.json) process.stdout.write('[]\n');
    else process.stdout.write(`no state for ${opts.stream}: it has never committed a window\n`);
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
  const selected = streamsOf(ctx).find((s) => `${s.source.name}.${s.stream.name}` === stream);
  const configured = configuredStreamKeys(ctx);
  const outcome = await withDestination(ctx, async (d) => {
    if (!configured.includes(stream)) {
      const stored = (await d.listStates()).map((s) => s.streamKey);
      if (!stored.includes(stream)) throw unknownStream(stream, configured, stored);
    }
    return d.resetState(stream);
  });
  const days = selected
    ? `the last ${selected.settings.backfill_days} day(s) (backfill_days)`
    : 'backfill_days';
  process.stdout.write(
    outcome
      ? `reset ${stream}: the next run loads ${days} again (rows already loaded are kept and merged)\n`
      : `no state for ${stream}: nothing to reset (its next run already loads ${days})\n`,
  );
  return 0;
}
