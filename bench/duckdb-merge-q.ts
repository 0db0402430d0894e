import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(process.argv[2]!);
const c = await inst.connect();
for (const sql of process.argv.slice(3)) {
  for (let i = 0; i < 2; i++) {
    const s = performance.now();
    const r = await c.runAndReadAll(sql);
    console.log(
      `${((performance.now() - s) / 1000).toFixed(3)} s rows ${r.currentRowCount} ${i ? '' : sql.slice(0, 120)} ${r.currentRowCount === 1 ? JSON.stringify(r.getRowsJson()[0]).slice(0, 200) : ''}`,
    );
  }
}
