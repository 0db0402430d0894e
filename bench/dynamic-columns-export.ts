/**
 * The Replicated `customer_instances` export for bench/dynamic-columns.ts: rendered once to a file
 * from the simulator's own generator (connectors/replicated/simulator-data.ts, in chunks of
 * customers so memory stays small) and served on 127.0.0.1 with the simulator's path, raw-token
 * auth and content type. The simulator itself builds the whole export in memory on every request
 * (seconds for 100,000 rows of 200+ columns), which would be measured as the sync's time.
 * Files are cached under os.tmpdir() by (rows, dynamic columns, day, format).
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DYNAMIC_FAMILIES } from '../connectors/replicated/dictionary.js';
import {
  cellText,
  customerId,
  customerInstanceHeader,
  customerInstanceRows,
  instancesOf,
  type ReplicatedDataOptions,
} from '../connectors/replicated/simulator-data.js';
import { csvLine, hashSeed } from '../connectors/scarf/simulator-data.js';
import { DAY_MS, isoDate } from '../src/core/time.js';

export const APP_ID = 'app-bench';
export const TOKEN = 'bench-replicated-token';
const CHUNK_CUSTOMERS = 2000;

export interface RenderedExport {
  file: string;
  format: 'json' | 'csv';
  rows: number;
  /** Columns of the export that are dynamic (entitlements, custom metrics, tags). */
  dynamicColumns: number;
  columns: number;
}

const dynamicCount = (header: string[]): number =>
  header.filter((h) => DYNAMIC_FAMILIES.some((p) => h.startsWith(p))).length;

/**
 * An export of about `rows` rows (whole customers) with exactly `dynamic` dynamic columns
 * (`bulk_metric_<n>` custom metrics on top of the simulator's own nine), as of `now`.
 */
export async function renderExport(
  rows: number,
  dynamic: number,
  format: 'json' | 'csv',
  now = new Date(),
): Promise<RenderedExport> {
  const base: ReplicatedDataOptions = {
    seed: 'bench-dynamic',
    appId: APP_ID,
    customers: 4,
    // instances first report a month ago: every instance exists and every metric has a value
    epoch: isoDate(new Date(now.getTime() - 30 * DAY_MS)),
    extraMetricKeys: 0,
    hiddenInstances: [],
  };
  const builtIn = dynamicCount(customerInstanceHeader(customerInstanceRows(base, now.getTime())));
  if (dynamic < builtIn) throw new Error(`the simulator's export has at least ${builtIn} dynamic columns`);
  // customers until the rows reach `rows` (a customer without instances is one row)
  let customers = 0;
  for (let total = 0; total < rows; customers++) {
    total += Math.max(1, instancesOf(base, customers).length);
  }
  const o: ReplicatedDataOptions = { ...base, customers, extraMetricKeys: dynamic - builtIn };
  const header = customerInstanceHeader(customerInstanceRows({ ...o, customers: 4 }, now.getTime()));
  const file = join(tmpdir(), `exportsync-bench-ci-${rows}-${dynamic}-${isoDate(now)}.${format}`);
  const seed = hashSeed(o.seed);
  let count = 0;
  if (!existsSync(file)) {
    const out = createWriteStream(`${file}.part`);
    const write = async (text: string): Promise<void> => {
      if (!out.write(text)) await once(out, 'drain');
    };
    await write(format === 'csv' ? csvLine(header) : '[');
    for (let from = 0; from < customers; from += CHUNK_CUSTOMERS) {
      const ids = new Set<string>();
      for (let i = from; i < Math.min(customers, from + CHUNK_CUSTOMERS); i++) ids.add(customerId(seed, i));
      let text = '';
      for (const r of customerInstanceRows(o, now.getTime(), ids)) {
        if (format === 'csv') text += csvLine(header.map((h) => cellText(r[h])));
        else text += `${count === 0 ? '' : ','}\n${JSON.stringify(r)}`;
        count++;
      }
      await write(text);
    }
    if (format === 'json') await write('\n]');
    out.end();
    await once(out, 'finish');
    renameSync(`${file}.part`, file);
  } else {
    for (let i = 0; i < customers; i++) count += Math.max(1, instancesOf(o, i).length);
  }
  return { file, format, rows: count, dynamicColumns: dynamicCount(header), columns: header.length };
}

export interface ExportServer {
  url: string;
  requests: number;
  /** Serves this export from the next request on. */
  serve(exp: RenderedExport): void;
  close(): Promise<void>;
}

export async function serveExport(): Promise<ExportServer> {
  let current: RenderedExport | undefined;
  const state = { requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, error: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error }));
    };
    if (url.pathname !== `/vendor/v3/app/${APP_ID}/customer_instances`) return json(404, 'no route');
    if (req.headers.authorization !== TOKEN) return json(401, 'Unauthorized');
    if (!current) return json(500, 'no export set');
    const csv = url.searchParams.get('format') === 'csv';
    if (csv !== (current.format === 'csv')) return json(500, `export rendered as ${current.format}`);
    res.writeHead(200, {
      'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    });
    createReadStream(current.file, { highWaterMark: 256 * 1024 })
      .on('error', () => res.destroy())
      .pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    serve(exp) {
      current = exp;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
