/**
 * The pass-through reader against the string reader: for any body, chunked anywhere, the records
 * it yields — as records, or as encoded lines decoded back — are readCsv's records in readCsv's
 * order, with the same rejects and positions, and the same errors.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type {
  ByteSink,
  CsvPassThrough,
  CsvRecordSpans,
  CsvRecordWriter,
  RecordBatch,
} from '../../src/core/contracts.js';
import { DataError, SourceError } from '../../src/core/errors.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { readCsv } from '../../src/http/csv.js';
import { CsvSplitter } from '../../src/http/csv-split.js';
import { chunked, collect } from './helpers.js';
import { rng } from '../support/rng.js';

/** Writes the record back as CSV in header order: quoted fields quoted, empty quoted → NULL. */
class EchoWriter implements CsvRecordWriter {
  width: number;
  written = 0;
  calls = 0;
  constructor(
    fields: string[],
    private readonly accept: (n: number) => boolean = () => true,
  ) {
    this.width = fields.length;
  }
  write(r: CsvRecordSpans, out: ByteSink): boolean {
    if (!this.accept(++this.calls)) return false;
    this.written++;
    let size = r.count + 1;
    for (let f = 0; f < r.count; f++) size += (r.ends[f] as number) - (r.starts[f] as number) + 2;
    const buf = out.reserve(size);
    let p = out.length;
    for (let f = 0; f < r.count; f++) {
      if (f > 0) buf[p++] = 44;
      const a = r.starts[f] as number;
      const b = r.ends[f] as number;
      if (a === b) continue;
      if (r.quoted[f]) buf[p++] = 34;
      for (let i = a; i < b; i++) buf[p++] = r.src[i] as number;
      if (r.quoted[f]) buf[p++] = 34;
    }
    buf[p++] = 10;
    out.length = p;
    return true;
  }
}

function passThrough(accept?: (n: number) => boolean): CsvPassThrough & { writers: EchoWriter[] } {
  const writers: EchoWriter[] = [];
  return {
    writers,
    writerFor(fields) {
      const w = new EchoWriter(fields, accept);
      writers.push(w);
      return w;
    },
  };
}

/** The records of a batch stream in order; csv batches decoded with the string splitter. */
function flatten(batches: RecordBatch[]) {
  const records: unknown[][] = [];
  const positions: number[] = [];
  const rejects: unknown[] = [];
  for (const b of batches) {
    if (b.csv) {
      expect(b.records).toEqual([]);
      const text = Buffer.from(b.csv.text).toString('utf8');
      const decoded: unknown[][] = [];
      const s = new CsvSplitter((values) => decoded.push(values.map((v) => (v === '' ? null : v))));
      s.feed(text);
      s.end();
      expect(decoded).toHaveLength(b.csv.rows);
      for (const rec of decoded) expect(rec).toHaveLength(b.csv.width);
      records.push(...decoded);
      positions.push(...decoded.map(() => -1));
    } else {
      records.push(...b.records);
      positions.push(...(b.positions ?? []));
      rejects.push(...(b.rejects ?? []));
    }
  }
  return { records, positions, rejects };
}

/** readCsv's positions, with those of rows that went through as encoded lines masked. */
function masked(expected: number[], actual: number[]): number[] {
  return expected.map((p, i) => (actual[i] === -1 ? -1 : p));
}

async function both(input: string | Uint8Array, chunk: number, batchRows = 7, pt = passThrough()) {
  const want = await collect(readCsv(chunked(input, chunk), { batchRows, stream: 's' }));
  const got = await collect(readCsv(chunked(input, chunk), { batchRows, stream: 's', passThrough: pt }));
  return { want, got };
}

/** Values of a few short atoms; `LONG`: long runs of ordinary bytes with the bytes next to the scanner's word-skip bounds. */
const SHORT = {
  atoms: ['a', 'bc', ' ', 'é', '日本', '😀', '\\', '\\.', 'NULL', '1', '-0.5'],
  most: 4,
  minWidth: 1,
};
const LONG = {
  atoms: [
    'abcdefghijk',
    'Z0-9.',
    '-',
    '.',
    '+',
    '~',
    '\x7f',
    '!',
    '#',
    ' ',
    '\t',
    '\x0e',
    '\x0c',
    'é',
    '日本',
    '😀',
    'xyz',
  ],
  most: 14,
  // two fields at least: EchoWriter spells a one-field record `""` as an empty line, which reads as no record
  minWidth: 2,
};

