import pg from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * The Postgres the tests use: TEST_DATABASE_URL if set, else the server on 127.0.0.1:5432
 * (database `test`, trust auth). Each test file takes its own schema (`t_<random>`), so test
 * files and parallel sessions never see each other's tables; `dropSchema` removes it.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  return withClient(async (c) => (await c.query<R>(sql, params)).rows);
}
