/**
 * Test sources for the CSV pass-through: a Scarf-shaped events endpoint on 127.0.0.1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SCARF_EVENT_FIELDS } from '../../connectors/scarf/dictionary.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { rng } from './rng.js';

export /**
 * A Scarf-shaped events endpoint: per day, a CSV longer than the reader's sample whose string
 * fields hold what a CSV reader could alter (surrounding whitespace, control bytes, quotes, '\\N',
 * 'NULL', line breaks), timestamps in several spellings, repeated ids.
 */
async function awkwardScarf(): Promise<{ url: string; close: () => Promise<void> }> {
  const strings = [
    ' spaced ',
    '\tlead',
    'trail\t',
    'ctl\u0001x',
    '\\N',
    'NULL',
    'a "q"',
    'with, comma',
    'line\nbreak',
    'été 日本 😀',
    '\\',
    '',
  ];
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const body = (day: string) => {
    const r = rng(Number(day.replace(/-/g, '')));
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const lines = [SCARF_EVENT_FIELDS.join(',') + '\n'];
    for (let i = 0; i < SAMPLE_RECORDS * 2.5; i++) {
      const values = SCARF_EVENT_FIELDS.map((f) => {
        if (f === 'id') return r() < 0.05 && i > 10 ? `${day}-${Math.floor(r() * i)}` : `${day}-${i}`;
        if (f === 'time') return pick([`${day}T01:02:03Z`, `${day} 01:02:03`, `${day}T03:02:03.5+02:00`]);
        if (f.startsWith('origin_l') || f === 'confidence')
          return pick(['37.7749', '-122.4194', '0', '1.50', '']);
        if (f === 'dnt' || f === 'mtc_quota_exceeded') return pick(['true', 'false', '']);
        return r() < 0.6 ? `${f}-${i % 97}` : pick(strings);
      });
      lines.push(values.map(field).join(',') + '\n');
    }
    return lines.join('');
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.endsWith('/events')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/csv' });
    res.end(body(url.searchParams.get('start_date') ?? '2024-03-10'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
