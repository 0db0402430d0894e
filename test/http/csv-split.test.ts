import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvSplitter } from '../../src/http/csv-split.js';

/** Splits `text` fed in pieces of `size` characters; records with their start lines. */
function split(text: string, size = text.length || 1) {
  const out: Array<{ fields: string[]; line: number }> = [];
  const s = new CsvSplitter((fields, line) => out.push({ fields, line }));
  for (let i = 0; i < text.length; i += size) s.feed(text.slice(i, i + size));
  const open = s.inQuotes;
  s.end();
  return { out, open, line: s.currentLine };
}

/** The same result at every chunk size from 1 character to the whole text. */
function splitEverySize(text: string) {
  const whole = split(text);
  for (let size = 1; size <= Math.min(text.length, 12); size++) expect(split(text, size)).toEqual(whole);
  return whole;
}

describe('CsvSplitter', () => {
  it('splits at every chunk boundary the same way: quotes, doubled quotes, CRLF, lone CR', () => {
    const text = 'a,b\r\n"x,""y""","1\r\n2"\r\n\r\n,\rq"r,"s"\n"t\r","u"\n"end"';
    const { out, open } = splitEverySize(text);
    expect(open).toBe(false);
    expect(out).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['x,"y"', '1\r\n2'], line: 2 },
      { fields: ['', ''], line: 5 },
      { fields: ['q"r', 's'], line: 6 },
      { fields: ['t\r', 'u'], line: 7 },
      { fields: ['end'], line: 9 },
    ]);
  });

  it('keeps text after a closing quote up to the separator', () => {
    expect(splitEverySize('"ab"c,d\n"x""y"z\n').out.map((r) => r.fields)).toEqual([['abc', 'd'], ['x"yz']]);
  });

  it('reports an open quote at the end, with the line the record started on', () => {
    const s = new CsvSplitter(() => undefined);
    s.feed('a\n"b\nc\n');
    expect(s.inQuotes).toBe(true);
    expect(s.startLine).toBe(2);
    expect(s.currentLine).toBe(4);
  });

  it('ends the last record without a line end, including an empty last field', () => {
    expect(splitEverySize('a,b\n1,').out.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', ''],
    ]);
    expect(splitEverySize('a\n""').out.map((r) => r.fields)).toEqual([['a'], ['']]);
  });

  it('gives csv-parse’s records on random well-formed CSV', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = ['a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '東'];
    for (let round = 0; round < 200; round++) {
      const records: string[][] = [];
      for (let r = 0; r < 1 + rand(6); r++) {
        const fields: string[] = [];
        for (let f = 0; f < 1 + rand(4); f++) {
          let v = '';
          for (let k = 0; k < rand(6); k++) v += alphabet[rand(alphabet.length)];
          fields.push(v);
        }
        if (fields.length === 1 && fields[0] === '') fields[0] = 'x'; // a blank line is no record
        records.push(fields);
      }
      const text = records
        .map((fs) =>
          fs.map((v) => (/[",\r\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v)).join(','),
        )
        .join(rand(2) === 0 ? '\n' : '\r\n');
      const reference = parse(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
      const got = split(text, 1 + rand(9)).out.map((r) => r.fields);
      expect(got).toEqual(reference);
      expect(got).toEqual(records);
    }
  });
});
