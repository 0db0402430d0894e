/**
 * The `destination: {type: snowflake}` section. Secrets (private key, password) come from the
 * environment through ${VAR} or from a file path: never inline in the config file.
 */
import { z } from 'zod';
import { DEFAULTS } from '../core/defaults.js';

export const snowflakeDestinationSchema = z
  .object({
    type: z.literal('snowflake'),
    account: z.string().min(1).describe('Account identifier, e.g. myorg-myaccount.'),
    user: z.string().min(1).describe('User name.'),
    database: z.string().min(1).describe('Database holding the schema.'),
    schema: z.string().min(1).default(DEFAULTS.schema).describe(`Schema (default ${DEFAULTS.schema}).`),
    warehouse: z.string().min(1).optional().describe('Virtual warehouse that runs the queries.'),
    role: z.string().min(1).optional().describe('Role to use.'),
    private_key_path: z.string().min(1).optional().describe('PKCS#8 private key file (key-pair auth).'),
    password: z.string().min(1).optional().describe('Password; write ${SNOWFLAKE_PASSWORD}.'),
  })
  .strict();
