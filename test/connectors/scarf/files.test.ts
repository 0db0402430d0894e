/**
 * Scarf files mode end to end: scheduled export objects in s3rver (a real S3-compatible server on
 * 127.0.0.1), loaded by runSync into real Postgres and DuckDB. The file contents are the Scarf
 * simulator's rows for each day (duplicates included), so "what should be in the table" is the
 * simulator's ground truth, and the same days can also come through the API.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../../connectors/scarf/simulator.js';
import type { Config } from '../../../src/config/load.js';
import { createDestination } from '../../../src/destinations/index.js';
import { runSync, type RunSummary } from '../../../src/engine/run.js';
import { silentLogger } from '../../../src/core/log.js';
import {
  BACKENDS,
  type Backend,
  counts,
  makeConfig,
  sorted,
  state,
  tableIds,
  type Target,
  truthIds,
  truthRows,
} from '../../e2e/harness.js';
import { capturingLogger, csv, messages, startS3, type S3Server } from '../../files/helpers.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const at = (d: Date) => () => d;
const name = (start: string, end = start, part?: number) =>
  `events-scarf-export-${start}-${end}${part === undefined ? '' : `-part-${String(part).padStart(6, '0')}`}.csv`;

let s3: S3Server;
let sim: ScarfSimulator;
let bucketNo = 0;
beforeAll(async () => {
  s3 = await startS3();
  sim = await startScarfSimulator({ seed: 'files', eventsPerDay: 25, now: NOW });
});
afterAll(async () => {
  await sim?.close();
  await s3?.close();
});

/** A fresh bucket and the config lines of a files-mode source reading `scarf/` in it. */
async function freshBucket(): Promise<{ bucket: string; lines: string[] }> {
  const bucket = `scarf-${++bucketNo}`;
  await s3.createBucket(bucket);
  return {
    bucket,
    lines: ['mode: files', `files: { url: "s3://${bucket}/scarf", endpoint: "${s3.endpoint}" }`],
  };
}

function dayCsv(day: string): { header: string[]; rows: string[][]; text: string } {
  const { header, rows } = truthRows(sim, day, day);
  return { header, rows, text: csv(header, rows) };
}

async function run(config: Config, log = silentLogger): Promise<RunSummary> {
  const destination = await createDestination(config.destination, silentLogger);
  await destination.open();
  try {
    return await runSync({ config, destination, log, now: at(NOW) });
  } finally {
    await destination.close();
  }
}

