/**
 * The `destination: {type: snowflake}` section. Secrets (private key, password) come from the
 * environment through ${VAR} or from a file path: never inline in the config file. Exactly one
 * of `private_key_path`, `private_key` and `password` must be set: checked by the refinement of the
 * whole config (src/config/schema.ts), since a union member cannot carry one, and again by the
 * destination when it is created.
 */
import { z } from 'zod';
import { DEFAULTS } from '../core/defaults.js';

export const SNOWFLAKE_DEFAULT_LOCK_LEASE_SECONDS = 300;

export const snowflakeDestinationSchema = z
  .object({
    type: z.literal('snowflake'),
    account: z.string().min(1).describe('Account identifier, e.g. myorg-myaccount.'),
    user: z.string().min(1).describe('User name.'),
    database: z
      .string()
      .min(1)
      .describe('Database holding the schema (as Snowflake resolves it: unquoted, so case-insensitive).'),
    schema: z
      .string()
      .min(1)
      .max(255)
      .default(DEFAULTS.schema)
      .describe(
        `Schema (default ${DEFAULTS.schema}); created if absent, used as a quoted, case-sensitive name.`,
      ),
    warehouse: z.string().min(1).optional().describe('Virtual warehouse that runs the queries.'),
    role: z.string().min(1).optional().describe('Role to use.'),
    private_key_path: z
      .string()
      .min(1)
      .optional()
      .describe('PKCS#8 PEM private key file (key-pair auth, preferred).'),
    private_key: z
      .string()
      .min(1)
      .optional()
      .describe('PKCS#8 PEM private key text (key-pair auth); write ${SNOWFLAKE_PRIVATE_KEY}.'),
    private_key_passphrase: z
      .string()
      .min(1)
      .optional()
      .describe('Passphrase of an encrypted private key; write ${SNOWFLAKE_PRIVATE_KEY_PASSPHRASE}.'),
    password: z.string().min(1).optional().describe('Password; write ${SNOWFLAKE_PASSWORD}.'),
    access_url: z
      .string()
      .url()
      .optional()
      .describe(
        'Full URL of the Snowflake endpoint (private link, proxies, tests); default from the account.',
      ),
    lock_lease_seconds: z
      .number()
      .int()
      .min(30)
      .max(86_400)
      .default(SNOWFLAKE_DEFAULT_LOCK_LEASE_SECONDS)
      .describe(
        `Lease of a stream lock row; renewed while held, free this long after its holder died (default ${SNOWFLAKE_DEFAULT_LOCK_LEASE_SECONDS}).`,
      ),
  })
  .strict();

export type SnowflakeDestinationConfig = z.output<typeof snowflakeDestinationSchema>;