function randomBody(seed: number, records: number, alphabet = SHORT): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const width = alphabet.minWidth + Math.floor(r() * (6 - alphabet.minWidth));
  const ends = ['\n', '\r\n', '\r'];
  const end = r() < 0.3 ? () => pick(ends) : () => '\n';
  const atoms = alphabet.atoms;
  const awkward = [',', '"', '\n', '\r\n', '\r', '\0'];
  const value = (): string => {
    let v = '';
    const n = Math.floor(r() * alphabet.most);
    for (let i = 0; i < n; i++) v += r() < 0.15 ? pick(awkward) : pick(atoms);
    return v;
  };
  const field = (): string => {
    const v = value();
    const mustQuote = /[",\r\n]/.test(v);
    const q = mustQuote ? r() < 0.95 : r() < 0.2;
    if (!q) return v.replace(/\r|\n|,/g, '').replace(/^"/, "'");
    let f = `"${v.replace(/"/g, '""')}"`;
    if (r() < 0.03) f += 'x'; // text after the closing quote
    return f;
  };
  const header = Array.from({ length: width }, (_, i) => `f${i}`).join(',');
  let body = (r() < 0.1 ? '\uFEFF' : '') + header + end();
  for (let i = 0; i < records; i++) {
    if (r() < 0.03) body += end(); // blank line
    const w = r() < 0.05 ? width + (r() < 0.5 ? -1 : 1) : width;
    body += Array.from({ length: Math.max(1, w) }, field).join(',');
    if (i < records - 1 || r() < 0.7) body += end();
  }
  return body;
}

describe('readCsv with a pass-through', () => {
  it('encodes regular records after the sample and keeps every record in order (random bodies, every chunk size)', async () => {
    const encoded = new Set<number>();
    for (let seed = 1; seed <= Number(process.env.CSV_BYTES_SEEDS ?? 40); seed++) {
      const body = randomBody(seed, SAMPLE_RECORDS + 60);
      for (const chunk of [1, 3, 17, 4096, 1 << 20]) {
        if (chunk === 1 && seed > 6) continue;
        const outcome: Awaited<ReturnType<typeof both>> | Error = await both(body, chunk).catch(
          (e: unknown) => e as Error,
        );
        if (outcome instanceof Error) {
          // a body both readers refuse: the same error, word for word
          const plain = await collect(readCsv(chunked(body, chunk), { batchRows: 7, stream: 's' })).catch(
            (e: unknown) => e,
          );
          expect((plain as Error).message, `seed ${seed} chunk ${chunk}`).toBe(outcome.message);
          const fast = await collect(
            readCsv(chunked(body, chunk), { batchRows: 7, stream: 's', passThrough: passThrough() }),
          ).catch((e: unknown) => e);
          expect((fast as Error).message, `seed ${seed} chunk ${chunk}`).toBe(outcome.message);
          continue;
        }
        const { want, got } = outcome;
        const w = flatten(want);
        const g = flatten(got);
        expect(g.records, `seed ${seed} chunk ${chunk}`).toEqual(w.records);
        expect(g.rejects).toEqual(w.rejects);
        expect(g.positions).toEqual(masked(w.positions, g.positions));
        if (got.some((b) => b.csv !== undefined)) encoded.add(seed);
      }
    }
    expect(encoded.size).toBeGreaterThan(30); // the fast path is actually taken
  });

  it('finds the same records in long values, every byte at every word alignment (the scanner skips four bytes a step)', async () => {
    let encoded = 0;
    for (let seed = 200; seed < 212; seed++) {
      const body = randomBody(seed, SAMPLE_RECORDS + 200, LONG);
      for (const chunk of [5, 4, 4097]) {
        const outcome = await both(body, chunk).catch((e: unknown) => e as Error);
        if (outcome instanceof Error) continue; // the word skip never reaches an error's text
        const w = flatten(outcome.want);
        const g = flatten(outcome.got);
        expect(g.records, `seed ${seed} chunk ${chunk}`).toEqual(w.records);
        expect(g.rejects).toEqual(w.rejects);
        expect(g.positions).toEqual(masked(w.positions, g.positions));
        encoded += outcome.got.reduce((n, b) => n + (b.csv?.rows ?? 0), 0);
      }
    }
    expect(encoded).toBeGreaterThan(1000);
  });

  it('checks UTF-8 a chunk at a time as exactly as record by record: invalid bytes anywhere, characters cut anywhere', async () => {
    const bad = [[0xff], [0x80], [0xe6, 0x97], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]];
    let encoded = 0;
    for (let seed = 300; seed < 308; seed++) {
      const r = rng(seed);
      const lines = randomBody(seed, SAMPLE_RECORDS + 300, LONG).split('\n');
      const parts: Uint8Array[] = [];
      for (const [i, line] of lines.entries()) {
        const bytes = Buffer.from(i < lines.length - 1 ? `${line}\n` : line);
        if (i > 0 && r() < 0.02) {
          // invalid bytes inside the record (before its line end)
          const at = Math.floor(r() * Math.max(1, bytes.length - 1));
          parts.push(
            bytes.subarray(0, at),
            Uint8Array.from(bad[Math.floor(r() * bad.length)]!),
            bytes.subarray(at),
          );
        } else parts.push(bytes);
      }
      const body = Buffer.concat(parts);
      for (const chunk of [1, 3, 64, 4099]) {
        if (chunk === 1 && seed > 301) continue;
        const outcome = await both(body, chunk).catch((e: unknown) => e as Error);
        if (outcome instanceof Error) continue;
        const w = flatten(outcome.want);
        const g = flatten(outcome.got);
        expect(g.records, `seed ${seed} chunk ${chunk}`).toEqual(w.records);
        expect(g.rejects).toEqual(w.rejects);
        expect(g.positions).toEqual(masked(w.positions, g.positions));
        // an invalid byte never reaches an encoded line (decoded, it would read as U+FFFD either way)
        for (const b of outcome.got)
          if (b.csv) expect(isUtf8(b.csv.text), `seed ${seed} chunk ${chunk}`).toBe(true);
        encoded += outcome.got.reduce((n, b) => n + (b.csv?.rows ?? 0), 0);
      }
    }
    expect(encoded).toBeGreaterThan(1000);
  });

  it('gives readCsv its records unchanged when the writer refuses every record', async () => {
    for (let seed = 100; seed < 110; seed++) {
      const body = randomBody(seed, SAMPLE_RECORDS + 40);
      const { want, got } = await both(
        body,
        333,
        50,
        passThrough(() => false),
      );
      expect(got.every((b) => b.csv === undefined)).toBe(true);
      expect(flatten(got)).toEqual(flatten(want));
    }
  });

  it('sends the first records of a body through as records, for the first-page contract check', async () => {
    const body = 'id,v\n' + Array.from({ length: SAMPLE_RECORDS + 5 }, (_, i) => `${i},x`).join('\n') + '\n';
    const got = await collect(
      readCsv(chunked(body, 1 << 16), { batchRows: 10_000, passThrough: passThrough() }),
    );
    expect(got[0]!.records).toHaveLength(SAMPLE_RECORDS);
    expect(got[0]!.positions![0]).toBe(2);
    expect(got[1]!.csv?.rows).toBe(5);
  });

  it('yields every batch before it encodes the next record after a refused one (the mapper may change the writer)', async () => {
    const n = SAMPLE_RECORDS + 30;
    const body = 'id,v\n' + Array.from({ length: n }, (_, i) => `${i},x`).join('\n') + '\n';
    const pt = passThrough((k) => k % 10 !== 0);
    const order: string[] = [];
    let consumed = 0;
    for await (const b of readCsv(chunked(body, 1 << 20), { batchRows: 10_000, passThrough: pt })) {
      consumed += b.csv ? b.csv.rows : b.records.length;
      order.push(b.csv ? `csv:${b.csv.rows}` : `rec:${b.records.length}`);
      // the writer has written exactly the encoded rows handed over so far, never ahead of us
      expect(pt.writers[0]!.written).toBe(
        order.filter((o) => o.startsWith('csv')).reduce((s, o) => s + Number(o.slice(4)), 0),
      );
    }
    expect(consumed).toBe(n);
    expect(order.slice(0, 4)).toEqual(['rec:1000', 'csv:9', 'rec:1', 'csv:9']);
  });

  it("attaches the writer's stats of exactly each csv batch's lines, when the writer measures", async () => {
    /** Stats that count the lines written since the last take (a writer measures per line). */
    class MeasuringWriter extends EchoWriter {
      since = 0;
      widths: number[] = [];
      override write(r: CsvRecordSpans, out: ByteSink): boolean {
        const ok = super.write(r, out);
        if (ok) this.since++;
        return ok;
      }
      takeStats(width: number) {
        this.widths.push(width);
        const stats = {
          longestLine: this.since,
          decimals: [{ column: 0, integerDigits: 1, fractionDigits: 0 }],
        };
        this.since = 0;
        return stats;
      }
    }
    const n = SAMPLE_RECORDS + 45;
    const body = 'id,v\n' + Array.from({ length: n }, (_, i) => `${i},x`).join('\n') + '\n';
    let writer: MeasuringWriter | undefined;
    const pt: CsvPassThrough = {
      writerFor: (fields) => (writer = new MeasuringWriter(fields, (k) => k % 20 !== 0)),
    };
    const csv = (await collect(readCsv(chunked(body, 1 << 20), { batchRows: 7, passThrough: pt }))).flatMap(
      (b) => (b.csv ? [b.csv] : []),
    );
    expect(csv.length).toBeGreaterThan(3);
    for (const c of csv) expect(c.stats?.longestLine).toBe(c.rows);
    expect(writer!.widths).toEqual(csv.map((c) => c.width));
    // a writer without takeStats: no stats
    const plain = await collect(
      readCsv(chunked(body, 1 << 20), { batchRows: 7, passThrough: passThrough() }),
    );
    expect(plain.some((b) => b.csv?.stats !== undefined)).toBe(false);
  });

  it('replays the whole body to the string reader when no writer takes the header', async () => {
    const body = '\n\nid,v\n1,a\n\n2,b\n';
    const pt: CsvPassThrough = { writerFor: () => null };
    const got = await collect(readCsv(chunked(body, 3), { batchRows: 10, passThrough: pt }));
    const want = await collect(readCsv(chunked(body, 3), { batchRows: 10 }));
    expect(got).toEqual(want);
  });

  it('throws what readCsv throws: an empty body, a quote never closed, a runaway record', async () => {
    const empty = await collect(readCsv(chunked('', 4), { batchRows: 5, passThrough: passThrough() })).catch(
      (e: unknown) => e,
    );
    expect(empty).toBeInstanceOf(SourceError);
    const open = 'id,v\n' + '1,a\n'.repeat(SAMPLE_RECORDS + 3) + '2,"never closed\n3,b\n';
    for (const pt of [undefined, passThrough()]) {
      const err = await collect(
        readCsv(chunked(open, 7), { batchRows: 5, stream: 'e', passThrough: pt }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toBe(
        `stream e: invalid CSV at line ${SAMPLE_RECORDS + 5}: a quoted field opened in the record starting here is never closed (body ends at line ${SAMPLE_RECORDS + 7})`,
      );
    }
    const runaway = 'id,v\n1,"' + 'x'.repeat(5000);
    const err = await collect(
      readCsv(chunked(runaway, 100), { batchRows: 5, maxRecordBytes: 1000, passThrough: passThrough() }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/line 2: the record starting here runs past 1000 bytes/);
  });

  it('takes a record with invalid UTF-8 through the string path (U+FFFD) and drops NUL bytes as readCsv does', async () => {
    const rows = Array.from({ length: SAMPLE_RECORDS }, (_, i) => Buffer.from(`${i},ok\n`));
    const body = Buffer.concat([
      Buffer.from('id,v\n'),
      ...rows,
      Buffer.from([0x31, 0x2c, 0xff, 0x61, 0x0a]), // 1,\xffa
      Buffer.from('2,b\0c\n3,"日本"\n'),
    ]);
    const got = flatten(
      await collect(readCsv(chunked(body, 5), { batchRows: 100, passThrough: passThrough() })),
    );
    expect(got.records.slice(-3)).toEqual([
      ['1', '\ufffda'],
      ['2', 'bc'],
      ['3', '日本'],
    ]);
    // NUL is removed before splitting (as readCsv does), so '2,b\0c' is a regular record
    expect(got.positions.slice(-3)).toEqual([SAMPLE_RECORDS + 2, -1, -1]);
  });
});
