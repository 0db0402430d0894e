/**
 * Loading a config file: YAML → `${VAR}` interpolation → validation → resolved, frozen Config.
 *
 * The result has every default applied (sync defaults, source names, per-source settings), so no
 * consumer ever re-applies a default: a second place that knows "31 days" is a place that can
 * disagree. It is deeply frozen, so no command can change settings another command then reads.
 *
 * Numbers from the environment: YAML gives `backfill_days: ${DAYS}` as a string. Where the schema
 * expects a number and the string is a plain decimal number (`7`, `-1`, `2.5`; no spaces, no
 * exponent, no hex) it is converted before validation, then validated like any number. This
 * applies to any such string, quoted literals included: `"7"` means 7. Nothing else is coerced.
 *
 * Every problem is reported at once (`<path>: <message>` lines); no message contains a value.
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.js';
import { errorMapWithKnownKeys, formatIssues, formatPath } from './issues.js';
import { interpolate, type Env } from './interpolate.js';
import { configSchema, type MetricsSettings, type ParsedConfig } from './schema.js';

/** Readonly all the way down (the runtime object is frozen to match). */
export type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type ResolvedKeys = 'name' | 'backfill_days' | 'lookback_days' | 'max_requests_per_run';
type ResolveSource<S> = S extends unknown
  ? Omit<S, ResolvedKeys> & {
      name: string;
      backfill_days: number;
      lookback_days: number;
      max_requests_per_run: number;
    }
  : never;

/** One `sources[]` entry with its name and per-source settings resolved. */
export type SourceConfig = DeepReadonly<ResolveSource<ParsedConfig['sources'][number]>>;
export type DestinationConfig = DeepReadonly<ParsedConfig['destination']>;
export type SyncConfig = DeepReadonly<ParsedConfig['sync']>;

/** The validated config: snake_case keys as in the YAML, every default applied. */
export interface Config {
  readonly destination: DestinationConfig;
  readonly sync: SyncConfig;
  readonly sources: ReadonlyArray<SourceConfig>;
  /** Where each run publishes Prometheus metrics; absent: none. */
  readonly metrics?: DeepReadonly<MetricsSettings>;
}

/** The settings a source's streams run with: the source's own override, else `sync`. */
export interface SourceSettings {
  backfill_days: number;
  lookback_days: number;
  /** Unset: each stream's own window size. */
  window_days?: number;
  max_requests_per_run: number;
}

export async function loadConfig(path: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? 'error'})`;
    throw configError(path, [`${path}: ${reason}`]);
  }
  return parseConfig(text, path, env);
}

/** `origin` names the text in messages (a file path, or e.g. `<embedded default>`). */
export function parseConfig(text: string, origin: string, env: Env = process.env): Config {
  const tree = parseYaml(text, origin);
  if (tree === null || tree === undefined) {
    throw configError(origin, [`${origin}: empty; a config needs destination and sources`]);
  }
  const { value, issues: envIssues, envHints, failedPaths } = interpolate(tree, env);

  let result = configSchema.safeParse(value, { error: errorMapWithKnownKeys });
  if (!result.success && coerceNumericStrings(value, result.error.issues)) {
    result = configSchema.safeParse(value, { error: errorMapWithKnownKeys });
  }
  if (!result.success || envIssues.length > 0) {
    // A field whose variable is unset is reported once, as unset, not also as invalid.
    const schemaIssues = result.success
      ? []
      : result.error.issues.filter((i) => !failedPaths.has(formatPath(i.path)));
    throw configError(origin, [...envIssues, ...formatIssues(schemaIssues, envHints)]);
  }
  return deepFreeze(resolve(result.data));
}

/** Effective backfill/lookback/window/budget of `config.sources[sourceIndex]`. */
export function resolveSourceSettings(config: Config, sourceIndex: number): SourceSettings {
  const source = config.sources[sourceIndex];
  if (!source)
    throw new RangeError(`no source at index ${sourceIndex} (config has ${config.sources.length})`);
  const settings: SourceSettings = {
    backfill_days: source.backfill_days,
    lookback_days: source.lookback_days,
    max_requests_per_run: source.max_requests_per_run,
  };
  if (source.window_days !== undefined) settings.window_days = source.window_days;
  return settings;
}

function resolve(parsed: ParsedConfig): Config {
  const { sync } = parsed;
  return {
    destination: parsed.destination,
    sync,
    sources: parsed.sources.map((source) => ({
      ...source,
      name: source.name ?? source.type,
      backfill_days: source.backfill_days ?? sync.backfill_days,
      lookback_days: source.lookback_days ?? sync.lookback_days,
      max_requests_per_run: source.max_requests_per_run ?? sync.max_requests_per_run,
    })),
    ...(parsed.metrics ? { metrics: parsed.metrics } : {}),
  };
}

function parseYaml(text: string, origin: string): unknown {
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw configError(
      origin,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${origin}${at ? `:${at.line}:${at.col}` : ''}: ${yamlMessage(e.message)}`;
      }),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw configError(origin, [
      `${origin}: ${yamlMessage(err instanceof Error ? err.message : String(err))}`,
    ]);
  }
}

/** yaml's message without its location suffix, source excerpt, or echoed token (could be a secret). */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/: ".*"$/, '');
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Converts decimal strings where the schema wanted a number; true if anything changed. */
function coerceNumericStrings(
  tree: unknown,
  issues: readonly { code: string; path: PropertyKey[] }[],
): boolean {
  let changed = false;
  for (const issue of issues) {
    const expected = (issue as { expected?: string }).expected;
    if (issue.code !== 'invalid_type' || (expected !== 'number' && expected !== 'int')) continue;
    const parent = issue.path.slice(0, -1).reduce<unknown>((node, key) => (node as never)?.[key], tree);
    const key = issue.path[issue.path.length - 1];
    if (parent === null || typeof parent !== 'object' || key === undefined) continue;
    const current = (parent as Record<PropertyKey, unknown>)[key];
    if (typeof current === 'string' && DECIMAL.test(current)) {
      (parent as Record<PropertyKey, unknown>)[key] = Number(current);
      changed = true;
    }
  }
  return changed;
}

/**
 * ConfigError runs its message through redactSecrets, which turns `sources[0].token: environment
 * variable X is not set` into `sources[0].token: *** variable …` (it reads `token: <word>` as a
 * credential). Every line here is built from field paths, variable names and schema rules, never
 * from values, so the exact text is restored after construction.
 */
function configError(origin: string, issues: string[]): ConfigError {
  const message = `invalid configuration (${origin}):\n  ${issues.join('\n  ')}`;
  const err = new ConfigError(message, issues);
  err.message = message;
  return err;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
