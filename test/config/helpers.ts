import { ConfigError } from '../../src/core/errors.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import type { Env } from '../../src/config/interpolate.js';

export const SCARF = `
sources:
  - type: scarf
    owner: acme
    token: tok_live_abcdef123456
`;

export const minimal = (extra = '') => `destination:\n  type: duckdb\n${extra}${SCARF}`;

/** Parses and returns the ConfigError (fails the test if parsing succeeds or throws anything else). */
export function configErrorOf(text: string, env: Env = {}): ConfigError {
  let config: Config | undefined;
  try {
    config = parseConfig(text, 'test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError, got a config: ${JSON.stringify(config)}`);
}
