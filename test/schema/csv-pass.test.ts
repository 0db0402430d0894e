/**
 * The mapper's pass-through writer: a line it writes is the mapper's Row for the same record, as
 * CSV; it refuses every record the mapper would treat in any other way than copy or respell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { ByteBuffer } from '../../src/core/bytes.js';
import type {
  CsvRecordSpans,
  DestinationCapabilities,
  DictionaryColumn,
  RecordBatch,
  StreamDefinition,
} from '../../src/core/contracts.js';
import { CsvByteScanner } from '../../src/http/csv-scan.js';
import { CsvSplitter } from '../../src/http/csv-split.js';
import { RowMapper } from '../../src/schema/mapper.js';
import { keyHashOfValues } from '../../src/core/key-hash.js';
import type { CsvPassWriter } from '../../src/schema/csv-pass.js';
import { rng } from '../support/rng.js';
import { acquireDatabase, releaseDatabase } from '../../src/destinations/duckdb/duckdb-database.js';
import { decimalNeedExprs } from '../../src/destinations/duckdb/duckdb-load-target.js';
import { DuckDbSpool } from '../../src/destinations/duckdb/duckdb-spool.js';

const CAPS: DestinationCapabilities = {
  name: 'test',
  maxIdentifierLength: 63,
  maxColumns: 1600,
  transactionalDdl: true,
};
const DICT: DictionaryColumn[] = [
  { name: 'id', type: 'string' },
  { name: 'time', type: 'timestamp' },
  { name: 'amount', type: 'decimal' },
  { name: 'dnt', type: 'boolean' },
];

function mapper(over: Partial<StreamDefinition> = {}, columnBudget = 500): RowMapper {
  return new RowMapper({
    table: 'events',
    stream: {
      name: 'events',
      primaryKey: ['id'],
      cursorField: 'time',
      windowDays: 1,
      writeMode: 'merge',
      columns: DICT,
      dynamicColumns: true,
      async *read() {},
      describe: () => '',
      ...over,
    },
    persisted: [],
    capabilities: CAPS,
    columnBudget,
    runId: 'run "1"',
    loadedAt: '2025-10-02T03:04:05.678Z',
    log: silentLogger,
  });
}

/** Spans of one CSV record line (no line end), as the byte reader gives them. */
function spans(line: string): CsvRecordSpans {
  const s = new CsvByteScanner();
  s.push(Buffer.from(line));
  expect(s.next(true)).toBe(true);
  expect(s.irregular).toBe(false);
  return { src: s.buf, count: s.count, starts: s.starts, ends: s.ends, quoted: s.quoted };
}

/** The values of an encoded line, as the destination's CSV reader would see them. */
function decode(bytes: Uint8Array): Array<string | null> {
  const text = Buffer.from(bytes).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const out: Array<Array<string | null>> = [];
  // a quoted field is never empty in CsvRows, so '' here is NULL
  new CsvSplitter((v) => out.push(v.map((x) => (x === '' ? null : x)))).feed(text);
  expect(out).toHaveLength(1);
  return out[0] as Array<string | null>;
}

/**
 * The values of an encoded line read strictly, as COPY (FORMAT csv) reads them: an unquoted empty
 * field is NULL, a quoted empty one '' (which no line may hold: the mapper never makes '').
 */
function decodeStrict(bytes: Uint8Array): Array<string | null> {
  expect(bytes[bytes.length - 1]).toBe(10);
  const s = new CsvByteScanner();
  s.push(bytes.subarray(0, bytes.length - 1));
  expect(s.next(true)).toBe(true);
  expect(s.irregular).toBe(false);
  return Array.from({ length: s.count }, (_, f) => {
    const a = s.starts[f] as number;
    const b = s.ends[f] as number;
    if (a === b) return s.quoted[f] ? '' : null;
    const text = Buffer.from(s.buf.subarray(a, b)).toString('utf8');
    return s.quoted[f] ? text.replaceAll('""', '"') : text;
  });
}

