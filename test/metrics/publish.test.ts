/**
 * Where the metrics go: a Pushgateway (a local node:http server standing in), the textfile, and
 * what happens when either fails. A metrics failure is a warning and never fails the run: the rows
 * are committed, and a failed job would be retried for nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import type { Config } from '../../src/config/load.js';
import type { RunRecord } from '../../src/core/contracts.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync, type RunSummary } from '../../src/engine/run.js';
import { publishRunMetrics } from '../../src/metrics/index.js';
import { BACKENDS, makeConfig } from '../e2e/harness.js';
import { STREAM_LABELS, capturingLogger, sample } from './support.js';

const NOW = new Date('2026-11-25T12:00:00Z');

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const backendNamed = (name: string) =>
  BACKENDS.find(([n]) => n === name)?.[1] as (typeof BACKENDS)[number][1];
const duckdb = backendNamed('duckdb');
const postgres = backendNamed('postgres');

describe('metrics publishing', () => {
  let sim: ScarfSimulator;
  let gateway: Server;
  let gatewayUrl: string;
  let answer = 200;
  const received: Received[] = [];
  let dir: string;
  const backend = duckdb();

  beforeAll(async () => {
    sim = await startScarfSimulator({ seed: 'push', eventsPerDay: 10, now: NOW });
    gateway = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? '' : 'push refused');
      });
    });
    gateway.listen(0, '127.0.0.1');
    await new Promise((resolve) => gateway.once('listening', resolve));
    gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'exportsync-push-'));
  });
  afterAll(async () => {
    await sim.close();
    await new Promise((resolve) => gateway.close(resolve));
    await backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    received.length = 0;
    answer = 200;
  });

  async function run(metrics: Record<string, string>) {
    const t = backend.target();
    const config = { ...makeConfig(t, sim.url, { backfill_days: 2 }), metrics } as Config;
    const { log, lines } = capturingLogger();
    const destination = await createDestination(config.destination, log);
    await destination.open();
    let summary: RunSummary;
    try {
      summary = await runSync({ config, destination, log, now: () => NOW });
    } finally {
      await destination.close();
    }
    const warnings = lines.filter((l) => l.level === 40);
    return { summary, lines, warnings };
  }

  test('pushes-the-same-exposition-as-the-textfile-with-a-put-and-basic-auth', async () => {
    const textfile = join(dir, 'both.prom');
    const { summary, warnings } = await run({
      textfile,
      pushgateway_url: `${gatewayUrl.replace('http://', 'http://ops:s3cret@')}/base/`,
    });
    expect(summary.status).toBe('ok');
    expect(warnings).toEqual([]);
    expect(received).toHaveLength(1);
    const [push] = received as [Received];
    expect(push.method).toBe('PUT');
    expect(push.url).toBe('/base/metrics/job/exportsync');
    expect(push.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(push.headers.authorization).toBe(`Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
    expect(push.body).toBe(await readFile(textfile, 'utf8'));
    expect(sample(push.body, 'exportsync_requests_total', STREAM_LABELS)).toBe(2);
    expect(sample(push.body, 'exportsync_run_status', { status: 'ok' })).toBe(1);
    // no temp file left beside the textfile
    expect((await readdir(dir)).filter((f) => f.includes('both'))).toEqual(['both.prom']);
  });

  test('a-refused-push-is-a-warning-without-credentials-and-the-run-stays-ok', async () => {
    answer = 500;
    const { summary, warnings, lines } = await run({
      pushgateway_url: gatewayUrl.replace('http://', 'http://ops:s3cret@'),
    });
    expect(summary.status).toBe('ok');
    expect(summary.exitCode).toBe(0);
    expect(received).toHaveLength(1);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'could not push metrics to the Pushgateway',
        err: expect.stringMatching(/answered 500: push refused/),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });

  test('an-unreachable-pushgateway-is-a-warning-and-the-run-stays-ok', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await new Promise((resolve) => closed.once('listening', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { summary, warnings } = await run({ pushgateway_url: `http://127.0.0.1:${port}` });
    expect(summary.status).toBe('ok');
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'could not push metrics to the Pushgateway',
        err: expect.stringMatching(/ECONNREFUSED/),
      }),
    ]);
  });

  test('an-unwritable-textfile-is-a-warning-and-the-run-stays-ok', async () => {
    const { summary, warnings } = await run({ textfile: join(dir, 'missing-dir', 'x.prom') });
    expect(summary.status).toBe('ok');
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'could not write the metrics textfile',
        err: expect.stringMatching(/ENOENT/),
      }),
    ]);
  });

  test('an-unreadable-run-log-continues-the-counters-from-the-previous-textfile', async () => {
    const textfile = join(dir, 'fallback.prom');
    writeFileSync(
      textfile,
      [
        '# TYPE exportsync_rows_total counter',
        'exportsync_rows_total{source="scarf",stream="scarf.events"} 100',
        'exportsync_requests_total{source="scarf",stream="scarf.events"} 7',
        'exportsync_last_success_timestamp_seconds{source="scarf",stream="scarf.events"} 1700000000',
        '',
      ].join('\n'),
    );
    // a real Postgres destination whose pool is closed: listRuns fails
    const pgBackend = postgres();
    const destination = await createDestination(
      makeConfig(pgBackend.target(), sim.url).destination,
      capturingLogger().log,
    );
    await destination.open();
    await destination.close();
    await pgBackend.cleanup();
    const run: RunRecord = {
      runId: 'r1',
      command: 'run',
      startedAt: '2026-11-25T12:00:00.000Z',
      finishedAt: '2026-11-25T12:00:10.000Z',
      status: 'failed',
      streams: ['scarf.events'],
      rows: 5,
      stats: [
        {
          streamKey: 'scarf.events',
          status: 'failed',
          windows: 0,
          staged: 5,
          upserted: 0,
          deleted: 0,
          lateRows: 0,
          requests: 2,
          bytes: 10,
          durationMs: 1000,
        },
      ],
    };
    const { log, lines } = capturingLogger();
    const text = await publishRunMetrics({ settings: { textfile }, run, destination, sources: [], log });
    expect(lines.map((l) => l.msg)).toContain(
      'cannot read the run log; metrics continue from the previous textfile',
    );
    expect(sample(text, 'exportsync_rows_total', STREAM_LABELS)).toBe(105);
    expect(sample(text, 'exportsync_requests_total', STREAM_LABELS)).toBe(9);
    expect(sample(text, 'exportsync_last_success_timestamp_seconds', STREAM_LABELS)).toBe(1700000000);
    expect(sample(text, 'exportsync_run_status', { status: 'failed' })).toBe(1);
    expect(await readFile(textfile, 'utf8')).toBe(text);
  });
});
