import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvStaging } from '../../src/destinations/duckdb/duckdb-staging.js';

let dir: string;
let db: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exportsync-staging-test-'));
  db = await DuckDBInstance.create(join(dir, 'db.duckdb'));
  conn = await db.connect();
});

afterAll(() => {
  conn.closeSync();
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function rowsOf(table: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(`SELECT * FROM ${table} ORDER BY seq`)).getRows() as unknown[][];
}

describe('CsvStaging', () => {
  it('loads NULL, empty, quotes, line breaks, backslashes and non-ASCII exactly, in sequence order', async () => {
    await conn.run('CREATE TEMP TABLE s1 (seq BIGINT, a VARCHAR, b VARCHAR)');
    const staging = new CsvStaging();
    const values = [null, '', '"', 'x,"y"', 'a\nb', 'a\r\nb', '\r', '\\.', '\\N', 'Zürich 東京 😀', ' lead'];
    await staging.write(
      values.map((v) => [v, 'k']),
      ['a', 'b'],
    );
    await staging.write([['last']], ['a', 'b']); // short row: trailing NULL
    await staging.load(conn, 's1', 'seq');
    expect(staging.rows).toBe(values.length + 1);
    expect(await rowsOf('s1')).toEqual([
      ...values.map((v, i) => [BigInt(i + 1), v, 'k']),
      [BigInt(values.length + 1), 'last', null],
    ]);
    await staging.discard();
  });

  it('starts a new file when columns are appended, earlier rows NULL in the new column', async () => {
    await conn.run('CREATE TEMP TABLE s2 (seq BIGINT, a VARCHAR, b VARCHAR)');
    const staging = new CsvStaging();
    await staging.write([['1']], ['a']);
    await staging.write([['2', 'x']], ['a', 'b']);
    await staging.load(conn, 's2', 'seq');
    expect(await rowsOf('s2')).toEqual([
      [1n, '1', null],
      [2n, '2', 'x'],
    ]);
    await staging.discard();
  });

  it('loads a line longer than read_csv’s default 2 MB limit', async () => {
    await conn.run('CREATE TEMP TABLE s3 (seq BIGINT, a VARCHAR)');
    const staging = new CsvStaging();
    const big = 'é'.repeat(3 * 1024 * 1024);
    await staging.write([[big], ['small']], ['a']);
    await staging.load(conn, 's3', 'seq');
    const rows = await rowsOf('s3');
    expect((rows[0]![1] as string).length).toBe(big.length);
    expect(rows[1]).toEqual([2n, 'small']);
    await staging.discard();
  });

  it('removes its files on discard', async () => {
    const staging = new CsvStaging();
    await staging.write([['1']], ['a']);
    const files = staging.directory!;
    expect(readdirSync(files)).toEqual(['0.csv']);
    await staging.discard();
    await staging.discard();
    expect(existsSync(files)).toBe(false);
  });
});