/** The mapper's own Row for the record (the string path). */
function mapped(m: RowMapper, fields: string[], line: string): Array<string | null> {
  const values: string[][] = [];
  const s = new CsvSplitter((v) => values.push(v));
  s.feed(line);
  s.end();
  const record = (values[0] as string[]).map((v) => (v === '' ? null : v));
  const batch: RecordBatch = { fields, records: [record], positions: [2] };
  const row = m.map(batch)[0] as Array<string | null>;
  while (row.length < m.schema.columns.length) row.push(null);
  return row;
}

describe('CsvPassWriter', () => {
  const fields = ['id', 'time', 'amount', 'dnt'];

  it('writes the Row the mapper makes: respelled timestamp, quoted strings, audit values, NULLs', () => {
    const m = mapper();
    const w = m.csvWriterFor(fields)!;
    const out = new ByteBuffer(8);
    const line = '"a,""b""",2025-10-01 12:00:00+02:00,1.50,TRUE';
    expect(w.write(spans(line), out)).toBe(true);
    expect(w.width).toBe(m.schema.columns.length);
    expect(decode(out.take())).toEqual(mapped(m, fields, line));
    const empty = 'x,2025-10-01T00:00:00Z,"",';
    expect(w.write(spans(empty), out)).toBe(true);
    expect(decode(out.take())).toEqual(mapped(m, fields, empty));
  });

  it('copies runs of string columns as their bytes and spells a quoted empty value NULL, wherever it stands (random records)', () => {
    const strings: DictionaryColumn[] = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, type: 'string' }));
    const columns = [
      DICT[0]!,
      strings[0]!,
      strings[1]!,
      DICT[1]!,
      strings[2]!,
      strings[3]!,
      strings[4]!,
      DICT[2]!,
    ];
    const r = rng(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const values = ['', '""', 'x', 'plain text', '"q,""x"""', 'é日本', '"a b"', '""""', '" "'];
    const cells: Record<string, () => string> = {
      time: () => pick(['2025-10-01T00:00:00Z', '2025-10-01 12:00:00+02:00']),
      amount: () => pick(['', '1.50', '-3']),
    };
    const names = columns.map((c) => c.name);
    let written = 0;
    // the header in table order (one run per stretch of string columns), then shuffled (runs cut)
    for (const fields of [names, ['c', 'a', 'b', 'id', 'e', 'time', 'd', 'amount']]) {
      const m = mapper({ columns, dynamicColumns: false });
      const w = m.csvWriterFor(fields)!;
      for (let i = 0; i < 400; i++) {
        const line = fields.map((f) => (cells[f] ?? (() => pick(values)))()).join(',');
        const out = new ByteBuffer(8);
        if (!w.write(spans(line), out)) {
          expect(out.length, line).toBe(0);
          continue;
        }
        written++;
        expect(decodeStrict(out.take()), line).toEqual(mapped(m, fields, line));
      }
    }
    expect(written).toBeGreaterThan(500);
  });

  it('refuses what the mapper keeps in _extra or refuses itself, leaving the buffer as it was', () => {
    const m = mapper();
    const w = m.csvWriterFor(fields)!;
    const out = new ByteBuffer(8);
    out.append(Buffer.from('kept\n'), 0, 5);
    for (const line of [
      'a,not a time,1,true', // misfit cursor → _extra
      'a,2025-10-01T00:00:00Z,1e3,true', // exponent: the string path expands it
      'a,2025-10-01T00:00:00Z,1,yes', // misfit boolean
      ',2025-10-01T00:00:00Z,1,true', // empty merge key: the mapper names the line
      '"",2025-10-01T00:00:00Z,1,true', // quoted empty key is empty too
    ]) {
      expect(w.write(spans(line), out), line).toBe(false);
      expect(out.length).toBe(5);
    }
  });

  it('refuses a value of a new field until the mapper made it a column, then writes the wider line', () => {
    const m = mapper();
    const wide = [...fields, 'plan'];
    const w = m.csvWriterFor(wide)!;
    const out = new ByteBuffer(8);
    const before = w.width;
    expect(w.write(spans('a,2025-10-01T00:00:00Z,1,true,'), out)).toBe(true); // empty: no column needed
    expect(w.write(spans('a,2025-10-01T00:00:00Z,1,true,7'), out)).toBe(false);
    out.take();
    mapped(m, wide, 'a,2025-10-01T00:00:00Z,1,true,7'); // the string path adds `plan` as integer
    expect(w.width).toBe(before + 1);
    expect(w.write(spans('b,2025-10-01T00:00:00Z,1,true,8'), out)).toBe(true);
    expect(decode(out.take())).toEqual(mapped(m, wide, 'b,2025-10-01T00:00:00Z,1,true,8'));
    // a decimal would widen the integer column: refused, the mapper widens, then it passes
    expect(w.write(spans('c,2025-10-01T00:00:00Z,1,true,8.5'), out)).toBe(false);
    mapped(m, wide, 'c,2025-10-01T00:00:00Z,1,true,8.5');
    expect(m.schema.columns.find((c) => c.name === 'plan')?.type).toBe('decimal');
    expect(w.write(spans('d,2025-10-01T00:00:00Z,1,true,9.25'), out)).toBe(true);
    expect(decode(out.take())).toEqual(mapped(m, wide, 'd,2025-10-01T00:00:00Z,1,true,9.25'));
  });

  it('is not offered for a header whose field already goes to _extra (duplicate name, past the budget, no dynamic columns)', () => {
    expect(mapper().csvWriterFor(['id', 'time', 'id'])).toBeNull();
    expect(mapper({ dynamicColumns: false }).csvWriterFor([...fields, 'other'])).toBeNull();
    const m = mapper({}, 0);
    const w = m.csvWriterFor([...fields, 'other'])!;
    mapped(m, [...fields, 'other'], 'a,2025-10-01T00:00:00Z,1,true,x'); // budget 0: `other` → _extra
    expect(w.write(spans('b,2025-10-01T00:00:00Z,1,true,y'), new ByteBuffer())).toBe(false);
  });

  it('refuses every record when the header lacks the merge key', () => {
    const w = mapper().csvWriterFor(['time', 'amount'])!;
    expect(w.write(spans('2025-10-01T00:00:00Z,1'), new ByteBuffer())).toBe(false);
  });

  it('measures its lines as the DuckDB spool check does: longest line, digits of decimal and integer columns (random values)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exportsync-passstats-'));
    const db = await acquireDatabase(join(dir, 's.duckdb'), silentLogger);
    const conn = await db.instance.connect();
    try {
      let seed = 12345;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join('');
      const nonZero = (n: number) => String(1 + rnd(9)) + digits(n - 1);
      // fixed decimal: kept as given (leading zeros too), a '+' dropped
      const fixed = () =>
        ['', '-', '+'][rnd(3)]! + digits(1 + rnd(30)) + (rnd(3) === 0 ? '' : '.' + digits(1 + rnd(8)));
      const dynInt = () => (rnd(5) === 0 ? '0' : (rnd(2) ? '-' : '') + nonZero(1 + rnd(18)));
      const dynDec = () =>
        (rnd(2) ? '-' : '') +
        (rnd(4) === 0 ? '0' : nonZero(1 + rnd(25))) +
        (rnd(3) === 0 ? '' : '.' + digits(1 + rnd(9)));
      const wide = [...fields, 'plan'];
      for (let round = 0; round < 12; round++) {
        const m = mapper();
        mapped(m, wide, 'x,2025-10-01T00:00:00Z,1,true,7'); // `plan` becomes a dynamic integer column
        const w = m.csvWriterFor(wide)! as CsvPassWriter;
        const out = new ByteBuffer(64);
        let rows = 0;
        const widenAt = rnd(40);
        for (let i = 0; i < 40; i++) {
          if (i === widenAt) mapped(m, wide, 'y,2025-10-01T00:00:00Z,1,true,0.5'); // integer → decimal mid-batch
          const planDecimal = m.schema.columns.find((c) => c.name === 'plan')?.type === 'decimal';
          const amount = rnd(6) === 0 ? '' : fixed();
          const plan = rnd(6) === 0 ? '' : planDecimal ? dynDec() : dynInt();
          if (w.write(spans(`k${i},2025-10-01T00:00:00Z,${amount},true,${plan}`), out)) rows++;
          // refused (misfit boolean): its digits must not count
          expect(
            w.write(spans(`r${i},2025-10-01T00:00:00Z,${'9'.repeat(35)}.${'9'.repeat(9)},maybe,1`), out),
          ).toBe(false);
        }
        expect(rows).toBeGreaterThan(20);
        const width = w.width;
        const stats = w.takeStats(width);
        const text = out.take();
        const names = m.schema.columns.map((c) => c.name);
        const measured = ['amount', 'plan'].map((n) => names.indexOf(n));
        const spool = new DuckDbSpool(db, 'stats');
        try {
          await spool.appendCsv({ text, rows, width });
          const got = await spool.check(
            conn,
            { columns: names },
            measured.flatMap((c) => decimalNeedExprs(`"${names[c]}"`)),
          );
          const want = measured.map((c, k) => ({
            column: c,
            integerDigits: Number(got[2 * k]),
            fractionDigits: Number(got[2 * k + 1]),
          }));
          expect(stats.decimals.filter((d) => measured.includes(d.column))).toEqual(want);
          const lines = Buffer.from(text).toString('latin1').split('\n').slice(0, -1);
          expect(stats.longestLine).toBe(Math.max(...lines.map((l) => l.length + 1)));
        } finally {
          await spool.discard();
        }
        // a fresh start: nothing written since the take
        expect(w.takeStats(width).longestLine).toBe(0);
      }
    } finally {
      conn.closeSync();
      await releaseDatabase(db, silentLogger);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists only columns whose every value it measured (not strings, booleans, timestamps)', () => {
    const m = mapper();
    const w = m.csvWriterFor(fields)! as CsvPassWriter;
    expect(w.write(spans('a,2025-10-01T00:00:00Z,12.5,true'), new ByteBuffer())).toBe(true);
    const names = m.schema.columns.map((c) => c.name);
    const listed = w.takeStats(w.width).decimals.map((d) => names[d.column]);
    expect(listed).toContain('amount');
    expect(listed).not.toContain('id');
    expect(listed).not.toContain('time');
    expect(listed).not.toContain('dnt');
  });

  it("hashes each written line's key as its value hashes (CsvRows.keyHashes); none when the key column is respelled", () => {
    const w = mapper().csvWriterFor(fields)!;
    const out = new ByteBuffer(8);
    const quoted = '"a,""b""",2025-10-01T00:00:00Z,1,true';
    expect(w.write(spans(quoted), out)).toBe(true);
    expect(w.write(spans('x,2025-10-01T00:00:00Z,bad-decimal,true'), out)).toBe(false); // no line, no hash
    expect(w.write(spans(quoted.replace(',1,', ',2,')), out)).toBe(true);
    const h = keyHashOfValues(['a,"b"'])!;
    expect(Array.from(w.takeKeyHashes!()!)).toEqual([h, h]);
    expect(Array.from(w.takeKeyHashes!()!)).toEqual([]); // taken: starts afresh
    // a decimal key is respelled by the writer (1.50 and 1.5 are one key): not hashed
    const byAmount = mapper({ primaryKey: ['amount'] }).csvWriterFor(fields)!;
    expect(byAmount.write(spans('y,2025-10-01T00:00:00Z,1.50,true'), out)).toBe(true);
    expect(byAmount.takeKeyHashes!()).toBeUndefined();
  });
});
