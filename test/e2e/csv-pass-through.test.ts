/**
 * The CSV pass-through must load exactly what the mapper loads. Each case runs the same source
 * twice, into two targets — `sync.csv_pass_through: true` (the default) and `false` (every record
 * through the mapper) — and compares every data column of every row, `_extra` included. Bodies
 * are larger than the reader's sample (SAMPLE_RECORDS), so most records take the fast path.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { SCARF_EVENT_FIELDS } from '../../connectors/scarf/dictionary.js';
import { EXIT } from '../../src/core/errors.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { removeConfigs, runCli, startCli, until, writeYaml } from './child.js';
import {
  BACKENDS,
  type Backend,
  configYaml,
  counts,
  digest,
  makeConfig,
  runOnce,
  tableIds,
  TOKEN,
} from './harness.js';
import { rng } from '../support/rng.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const at = (d: Date) => () => d;

/** Runs once, expects success; returns the rows staged and, of them, those encoded by the pass-through. */
async function runOk(
  config: Parameters<typeof runOnce>[0],
  now: () => Date = at(NOW),
): Promise<{ staged: number; encoded: number }> {
  const run = await runOnce(config, { now });
  expect(run.status, run.streams.map((s) => s.error ?? '').join('; ')).toBe('ok');
  const s = run.streams[0];
  return { staged: s?.staged ?? 0, encoded: s?.encoded ?? 0 };
}

const csvField = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * An events CSV full of what the fast path must refuse or respell: awkward strings, every
 * timestamp spelling, respelled decimals and booleans, misfits, a dynamic column that widens
 * integer → decimal → string mid-body, repeated ids with different values, quoted empties,
 * invalid UTF-8, blank lines. (No short records: a merge stream fails on one, by design.)
 */
function awkwardBody(day: string, rows: number): Buffer {
  const r = rng(Number(day.replace(/-/g, '')));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const header = [...SCARF_EVENT_FIELDS, 'extra_num'];
  const strings = [
    'plain',
    'with, comma',
    'a "quote"',
    'line\nbreak',
    'crlf\r\nin it',
    'été 日本 😀',
    ' spaced ',
    '\\.',
    '\\N',
    'NULL',
    '',
  ];
  const times = [
    `${day}T01:02:03Z`,
    `${day}T01:02:03.123Z`,
    `${day}T01:02:03.123456Z`,
    `${day} 01:02:03`,
    `${day}T01:02:03.1234567890Z`,
    `${day}T03:02:03+02:00`,
    `${day}T01:02:03.5z`,
    `${day}`,
    'not a time',
  ];
  const decimals = ['37.7749', '-122.4194', '0', '1.50', '+1', '1e3', '007', '-0', 'abc', '.5', ''];
  const booleans = ['true', 'false', 'TRUE', 'False', '1', 'yes', ''];
  const lines: Buffer[] = [Buffer.from(header.join(',') + '\n')];
  for (let i = 0; i < rows; i++) {
    const id = r() < 0.05 && i > 10 ? `${day}-${Math.floor(r() * i)}` : `${day}-${i}`;
    const values = header.map((f): string => {
      switch (f) {
        case 'id':
          return id;
        case 'time':
          // values that do not parse only after the first page (the contract check refuses those)
          return i < SAMPLE_RECORDS + 100 ? pick(times.slice(0, 4)) : pick(times);
        case 'origin_latitude':
        case 'origin_longitude':
        case 'confidence':
          return pick(decimals);
        case 'dnt':
        case 'mtc_quota_exceeded':
          return pick(booleans);
        case 'extra_num':
          return i < rows / 2 ? String(i) : i < (rows * 3) / 4 ? `${i}.5` : pick(['x', String(i), '']);
        default:
          return r() < 0.7 ? `${f}-${i % 97}` : pick(strings);
      }
    });
    const line = values.map((v) => (v === '' && r() < 0.3 ? '""' : csvField(v))).join(',');
    const bytes = Buffer.from(line + (r() < 0.05 ? '\r\n' : '\n'));
    // invalid UTF-8 inside a string value (the string path decodes it to U+FFFD)
    if (r() < 0.003) bytes[bytes.indexOf(44) - 1] = 0xff;
    lines.push(bytes);
    if (r() < 0.005) lines.push(Buffer.from('\n'));
  }
  return Buffer.concat(lines);
}

