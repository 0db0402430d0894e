/**
 * Where DuckDB's memory goes as a table grows: `npx tsx bench/duckdb-memory-probe.ts [rows] [memory_limit]`.
 * Inserts `rows` uuid-keyed rows in 10 transactions into a fresh file, once into a table WITH a
 * PRIMARY KEY (as the DuckDB destination creates its targets) and once without, and prints the
 * process RSS and the commit's fate. Each variant runs in its own child process so RSS is its own.
 * Shows that the key's ART index is held in memory, grows with the row count, and counts against
 * `memory_limit`: a limit below it fails the commit ("failed to pin block") instead of spilling.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [rowsArg = '1000000', limit = '256MB', variant] = process.argv.slice(2);
const rows = Number(rowsArg);

async function child(pk: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'exportsync-duckmem-'));
  try {
    const db = await DuckDBInstance.create(join(dir, 'probe.duckdb'), { memory_limit: limit });
    const c = await db.connect();
    await c.run(`CREATE TABLE t (id VARCHAR${pk ? ' PRIMARY KEY' : ''}, v VARCHAR)`);
    let outcome = 'ok';
    try {
      for (let i = 0; i < 10; i++)
        await c.run(`INSERT INTO t SELECT uuid()::VARCHAR, repeat('x', 100) FROM range(${rows / 10})`);
    } catch (err) {
      outcome = `FAILED: ${(err instanceof Error ? err.message : String(err)).slice(0, 120)}`;
    }
    const rss = Math.round(process.memoryUsage().rss / 1048576);
    process.stdout.write(
      `${rows} rows, ${pk ? 'PRIMARY KEY' : 'no key     '}, memory_limit ${limit}: RSS ${rss} MB, ${outcome}\n`,
    );
    c.closeSync();
    db.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (variant) {
  await child(variant === 'pk');
} else {
  for (const v of ['pk', 'nopk']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, rowsArg, limit, v], {
      encoding: 'utf8',
    });
    process.stdout.write(r.stdout + (r.status === 0 ? '' : r.stderr.slice(-500)));
  }
}
