/**
 * Marketplace files mode end to end: saved weekly/monthly report files in a local directory and in
 * s3rver, loaded by runSync into real Postgres and DuckDB. Keyless datasets (install_events) are
 * where doubling would show: a monthly report over a weekly one must not double the week.
 */
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classifyReportName, namePattern } from '../../../connectors/marketplace/files.js';
import { parseConfig, type Config } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/log.js';
import { createDestination } from '../../../src/destinations/index.js';
import { runSync, type RunSummary } from '../../../src/engine/run.js';
import { BACKENDS, type Backend, type Target } from '../../e2e/harness.js';
import { capturingLogger, csv, messages, startS3, tempDir, type S3Server } from '../../files/helpers.js';

const NOW = new Date('2026-02-10T12:00:00Z');
const HEADER = ['package_id', 'version', 'tenant_region', 'install_date'];

/** Installs: `perDay` rows on every day of [start, end] (inclusive), deterministic. */
function installs(start: string, end: string, perDay = 3): string[][] {
  const rows: string[][] = [];
  for (
    let d = new Date(`${start}T00:00:00Z`);
    d.toISOString().slice(0, 10) <= end;
    d = new Date(d.getTime() + 864e5)
  ) {
    const day = d.toISOString().slice(0, 10);
    for (let i = 0; i < perDay; i++) rows.push([`pkg-${i}`, `1.${i}.0`, i % 2 ? 'eu' : 'us', day]);
  }
  return rows;
}

function yaml(t: Target, files: string): Config {
  return parseConfig(
    [
      `destination: ${t.destinationYaml}`,
      'sources:',
      '  - type: marketplace',
      '    mode: files',
      '    streams: [install_events, review_data]',
      `    files: ${files}`,
      '',
    ].join('\n'),
    '<files-test>',
    {},
  );
}

async function run(config: Config, log = silentLogger): Promise<RunSummary> {
  const destination = await createDestination(config.destination, silentLogger);
  await destination.open();
  try {
    return await runSync({ config, destination, log, now: () => NOW });
  } finally {
    await destination.close();
  }
}

async function installRows(t: Target): Promise<string[]> {
  const rows = await t.query<{ r: string }>(
    `SELECT package_id || '|' || version || '|' || tenant_region || '|' || CAST(install_date AS VARCHAR) AS r FROM ${t.table('marketplace_install_events')}`,
  );
  return rows.map((r) => r.r).sort();
}
const asKeys = (rows: string[][]) => rows.map((r) => r.join('|')).sort();

