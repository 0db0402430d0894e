/**
 * CSV splitting speed on the benchmark's own bytes: `npx tsx bench/csv-libs-probe.ts <file.csv>
 * [repeats] [libdir]`. Times src/http/csv.ts readCsv (the hand-written splitter), csv-parse (the
 * previous reader, core options as readCsv used them) and, when `libdir` has them installed
 * (`npm i --prefix <libdir> udsv papaparse`, not project dependencies), uDSV and Papa Parse, all
 * over the same 1 MiB chunks; checks each gives records identical to readCsv's (FNV digest).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as csvParse } from 'csv-parse';
import { readCsv } from '../src/http/csv.js';

type Rec = (string | null)[];
type Each = (recs: Rec[]) => void;

async function* chunks(file: string): AsyncGenerator<Buffer> {
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) yield c as Buffer;
}

const nullEmpty = (r: string[]): Rec => r.map((v) => (v === '' ? null : v));

async function viaReadCsv(file: string, each: Each): Promise<void> {
  for await (const b of readCsv(chunks(file), { batchRows: 10_000 })) each(b.records as Rec[]);
}

async function viaCsvParse(file: string, each: Each): Promise<void> {
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
    csvParse({
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      from_line: 2,
    }),
  );
  let out: Rec[] = [];
  for await (const r of parser) {
    out.push(nullEmpty(r as string[]));
    if (out.length === 10_000) {
      each(out);
      out = [];
    }
  }
  each(out);
}

interface Udsv {
  inferSchema(s: string): unknown;
  initParser(schema: unknown): {
    chunk(s: string, parse: unknown, cb: (row: string[]) => boolean): void;
    stringArrs: unknown;
    end(): void;
  };
}

async function viaUdsv(lib: Udsv, file: string, each: Each): Promise<void> {
  let parser: ReturnType<Udsv['initParser']> | undefined;
  let out: Rec[] = [];
  const cb = (row: string[]): boolean => {
    out.push(nullEmpty(row));
    return true;
  };
  for await (const c of chunks(file)) {
    const text = c.toString('utf8');
    parser ??= lib.initParser(lib.inferSchema(text));
    parser.chunk(text, parser.stringArrs, cb);
    each(out);
    out = [];
  }
  parser?.end();
  each(out);
}

interface Papa {
  parse(s: NodeJS.ReadableStream, o: object): void;
}

async function viaPapa(lib: Papa, file: string, each: Each): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let header = true;
    lib.parse(createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' }), {
      chunk: (res: { data: string[][] }) => {
        const rows = res.data.map(nullEmpty);
        if (header) rows.shift();
        header = false;
        each(rows);
      },
      complete: () => resolve(),
      error: reject,
    });
  });
}

function digester(): { each: Each; value: () => string } {
  let h = 0x811c9dc5;
  let count = 0;
  return {
    each: (recs) => {
      for (const r of recs) {
        if (r.length === 1 && r[0] === null) continue; // a trailing empty line some parsers report
        const s = JSON.stringify(r);
        for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
        count++;
      }
    },
    value: () => `${count}:${(h >>> 0).toString(16)}`,
  };
}

const file = process.argv[2];
if (!file) throw new Error('usage: csv-libs-probe.ts <file.csv> [repeats] [libdir]');
const libdir = process.argv[4];
const load = async <T>(name: string, entry: string): Promise<T | undefined> => {
  if (!libdir) return undefined;
  try {
    const m = (await import(pathToFileURL(join(libdir, 'node_modules', name, entry)).href)) as {
      default?: T;
    } & T;
    return (m.default ?? m) as T;
  } catch {
    return undefined;
  }
};
const udsv = await load<Udsv>('udsv', 'dist/uDSV.mjs');
const papa = await load<Papa>('papaparse', 'papaparse.js');
const candidates: Array<[string, (f: string, e: Each) => Promise<void>]> = [
  ['readCsv (csv-split)', viaReadCsv],
  ['csv-parse 7', viaCsvParse],
  ...(udsv ? [['uDSV 0.7', (f: string, e: Each) => viaUdsv(udsv, f, e)] as [string, typeof viaReadCsv]] : []),
  ...(papa
    ? [['Papa Parse 5', (f: string, e: Each) => viaPapa(papa, f, e)] as [string, typeof viaReadCsv]]
    : []),
];
const reference = digester();
await viaReadCsv(file, reference.each);
for (const [name, fn] of candidates) {
  const d = digester();
  await fn(file, d.each);
  process.stdout.write(
    `${name}: records ${d.value()} · identical to readCsv: ${d.value() === reference.value()}\n`,
  );
}
let n = 0;
const count: Each = (recs) => void (n += recs.length);
for (let r = 0; r < Number(process.argv[3] ?? 2); r++) {
  const times = [];
  for (const [name, fn] of candidates) {
    const t = performance.now();
    await fn(file, count);
    times.push(`${name} ${((performance.now() - t) / 1000).toFixed(2)} s`);
  }
  process.stdout.write(`${times.join(' · ')}\n`);
}
