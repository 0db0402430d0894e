/**
 * The contract suite against a REAL Snowflake account. Skipped unless SNOWFLAKE_ACCOUNT,
 * SNOWFLAKE_USER, SNOWFLAKE_DATABASE, SNOWFLAKE_WAREHOUSE and one credential
 * (SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PASSWORD) are set; optional
 * SNOWFLAKE_ROLE. Each test gets its own schema (EXPORTSYNC_TEST_<pid>_<n>), dropped afterwards.
 * See docs/snowflake.md ("Live tests") for the grants it needs. Costs a few warehouse-minutes.
 */
import snowflake from 'snowflake-sdk';
import { describe, it } from 'vitest';
import { snowflakeDestinationSchema } from '../../src/config/snowflake.js';
import type { Destination } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { connectionOptions, createSnowflakeDestination } from '../../src/destinations/snowflake/index.js';
import { destinationContract, type DestinationHarness } from './contract.js';

const env = process.env;
const credential = env.SNOWFLAKE_PRIVATE_KEY_PATH
  ? { private_key_path: env.SNOWFLAKE_PRIVATE_KEY_PATH }
  : env.SNOWFLAKE_PRIVATE_KEY
    ? { private_key: env.SNOWFLAKE_PRIVATE_KEY }
    : env.SNOWFLAKE_PASSWORD
      ? { password: env.SNOWFLAKE_PASSWORD }
      : undefined;
const live = Boolean(
  env.SNOWFLAKE_ACCOUNT &&
  env.SNOWFLAKE_USER &&
  env.SNOWFLAKE_DATABASE &&
  env.SNOWFLAKE_WAREHOUSE &&
  credential,
);

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
let n = 0;

function config(schema: string) {
  return snowflakeDestinationSchema.parse({
    type: 'snowflake',
    account: env.SNOWFLAKE_ACCOUNT,
    user: env.SNOWFLAKE_USER,
    database: env.SNOWFLAKE_DATABASE,
    warehouse: env.SNOWFLAKE_WAREHOUSE,
    ...(env.SNOWFLAKE_ROLE ? { role: env.SNOWFLAKE_ROLE } : {}),
    ...(env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE
      ? { private_key_passphrase: env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE }
      : {}),
    schema,
    ...credential,
  });
}

/** A plain driver connection for assertions (independent of the code under test). */
async function sql(schema: string, text: string, binds: string[] = []): Promise<unknown[][]> {
  const conn = snowflake.createConnection(connectionOptions(config(schema)));
  await new Promise<void>((res, rej) => conn.connect((e) => (e ? rej(e) : res())));
  try {
    return await new Promise<unknown[][]>((res, rej) =>
      conn.execute({
        sqlText: text,
        binds,
        rowMode: 'array',
        complete: (e, _s, rows) => (e ? rej(e) : res((rows ?? []) as unknown[][])),
      }),
    );
  } finally {
    await new Promise<void>((res) => conn.destroy(() => res()));
  }
}

function canonical(name: string, type: string): string {
  const c = q(name);
  switch (type) {
    case 'TIMESTAMP_TZ':
      return `TO_VARCHAR(CONVERT_TIMEZONE('UTC', ${c}), 'YYYY-MM-DD"T"HH24:MI:SS.FF6"Z"')`;
    case 'BOOLEAN':
      return `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`;
    case 'DATE':
      return `TO_VARCHAR(${c}, 'YYYY-MM-DD')`;
    case 'VARIANT':
      return `TO_JSON(${c})`;
    default:
      return `CAST(${c} AS VARCHAR)`;
  }
}

async function makeLiveHarness(): Promise<DestinationHarness> {
  const schema = `EXPORTSYNC_TEST_${process.pid}_${++n}`;
  const made: Destination[] = [];
  const open = async () => {
    const d = createSnowflakeDestination({ config: config(schema), log: silentLogger });
    made.push(d);
    await d.open();
    return d;
  };
  const destination = await open();
  return {
    destination,
    reopen: open,
    async rows(table, orderBy) {
      const cols = await sql(
        schema,
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
        [schema, table],
      );
      const names = cols.map((r) => String(r[0]));
      const exprs = cols.map((r) => `${canonical(String(r[0]), String(r[1]))} AS ${q(String(r[0]))}`);
      const rows = await sql(
        schema,
        `SELECT ${exprs.join(', ')} FROM ${q(schema)}.${q(table)} ORDER BY ${orderBy.map(q).join(', ')}`,
      );
      return rows.map((r) =>
        Object.fromEntries(names.map((name, i) => [name, r[i] === null ? null : String(r[i])])),
      );
    },
    async cleanup() {
      for (const d of made) await d.close().catch(() => undefined);
      await sql(schema, `DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
    },
  };
}

if (live) {
  destinationContract('snowflake (live)', makeLiveHarness);
} else {
  describe('snowflake (live)', () => {
    it.skip('needs SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_DATABASE, SNOWFLAKE_WAREHOUSE and a credential', () =>
      undefined);
  });
}