let s3: S3Server;
const local = tempDir('exportsync-reports-');
beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket('reports');
});
afterAll(async () => {
  await s3?.close();
  local.cleanup();
});

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  test('local folder: weekly CSV and JSON reports, then a monthly over them, then a re-saved weekly: never doubled', async () => {
    const t = backend.target();
    const dir = join(local.dir, `${_name}-a`);
    mkdirSync(dir, { recursive: true });
    const config = yaml(t, `{ url: "file://${dir}" }`);
    const week = installs('2026-01-05', '2026-01-11');
    writeFileSync(join(dir, 'install_events-2026-01-05-2026-01-11.csv'), csv(HEADER, week));
    writeFileSync(
      join(dir, 'review_data-2026-01-05-2026-01-11.json'),
      JSON.stringify({
        dataset: 'review_data',
        periods: [{ package_id: 'pkg-0', star_rating: 5, review_date: '2026-01-06' }],
      }),
    );
    writeFileSync(join(dir, 'notes.txt'), 'saved from e-mail');
    const { log, lines } = capturingLogger();
    let summary = await run(config, log);
    expect(summary.status).toBe('ok');
    expect(await installRows(t)).toEqual(asKeys(week));
    const reviews = await t.query<{ n: number }>(
      `SELECT CAST(count(*) AS INTEGER) AS n FROM ${t.table('marketplace_review_data')}`,
    );
    expect(Number(reviews[0]?.n)).toBe(1);
    expect(messages(lines, 40).join('\n')).toMatch(/does not match files.name_pattern.*notes\.txt/);
    expect(messages(lines, 40).filter((m) => m.includes('notes.txt'))).toHaveLength(1); // once, not per stream

    // the monthly report covers the week again (same rows) and more
    const month = installs('2026-01-01', '2026-01-31');
    writeFileSync(join(dir, 'install_events-2026-01-01-2026-01-31.csv'), csv(HEADER, month));
    summary = await run(config);
    expect(summary.status).toBe('ok');
    expect(await installRows(t)).toEqual(asKeys(month));

    // the weekly report saved again with one install fewer: its week now has exactly its rows
    await new Promise((r) => setTimeout(r, 10));
    writeFileSync(join(dir, 'install_events-2026-01-05-2026-01-11.csv'), csv(HEADER, week.slice(1)));
    summary = await run(config);
    expect(summary.status).toBe('ok');
    const expected = asKeys([
      ...month.filter((r) => r[3]! < '2026-01-05' || r[3]! > '2026-01-11'),
      ...week.slice(1),
    ]);
    expect(await installRows(t)).toEqual(expected);

    // nothing changed: nothing loads
    summary = await run(config);
    expect(summary.streams.every((s) => s.windows === 0)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test('s3: a custom name pattern with display names, gzip, and a cut-off report skipped until complete', async () => {
    const t = backend.target();
    const prefix = `${_name}/saved`;
    const config = yaml(
      t,
      `{ url: "s3://reports/${prefix}", endpoint: "${s3.endpoint}", name_pattern: "MarketHub {dataset} {start} to {end}" }`,
    );
    const week = installs('2026-01-12', '2026-01-18');
    const text = csv(HEADER, week);
    const { gzipSync } = await import('node:zlib');
    await s3.put(
      'reports',
      `${prefix}/MarketHub Install events 2026-01-12 to 2026-01-18.csv.gz`,
      gzipSync(text),
    );
    const next = csv(HEADER, installs('2026-01-19', '2026-01-25'));
    await s3.put(
      'reports',
      `${prefix}/MarketHub Install events 2026-01-19 to 2026-01-25.csv`,
      next.slice(0, -12),
    );
    const { log, lines } = capturingLogger();
    let summary = await run(config, log);
    expect(summary.status).toBe('ok');
    expect(await installRows(t)).toEqual(asKeys(week));
    expect(messages(lines, 40).join('\n')).toMatch(
      /export skipped this run: its last line has 3 of the header's 4 fields/,
    );

    await s3.put('reports', `${prefix}/MarketHub Install events 2026-01-19 to 2026-01-25.csv`, next);
    summary = await run(config);
    expect(summary.status).toBe('ok');
    expect(await installRows(t)).toEqual(asKeys([...week, ...installs('2026-01-19', '2026-01-25')]));
  });
});

test('name patterns: default and custom, display names, unknown datasets and bad dates', () => {
  const def = namePattern('{dataset}-{start}-{end}');
  expect(classifyReportName('install_events-2026-01-05-2026-01-11.csv', def, 'install_events')).toMatchObject(
    {
      kind: 'export',
      window: { from: new Date('2026-01-05T00:00:00Z'), to: new Date('2026-01-12T00:00:00Z') },
      format: 'csv',
    },
  );
  expect(classifyReportName('review_data-2026-01-05-2026-01-11.json', def, 'install_events')).toEqual({
    kind: 'other',
  });
  expect(classifyReportName('clicks-2026-01-05-2026-01-11.csv', def, 'install_events')).toMatchObject({
    kind: 'skip',
    reason: expect.stringMatching(/unknown dataset 'clicks'/),
  });
  expect(classifyReportName('install_events-2026-02-30-2026-03-01.csv', def, 'install_events')).toMatchObject(
    {
      kind: 'skip',
      reason: expect.stringMatching(/malformed date/),
    },
  );
  expect(classifyReportName('install_events-2026-01-11-2026-01-05.csv', def, 'install_events')).toMatchObject(
    {
      kind: 'skip',
      reason: expect.stringMatching(/end 2026-01-05 before start/),
    },
  );
  const custom = namePattern('Weekly * report ({dataset}) {start}_{end}');
  expect(
    classifyReportName(
      'Weekly MarketHub report (Geographic summary) 2026-01-05_2026-01-11.JSON',
      custom,
      'geographic_summary',
    ),
  ).toMatchObject({
    kind: 'export',
    format: 'json',
  });
});