/** A Scarf-shaped events endpoint serving `awkwardBody` per requested day. */
async function awkwardScarf(rows: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${TOKEN}` || !url.pathname.endsWith('/events')) {
      res.writeHead(404).end();
      return;
    }
    const day = url.searchParams.get('start_date') ?? '2026-11-25';
    res.writeHead(200, { 'content-type': 'text/csv' });
    const body = awkwardBody(day, rows);
    // in uneven pieces, so records and characters are cut across chunks
    let o = 0;
    for (let k = 1; o < body.length; k++) {
      res.write(body.subarray(o, o + 997 * k));
      o += 997 * k;
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  const closers: Array<() => Promise<void>> = [];
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await backend.cleanup();
    removeConfigs();
  });

  test('pass-through-loads-the-same-rows-as-the-mapper (simulator events, duplicates, a new column)', async () => {
    const sim: ScarfSimulator = await startScarfSimulator({
      seed: 'pass',
      eventsPerDay: SAMPLE_RECORDS * 3,
      duplicateRate: 0.02,
      newColumnFrom: '2026-11-24',
      now: NOW,
    });
    closers.push(() => sim.close());
    const fast = backend.target();
    const slow = backend.target();
    const sync = { backfill_days: 3 };
    const f = await runOk(makeConfig(fast, sim.url, sync));
    const g = await runOk(makeConfig(slow, sim.url, { ...sync, csv_pass_through: false }));
    expect(f.encoded).toBeGreaterThan(f.staged * 0.5); // the fast path is taken
    expect(g.encoded).toBe(0);
    const a = await digest(fast);
    const b = await digest(slow);
    expect(a.rows).toBeGreaterThan(SAMPLE_RECORDS * 6);
    expect(a).toEqual(b);
    expect((await counts(fast)).distinct).toBe(a.rows);
  });

  test('pass-through-loads-the-same-rows-as-the-mapper (awkward values, widening mid-body, invalid UTF-8)', async () => {
    const { url, server } = await awkwardScarf(SAMPLE_RECORDS * 4);
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const fast = backend.target();
    const slow = backend.target();
    // batch_rows = the reader's sample, so both runs' first-page contract check reads the same records
    const sync = { backfill_days: 2, batch_rows: SAMPLE_RECORDS };
    const f = await runOk(makeConfig(fast, url, sync));
    await runOk(makeConfig(slow, url, { ...sync, csv_pass_through: false }));
    expect(f.encoded).toBeGreaterThan(f.staged * 0.02); // most records hold a value it refuses: some still take it
    const a = await digest(fast);
    const b = await digest(slow);
    expect(a.columns).toContain('extra_num');
    expect(a.rows).toBeGreaterThan(SAMPLE_RECORDS * 6);
    expect(a).toEqual(b);
  });

  test('a-run-killed-while-encoded-rows-are-staged-then-rerun-equals-a-clean-run', async () => {
    // the CLI child runs on the real clock
    const sim = await startScarfSimulator({
      seed: 'pass-kill',
      eventsPerDay: SAMPLE_RECORDS * 3,
      now: new Date(),
    });
    closers.push(() => sim.close());
    const sync = { backfill_days: 2, batch_rows: 500 };
    const reference = backend.target();
    await runOk(makeConfig(reference, sim.url, sync), () => new Date());
    const clean = await digest(reference);
    const t = backend.target();
    const config = writeYaml(configYaml(t, sim.url, sync));
    // the first body stalls after 2,500 rows: the sample and encoded rows are staged by then
    sim.setFaults({ faultRate: 1, faultKinds: [faults.stall(SAMPLE_RECORDS * 2.5, 5000)] });
    try {
      const child = startCli(['run', '--config', config]);
      await until(
        () => sim.requests.some((r) => r.rows >= SAMPLE_RECORDS * 2.5 && !r.completed),
        60_000, // a loaded CI machine starts the child slowly
        'a body to stall after its encoded rows',
      );
      await new Promise((r) => setTimeout(r, 300));
      child.process.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
    } finally {
      sim.setFaults({ faultRate: 0 });
    }
    const ids = await tableIds(t).catch(() => [] as string[]); // DuckDB/Postgres: no table yet is fine
    expect(ids).toEqual([]);
    const rerun = await runCli(['run', '--config', config]);
    expect(rerun.code, rerun.stderr).toBe(EXIT.ok);
    // the summary says how many rows took the pass-through
    expect(rerun.stdout).toMatch(
      /scarf\.events +2\/2 window\(s\), [\d,]+ rows read \([\d,]+ by the CSV pass-through\)/,
    );
    expect(await digest(t)).toEqual(clean);
  }, 120_000);
});