const idsOf = (rows: string[][]) => new Set(rows.map((r) => r[0]!));
const union = (...sets: Set<string>[]) => new Set(sets.flatMap((s) => [...s]));

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  // the tests of this block continue one bucket and one target, in order
  let t: Target;
  let config: Config;
  let bucket: string;

  test('first load: whole exports, parts as one window; test file, malformed name, empty and cut-off objects skipped with a message each', async () => {
    t = backend.target();
    const b = await freshBucket();
    bucket = b.bucket;
    config = makeConfig(t, sim.url, {}, b.lines);
    const d20 = dayCsv('2026-11-20');
    const d21 = dayCsv('2026-11-21');
    const half = Math.floor(d21.rows.length / 2);
    await s3.put(bucket, 'scarf/scarf-test.csv', csv(d20.header, []));
    await s3.put(bucket, `scarf/${name('2026-11-20')}`, d20.text);
    await s3.put(
      bucket,
      `scarf/${name('2026-11-21', '2026-11-21', 1)}`,
      csv(d21.header, d21.rows.slice(0, half)),
    );
    await s3.put(
      bucket,
      `scarf/${name('2026-11-21', '2026-11-21', 2)}`,
      csv(d21.header, d21.rows.slice(half)),
    );
    await s3.put(bucket, `scarf/${name('2026-11-22')}`, dayCsv('2026-11-22').text);
    await s3.put(bucket, 'scarf/events-scarf-export-2026-11-23.csv', dayCsv('2026-11-23').text);
    await s3.put(bucket, `scarf/${name('2026-11-24')}`, '');
    const cut = dayCsv('2026-11-25').text;
    await s3.put(bucket, `scarf/${name('2026-11-25')}`, cut.slice(0, cut.length - 30));

    const { log, lines } = capturingLogger();
    const summary = await run(config, log);
    expect(summary.status).toBe('ok');
    expect(summary.requests).toBe(0);
    const stream = summary.streams[0]!;
    expect(stream.windows).toBe(3);

    const truth = truthIds(sim, '2026-11-20', '2026-11-22');
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
    const c = await counts(t);
    expect(c.rows).toBe(c.distinct);

    const st = await state(t);
    expect(Object.keys(st?.objects ?? {}).sort()).toEqual(
      [
        name('2026-11-20'),
        name('2026-11-21', '2026-11-21', 1),
        name('2026-11-21', '2026-11-21', 2),
        name('2026-11-22'),
      ]
        .map((n) => `scarf/${n}`)
        .sort(),
    );
    expect(st?.objects?.[`scarf/${name('2026-11-21', '2026-11-21', 1)}`]?.window).toBe(
      '2026-11-21..2026-11-22',
    );
    expect(st?.highWaterMark).toBe('2026-11-23T00:00:00.000Z');

    const info = messages(lines, 30).join('\n');
    const warn = messages(lines, 40).join('\n');
    expect(info).toMatch(/header-only test file.*scarf-test\.csv/);
    expect(warn).toMatch(/not a Scarf export name.*events-scarf-export-2026-11-23\.csv/);
    expect(warn).toMatch(/export skipped this run: the object is empty.*2026-11-24/);
    expect(warn).toMatch(
      /export skipped this run: its last line has \d+ of the header's 24 fields.*2026-11-25/,
    );
  });

  test('nothing new: no window; a re-delivered object with the same ETag is skipped; a completed object loads', async () => {
    const before = await state(t);
    let summary = await run(config);
    expect(summary.streams[0]!.windows).toBe(0);
    expect(summary.streams[0]!.windowsPlanned).toBe(0);

    await s3.put(bucket, `scarf/${name('2026-11-20')}`, dayCsv('2026-11-20').text); // same bytes, same ETag
    await s3.put(bucket, `scarf/${name('2026-11-25')}`, dayCsv('2026-11-25').text); // now complete
    summary = await run(config);
    expect(summary.status).toBe('ok');
    expect(summary.streams[0]!.windows).toBe(1);
    const after = await state(t);
    expect(after?.objects?.[`scarf/${name('2026-11-20')}`]).toEqual(
      before?.objects?.[`scarf/${name('2026-11-20')}`],
    );
    const truth = union(truthIds(sim, '2026-11-20', '2026-11-22'), truthIds(sim, '2026-11-25', '2026-11-25'));
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
  });

  test('a changed object replaces its window: rows the new version dropped are gone, new ones are in', async () => {
    const d22 = dayCsv('2026-11-22');
    const kept = d22.rows.slice(0, 5);
    const added = [...d22.rows[0]!];
    added[0] = 'files-added-id-1';
    await s3.put(bucket, `scarf/${name('2026-11-22')}`, csv(d22.header, [...kept, added]));
    const summary = await run(config);
    expect(summary.status).toBe('ok');
    expect(summary.streams[0]!.windows).toBe(1);
    const truth = union(
      truthIds(sim, '2026-11-20', '2026-11-21'),
      idsOf(kept),
      new Set(['files-added-id-1']),
      truthIds(sim, '2026-11-25', '2026-11-25'),
    );
    expect(sorted(await tableIds(t))).toEqual(sorted(truth));
    const c = await counts(t);
    expect(c.rows).toBe(c.distinct);
  });

  test('files and the API feed one table without duplicates (API first, then files, then the API again)', async () => {
    const mixed = backend.target();
    const api = makeConfig(mixed, sim.url, { backfill_days: 4 });
    let summary = await run(api); // 2026-11-22 .. 2026-11-25
    expect(summary.status).toBe('ok');

    const b = await freshBucket();
    for (const day of ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']) {
      await s3.put(b.bucket, `scarf/${name(day)}`, dayCsv(day).text);
    }
    const files = makeConfig(mixed, sim.url, {}, b.lines);
    summary = await run(files);
    expect(summary.status).toBe('ok');
    expect(summary.streams[0]!.windows).toBe(4);
    const truth = truthIds(sim, '2026-11-20', '2026-11-25');
    expect(sorted(await tableIds(mixed))).toEqual(sorted(truth));
    let c = await counts(mixed);
    expect(c.rows).toBe(c.distinct);

    summary = await run(api); // re-reads from the mark minus lookback: same ids, merged
    expect(summary.status).toBe('ok');
    expect(sorted(await tableIds(mixed))).toEqual(sorted(truth));
    c = await counts(mixed);
    expect(c.rows).toBe(c.distinct);
    expect(c.rows).toBe(truth.size);
  });

  test('an empty bucket: the run succeeds, nothing loads, one warning says so', async () => {
    const empty = backend.target();
    const b = await freshBucket();
    const { log, lines } = capturingLogger();
    const summary = await run(makeConfig(empty, sim.url, {}, b.lines), log);
    expect(summary.status).toBe('ok');
    expect(summary.streams[0]!.windows).toBe(0);
    expect(messages(lines, 40).join('\n')).toMatch(
      /no objects under the files location yet.*s3:\/\/scarf-\d+\/scarf\//,
    );
  });

  test('a bucket that does not exist fails the stream with a message naming it', async () => {
    const missing = backend.target();
    const summary = await run(
      makeConfig(missing, sim.url, {}, [
        'mode: files',
        `files: { url: "s3://nope-bucket/scarf", endpoint: "${s3.endpoint}" }`,
      ]),
    );
    expect(summary.status).toBe('failed');
    expect(summary.streams[0]!.error).toMatch(
      /listing s3:\/\/nope-bucket\/scarf\/: bucket 'nope-bucket' does not exist/,
    );
  });
});
