/**
 * The contract harness for Snowflake on the local stand-in: one stand-in per test file, one schema
 * per harness, the REAL snowflake-sdk talking to it over 127.0.0.1. `rows` reads the stand-in's
 * DuckDB directly (canonical text), so assertions do not depend on the code under test.
 */
import type { Destination } from '../../../src/core/contracts.js';
import { silentLogger } from '../../../src/core/log.js';
import { createSnowflakeDestination } from '../../../src/destinations/snowflake/index.js';
import { snowflakeDestinationSchema } from '../../../src/config/snowflake.js';
import { startSnowflakeStandin, type SnowflakeStandin } from './index.js';
import type { DestinationHarness } from '../../destinations/contract.js';

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

let standin: Promise<SnowflakeStandin> | undefined;
let schemas = 0;

export function sharedStandin(): Promise<SnowflakeStandin> {
  standin ??= startSnowflakeStandin();
  return standin;
}

export async function stopSharedStandin(): Promise<void> {
  const s = standin;
  standin = undefined;
  await (await s)?.stop();
}

export function destinationOn(
  sf: SnowflakeStandin,
  schema: string,
  extra: Record<string, unknown> = {},
): Destination {
  const config = snowflakeDestinationSchema.parse({ ...sf.config({ schema }), ...extra });
  return createSnowflakeDestination({ config, log: silentLogger });
}

/** Each column of a stand-in table as canonical text, ordered by `orderBy`. */
export async function tableRows(
  sf: SnowflakeStandin,
  schema: string,
  table: string,
  orderBy: string[],
): Promise<Array<Record<string, string | null>>> {
  const cols = (await sf.query(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ${lit(schema)} AND table_name = ${lit(table)} ORDER BY ordinal_position`,
  )) as Array<{ column_name: string; data_type: string }>;
  if (cols.length === 0) throw new Error(`no table ${table}`);
  const exprs = cols.map(({ column_name: n, data_type: t }) => {
    if (t === 'TIMESTAMP WITH TIME ZONE')
      return `strftime(timezone('UTC', src.${q(n)}), '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q(n)}`;
    if (t === 'BOOLEAN')
      return `CASE WHEN src.${q(n)} THEN 'true' WHEN NOT src.${q(n)} THEN 'false' END AS ${q(n)}`;
    return `CAST(src.${q(n)} AS VARCHAR) AS ${q(n)}`;
  });
  return (await sf.query(
    `SELECT ${exprs.join(', ')} FROM ${q(schema)}.${q(table)} AS src ORDER BY ${orderBy.map((n) => `src.${q(n)}`).join(', ')}`,
  )) as Array<Record<string, string | null>>;
}

export async function makeSnowflakeHarness(): Promise<
  DestinationHarness & { schema: string; standin: SnowflakeStandin }
> {
  const sf = await sharedStandin();
  const schema = `c_${process.pid}_${++schemas}`;
  const made: Destination[] = [];
  const open = async () => {
    const d = destinationOn(sf, schema);
    made.push(d);
    await d.open();
    return d;
  };
  const destination = await open();
  return {
    destination,
    schema,
    standin: sf,
    rows: (table, orderBy) => tableRows(sf, schema, table, orderBy),
    reopen: open,
    async cleanup() {
      for (const d of made) await d.close().catch(() => undefined);
      await sf.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
    },
  };
}
