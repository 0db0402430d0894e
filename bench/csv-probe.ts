/**
 * How much of the sync's CSV parsing cost a purpose-built splitter would remove, measured on the
 * benchmark's own bytes: `npx tsx bench/csv-probe.ts <file.csv> [repeats]`. Times
 * src/http/csv.ts readCsv (csv-parse) and a minimal RFC 4180 splitter (indexOf over decoded
 * text, quotes handled, same null-for-empty rule) over the same 1 MiB chunks, and checks both
 * give identical records. The splitter is a probe for the report, not production code: it lacks
 * readCsv's line numbers, rejects, BOM/NUL handling and the runaway-record bound.
 */
import { createReadStream } from 'node:fs';
import { readCsv } from '../src/http/csv.js';

type Rec = (string | null)[];

/** Splits complete records out of `text`; returns them and the unconsumed tail. */
export function splitRecords(text: string, out: Rec[]): string {
  let i = 0;
  const n = text.length;
  let rec: Rec = [];
  let recStart = 0;
  while (i < n) {
    let value: string;
    if (text.charCodeAt(i) === 34) {
      let j = i + 1;
      let acc = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return text.slice(recStart); // quote not closed in this chunk
        if (text.charCodeAt(q + 1) === 34) {
          acc += text.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        if (q + 1 >= n) return text.slice(recStart); // cannot tell yet
        acc += text.slice(j, q);
        i = q + 1;
        break;
      }
      value = acc;
    } else {
      let c = text.indexOf(',', i);
      const nl = text.indexOf('\n', i);
      if (nl < 0) return text.slice(recStart);
      if (c < 0 || c > nl) c = nl;
      value = text.slice(i, c);
      i = c;
    }
    rec.push(value === '' ? null : value);
    const ch = text.charCodeAt(i);
    if (ch === 44) i++;
    else if (ch === 10 || ch === 13) {
      if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
      i++;
      out.push(rec);
      rec = [];
      recStart = i;
    } else if (i >= n) return text.slice(recStart);
  }
  return text.slice(recStart);
}

async function* chunks(file: string): AsyncGenerator<Buffer> {
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) yield c as Buffer;
}

/** Calls `each` with every batch of records, via readCsv (csv-parse) or via the splitter. */
async function viaReadCsv(file: string, each: (recs: Rec[]) => void): Promise<number> {
  const t = performance.now();
  for await (const b of readCsv(chunks(file), { batchRows: 10_000 })) each(b.records as Rec[]);
  return performance.now() - t;
}

async function viaSplitter(file: string, each: (recs: Rec[]) => void): Promise<number> {
  const t = performance.now();
  const decoder = new TextDecoder();
  let tail = '';
  let header = true;
  for await (const c of chunks(file)) {
    const out: Rec[] = [];
    tail = splitRecords(tail + decoder.decode(c, { stream: true }), out);
    if (header) out.shift();
    header = false;
    each(out);
  }
  return performance.now() - t;
}

/** FNV-1a over every record's JSON: equal digests = identical records in identical order. */
function digester(): { each: (recs: Rec[]) => void; value: () => string } {
  let h = 0x811c9dc5;
  let count = 0;
  return {
    each: (recs) => {
      for (const r of recs) {
        const s = JSON.stringify(r);
        for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
        count++;
      }
    },
    value: () => `${count}:${(h >>> 0).toString(16)}`,
  };
}

if (process.argv[1]?.endsWith('csv-probe.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: csv-probe.ts <file.csv> [repeats]');
  const da = digester();
  const db = digester();
  await viaReadCsv(file, da.each);
  await viaSplitter(file, db.each);
  process.stdout.write(`records ${da.value()} vs ${db.value()} · identical: ${da.value() === db.value()}\n`);
  let n = 0;
  const count = (recs: Rec[]): void => void (n += recs.length);
  for (let r = 0; r < Number(process.argv[3] ?? 2); r++) {
    const a = await viaReadCsv(file, count);
    const b = await viaSplitter(file, count);
    process.stdout.write(
      `readCsv (csv-parse) ${(a / 1000).toFixed(2)} s · splitter ${(b / 1000).toFixed(2)} s\n`,
    );
  }
}
