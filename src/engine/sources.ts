/**
 * Builds the configured sources and selects their streams. Unknown connector or stream names are
 * config errors that name the field and list what exists.
 */
import type { Source, StreamDefinition } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { resolveSourceSettings } from '../config/load.js';
import { scarfConnector } from '../../connectors/scarf/index.js';
import { replicatedConnector } from '../../connectors/replicated/index.js';
import { marketplaceConnector } from '../../connectors/marketplace/index.js';
import { SCARF_CONTRACTS } from '../../connectors/scarf/contract.js';
import { REPLICATED_CONTRACTS } from '../../connectors/replicated/contract.js';
import { MARKETPLACE_CONTRACTS } from '../../connectors/marketplace/contract.js';
import type { ContractMap } from '../contract/types.js';
import { tolerate } from '../contract/tolerance.js';

/** What the engine hands every connector besides its config. */
export interface SourceOptions {
  /**
   * The engine's clock (run.ts / backfill `now`). A connector whose requests depend on "today"
   * (the marketplace retention edge) must use it: the engine clamps and plans windows with this
   * clock, and a connector on the real clock would disagree with it (skip or refuse windows the
   * engine kept). Absent: each connector uses the real clock.
   */
  now?: () => Date;
}

export interface ConnectorModule<C = never> {
  type: string;
  create(config: C, options?: SourceOptions): Source;
}

/** Every connector exportsync knows. A new connector adds one line here and one in src/config/sources.ts. */
const CONNECTORS: Record<string, ConnectorModule<never>> = {
  scarf: scarfConnector as unknown as ConnectorModule<never>,
  replicated: replicatedConnector as unknown as ConnectorModule<never>,
  marketplace: marketplaceConnector as unknown as ConnectorModule<never>,
};

/** Each connector's stream contracts (connectors/<name>/contract.ts), by stream name. */
const CONTRACTS: Record<string, ContractMap> = {
  scarf: SCARF_CONTRACTS,
  replicated: REPLICATED_CONTRACTS,
  marketplace: MARKETPLACE_CONTRACTS,
};

/**
 * A source from one config entry, its streams carrying their contracts (a contract the connector
 * set itself is kept) and reading through the contract tolerance (src/contract/tolerance.ts).
 * `overrides` replace config keys (check --contract builds probe sources with its own window_days);
 * `tolerant: false` leaves the batches as the connector reads them (check --contract reports the
 * alternatives the tolerance would hide); `now` is the engine's clock, handed to the connector.
 */
export function createSource(
  sourceConfig: Config['sources'][number],
  index: number,
  overrides: Record<string, unknown> = {},
  options: { tolerant?: boolean } & SourceOptions = {},
): Source {
  const connector = CONNECTORS[sourceConfig.type];
  if (!connector) {
    throw new ConfigError(
      `sources[${index}].type: unknown connector '${sourceConfig.type}' (known: ${Object.keys(CONNECTORS).join(', ')})`,
    );
  }
  const source = connector.create(
    { ...sourceConfig, ...overrides } as never,
    options.now ? { now: options.now } : {},
  );
  const contracts = CONTRACTS[sourceConfig.type] ?? {};
  for (const stream of source.streams) {
    stream.contract ??= contracts[stream.name];
    if (options.tolerant !== false) tolerate(stream);
  }
  return source;
}

export interface SelectedStream {
  source: Source;
  sourceIndex: number;
  stream: StreamDefinition;
  settings: ReturnType<typeof resolveSourceSettings>;
}

/**
 * The streams a run covers: each source's configured `streams` (default all), narrowed by
 * `only` (`source.stream` or a bare stream name) from the command line. `options.now` is the
 * engine's clock, handed to every connector (see SourceOptions).
 */
export function selectStreams(
  config: Config,
  only?: string[],
  options: SourceOptions = {},
): SelectedStream[] {
  const selected: SelectedStream[] = [];
  const matched = new Set<string>();
  config.sources.forEach((sourceConfig, index) => {
    const source = createSource(sourceConfig, index, {}, options.now ? { now: options.now } : {});
    const available = new Map(source.streams.map((s) => [s.name, s]));
    const wanted = sourceConfig.streams ?? [...available.keys()];
    wanted.forEach((name, j) => {
      const stream = available.get(name);
      if (!stream) {
        throw new ConfigError(
          `sources[${index}].streams[${j}]: unknown stream '${name}' (${source.type} has: ${[...available.keys()].join(', ')})`,
        );
      }
      const key = `${source.name}.${name}`;
      if (only && !only.includes(key) && !only.includes(name)) return;
      if (only) matched.add(only.includes(key) ? key : name);
      selected.push({ source, sourceIndex: index, stream, settings: resolveSourceSettings(config, index) });
    });
  });
  const unmatched = (only ?? []).filter((s) => !matched.has(s));
  if (unmatched.length > 0) {
    throw new ConfigError(`--streams: no configured stream matches ${unmatched.join(', ')}`);
  }
  return selected;
}
