/**
 * How exportsync logs in to Snowflake and tags its statements. Key-pair auth (SNOWFLAKE_JWT: the
 * driver signs a short-lived JWT with the private key) is preferred; password works too; exactly
 * one must be configured, or the run stops with a ConfigError naming the keys. The QUERY_TAG is
 * JSON so QUERY_HISTORY can be filtered by run and stream; an untagged statement would make a
 * run's cost impossible to find.
 */
import type snowflake from 'snowflake-sdk';
import type { SnowflakeDestinationConfig } from '../../config/snowflake.js';
import { ConfigError } from '../../core/errors.js';

/** The QUERY_TAG of exportsync's statements: JSON, so QUERY_HISTORY can be filtered by run. */
export function queryTag(fields: { runId?: string; stream?: string } = {}): string {
  return JSON.stringify({
    app: 'exportsync',
    ...(fields.runId ? { run_id: fields.runId } : {}),
    ...(fields.stream ? { stream: fields.stream } : {}),
  });
}

/** snowflake-sdk connection options from the config section (validates the auth choice). */
export function connectionOptions(c: SnowflakeDestinationConfig): snowflake.ConnectionOptions {
  const auths = (['private_key_path', 'private_key', 'password'] as const).filter((k) => c[k] !== undefined);
  if (auths.length !== 1) {
    throw new ConfigError(
      auths.length === 0
        ? 'destination: snowflake needs one of private_key_path, private_key (key-pair, preferred) or password'
        : `destination: set only one of ${auths.join(', ')}`,
    );
  }
  const keyPair = c.private_key_path !== undefined || c.private_key !== undefined;
  return {
    account: c.account,
    username: c.user,
    database: c.database,
    ...(c.warehouse ? { warehouse: c.warehouse } : {}),
    ...(c.role ? { role: c.role } : {}),
    ...(c.access_url ? { accessUrl: c.access_url } : {}),
    application: 'exportsync',
    ...(keyPair
      ? {
          authenticator: 'SNOWFLAKE_JWT',
          ...(c.private_key_path ? { privateKeyPath: c.private_key_path } : { privateKey: c.private_key }),
          ...(c.private_key_passphrase ? { privateKeyPass: c.private_key_passphrase } : {}),
        }
      : { password: c.password }),
  } as snowflake.ConnectionOptions;
}
