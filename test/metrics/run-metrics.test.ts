/**
 * A real run against the Scarf simulator into Postgres and DuckDB writes the metrics textfile with
 * the right values, and the run log (`_exportsync_runs`) holds the same per-stream stats. Every
 * expected figure comes from the simulator (its rows, its request log, the bytes it serves), never
 * from the run under test. Three runs: a clean first run, a run with a retried 500 and late rows,
 * and a failing run (which must not move the last-success time and must still record its stats).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { faults, startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import type { Config } from '../../src/config/load.js';
import type { RunRecord } from '../../src/core/contracts.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync, type RunSummary } from '../../src/engine/run.js';
import { BACKENDS, TOKEN, makeConfig, truthRows, type Backend, type Target } from '../e2e/harness.js';
import { STREAM_LABELS, capturingLogger, sample } from './support.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const NEXT = new Date('2026-11-26T12:00:00Z');
const LATER = new Date('2026-11-27T12:00:00Z');
const FAST_RETRY = { attempts: 3, min_delay_ms: 1, max_delay_ms: 5 };

/** Bytes the simulator serves right now for these requests (what the run must have counted). */
async function servedBytes(sim: ScarfSimulator, from: number): Promise<number> {
  const served = sim.requests.slice(from).filter((r) => r.status === 200 && r.completed);
  let bytes = 0;
  for (const r of served) {
    const response = await fetch(`${sim.url}${r.path}?${new URLSearchParams(r.query)}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    bytes += (await response.arrayBuffer()).byteLength;
  }
  return bytes;
}

async function run(config: Config, now: Date): Promise<{ summary: RunSummary; last: RunRecord }> {
  const destination = await createDestination(config.destination, capturingLogger().log);
  await destination.open();
  try {
    const summary = await runSync({ config, destination, log: capturingLogger().log, now: () => now });
    const [last] = await destination.listRuns(1);
    return { summary, last: last as RunRecord };
  } finally {
    await destination.close();
  }
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let sim: ScarfSimulator;
  let t: Target;
  let dir: string;
  let config: Config;
  let textfile: string;
  beforeAll(async () => {
    backend = makeBackend();
    sim = await startScarfSimulator({
      seed: 'metrics',
      eventsPerDay: 30,
      lateEvents: 4,
      lateEventDelayDays: 2,
      now: NOW,
    });
    t = backend.target();
    dir = mkdtempSync(join(tmpdir(), 'exportsync-metrics-'));
    textfile = join(dir, 'exportsync.prom');
    const parsed = makeConfig(t, sim.url, { backfill_days: 3, retry: FAST_RETRY });
    config = { ...parsed, metrics: { textfile } } as Config;
  });
  afterAll(async () => {
    await sim.close();
    await backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const totals = { rows: 0, requests: 0, bytes: 0 };

  test('first-run-writes-rows-requests-bytes-and-last-success', async () => {
    const { summary, last } = await run(config, NOW);
    expect(summary.status).toBe('ok');
    const rows = truthRows(sim, '2026-11-23', '2026-11-25').rows.length;
    const bytes = await servedBytes(sim, 0);
    expect(bytes).toBeGreaterThan(1000);
    Object.assign(totals, { rows, requests: 3, bytes });

    const text = await readFile(textfile, 'utf8');
    expect(sample(text, 'exportsync_run_status', { status: 'ok' })).toBe(1);
    expect(sample(text, 'exportsync_run_status', { status: 'failed' })).toBe(0);
    expect(sample(text, 'exportsync_rows_total', STREAM_LABELS)).toBe(rows);
    expect(sample(text, 'exportsync_requests_total', STREAM_LABELS)).toBe(3);
    expect(sample(text, 'exportsync_bytes_total', STREAM_LABELS)).toBe(bytes);
    expect(sample(text, 'exportsync_late_rows_total', STREAM_LABELS)).toBe(0);
    expect(sample(text, 'exportsync_last_success_timestamp_seconds', STREAM_LABELS)).toBe(
      NOW.getTime() / 1000,
    );
    expect(sample(text, 'exportsync_run_http_attempts', { source: 'scarf' })).toBe(3);
    expect(sample(text, 'exportsync_run_retries', { source: 'scarf' })).toBe(0);
    expect(sample(text, 'exportsync_duration_seconds', STREAM_LABELS)).toBeGreaterThan(0);
    expect(text).toContain('# TYPE exportsync_rows_total counter');

    expect(last.status).toBe('ok');
    expect(last.stats).toEqual([
      expect.objectContaining({
        streamKey: 'scarf.events',
        status: 'ok',
        windows: 3,
        staged: rows,
        requests: 3,
        bytes,
        lateRows: 0,
      }),
    ]);
  });

  test('second-run-adds-to-the-counters-counts-the-retry-and-the-late-rows', async () => {
    sim.setNow(NEXT);
    const from = sim.requests.length;
    sim.queueFaults([faults.serverError(500)]);
    const { summary, last } = await run(config, NEXT);
    expect(summary.status).toBe('ok');
    // 11-24 (lookback), 11-25, 11-26; the first request got a 500 and was retried
    expect(sim.requests.slice(from).map((r) => r.status)).toEqual([500, 200, 200, 200]);
    const rows = truthRows(sim, '2026-11-24', '2026-11-26').rows.length;
    const bytes = await servedBytes(sim, from);

    const text = await readFile(textfile, 'utf8');
    expect(sample(text, 'exportsync_rows_total', STREAM_LABELS)).toBe(totals.rows + rows);
    expect(sample(text, 'exportsync_requests_total', STREAM_LABELS)).toBe(totals.requests + 3);
    expect(sample(text, 'exportsync_bytes_total', STREAM_LABELS)).toBe(totals.bytes + bytes);
    // 11-24's 4 late events became visible on 11-26: new rows in a window before the old mark
    expect(sample(text, 'exportsync_late_rows_total', STREAM_LABELS)).toBe(4);
    expect(sample(text, 'exportsync_run_http_attempts', { source: 'scarf' })).toBe(4);
    expect(sample(text, 'exportsync_run_retries', { source: 'scarf' })).toBe(1);
    expect(sample(text, 'exportsync_last_success_timestamp_seconds', STREAM_LABELS)).toBe(
      NEXT.getTime() / 1000,
    );
    expect(last.stats?.[0]).toMatchObject({ status: 'ok', lateRows: 4, requests: 3, bytes, staged: rows });
    totals.rows += rows;
    totals.requests += 3;
    totals.bytes += bytes;
  });

  test('failed-run-records-its-stats-and-keeps-the-last-success', async () => {
    sim.setNow(LATER);
    sim.queueFaults([{ kind: 'status', status: 400, body: '{"message":"bad request","code":"bad"}' }]);
    const { summary, last } = await run(config, LATER);
    expect(summary.status).toBe('failed');

    const text = await readFile(textfile, 'utf8');
    expect(sample(text, 'exportsync_run_status', { status: 'failed' })).toBe(1);
    expect(sample(text, 'exportsync_run_status', { status: 'ok' })).toBe(0);
    expect(sample(text, 'exportsync_stream_status', { ...STREAM_LABELS, status: 'failed' })).toBe(1);
    expect(sample(text, 'exportsync_last_success_timestamp_seconds', STREAM_LABELS)).toBe(
      NEXT.getTime() / 1000,
    );
    expect(sample(text, 'exportsync_rows_total', STREAM_LABELS)).toBe(totals.rows);
    expect(sample(text, 'exportsync_requests_total', STREAM_LABELS)).toBe(totals.requests + 1);

    expect(last.status).toBe('failed');
    expect(last.stats?.[0]).toMatchObject({ status: 'failed', windows: 0, requests: 1, staged: 0 });
    expect(last.stats?.[0]?.error).toMatch(/400/);
    expect(last.stats?.[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });
});
