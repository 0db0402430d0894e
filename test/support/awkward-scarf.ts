/**
 * Test sources for the CSV pass-through: a Scarf-shaped events endpoint on 127.0.0.1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { SCARF_EVENT_FIELDS } from '../../connectors/scarf/dictionary.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/log.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync } from '../../src/engine/run.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { rng } from './rng.js';

/**
 * A Scarf-shaped events endpoint: per day, a CSV longer than the reader's sample whose string
 * fields hold what a CSV reader could alter (surrounding whitespace, control bytes, quotes, '\\N',
 * 'NULL', line breaks), timestamps in several spellings, repeated ids.
 */
export async function awkwardScarf(): Promise<{ url: string; close: () => Promise<void> }> {
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

/**
 * Syncs the awkward source twice — CSV pass-through on, then off — into the places `destinationYaml`
 * names, and expects the same data cells (audit columns aside), most rows encoded on the first run,
 * none on the second. `rows` reads a place's `scarf_events` ordered by id. Cleaning up the places is
 * the caller's.
 */
export async function expectSameRowsBothWays(o: {
  label: string;
  destinationYaml: (passThrough: boolean) => string;
  rows: (passThrough: boolean) => Promise<Array<Record<string, unknown>>>;
}): Promise<void> {
  const source = await awkwardScarf();
  try {
    const sync = async (passThrough: boolean) => {
      const yaml = [
        o.destinationYaml(passThrough),
        `sync: {"backfill_days": 2, "csv_pass_through": ${passThrough}}`,
        'sources:',
        '  - type: scarf',
        '    owner: acme',
        '    token: scarf-test-token',
        `    base_url: ${source.url}`,
        '',
      ].join('\n');
      const config = parseConfig(yaml, `<${o.label}>`, {});
      const destination = await createDestination(config.destination, silentLogger);
      await destination.open();
      try {
        const run = await runSync({
          config,
          destination,
          log: silentLogger,
          now: () => new Date('2024-03-10T12:00:00Z'),
        });
        expect(run.status, run.streams.map((st) => st.error ?? '').join('; ')).toBe('ok');
        const rows = (await o.rows(passThrough)).map((r) =>
          Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('_exportsync_'))),
        );
        return { run: run.streams[0]!, rows };
      } finally {
        await destination.close();
      }
    };
    const fast = await sync(true);
    const slow = await sync(false);
    expect(fast.run.encoded).toBeGreaterThan(fast.run.staged * 0.3);
    expect(slow.run.encoded).toBe(0);
    expect(fast.rows.length).toBeGreaterThan(SAMPLE_RECORDS * 4);
    expect(fast.rows).toEqual(slow.rows);
    expect(fast.rows.some((r) => r.referer === ' spaced ')).toBe(true);
  } finally {
    await source.close();
  }
}
