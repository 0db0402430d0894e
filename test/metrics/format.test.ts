/**
 * The exposition text and the per-stream HTTP counting, in isolation. A label value with a quote,
 * backslash or newline must be escaped (else the collector rejects the whole file), and a body
 * abandoned midway must still count exactly the bytes read and close the response.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createHttpClient } from '../../src/http/client.js';
import { countingHttpClient, sourceRetries } from '../../src/metrics/counting-http.js';
import { formatExposition, parseExposition } from '../../src/metrics/prometheus.js';
import { runMetrics } from '../../src/metrics/run-metrics.js';
import { sample } from './support.js';

describe('exposition format', () => {
  test('escapes-label-values-and-round-trips', () => {
    const odd = 'a"b\\c\nd';
    const text = formatExposition([
      {
        name: 'x_total',
        help: 'line one\nline two',
        type: 'counter',
        samples: [{ labels: { stream: odd }, value: 3 }],
      },
      { name: 'y', help: 'h', type: 'gauge', samples: [{ labels: {}, value: 1.5 }] },
    ]);
    expect(text).toBe(
      [
        '# HELP x_total line one\\nline two',
        '# TYPE x_total counter',
        'x_total{stream="a\\"b\\\\c\\nd"} 3',
        '# HELP y h',
        '# TYPE y gauge',
        'y 1.5',
        '',
      ].join('\n'),
    );
    expect(parseExposition(text)).toEqual([
      { name: 'x_total', labels: { stream: odd }, value: 3 },
      { name: 'y', labels: {}, value: 1.5 },
    ]);
  });

  test('skips-damaged-lines-of-a-previous-file', () => {
    expect(parseExposition('garbage here now\nok 2\n{bad} 1\n')).toEqual([
      { name: 'ok', labels: {}, value: 2 },
    ]);
  });
});

describe('counting HTTP view', () => {
  let server: Server;
  let url: string;
  let failFirst = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (failFirst > 0) {
        failFirst--;
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 64; i++) res.write('x'.repeat(1024));
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const client = () =>
    createHttpClient({
      log: silentLogger,
      retryAttempts: 3,
      retryMinDelayMs: 1,
      retryMaxDelayMs: 2,
      requestTimeoutMs: 5000,
      maxRequests: 100,
    });

  test('counts-requests-bytes-and-retries-per-stream-on-a-shared-client', async () => {
    const shared = client();
    const a = countingHttpClient(shared);
    const b = countingHttpClient(shared);
    failFirst = 1;
    let read = 0;
    for await (const chunk of (await a.get(url)).body) read += chunk.byteLength;
    expect(read).toBe(64 * 1024);
    // b reads one chunk and stops: only what it read counts
    const response = await b.get(url);
    let partial = 0;
    for await (const chunk of response.body) {
      partial += chunk.byteLength;
      break;
    }
    expect(partial).toBeGreaterThan(0);
    expect(a).toMatchObject({ requests: 1, bytes: 64 * 1024 });
    expect(b).toMatchObject({ requests: 1, bytes: partial });
    expect(shared.requestCount).toBe(3);
    expect(a.requestCount).toBe(3);
    expect(sourceRetries(shared, [a, b])).toBe(1);
  });
});

describe('metrics config section', () => {
  const base = 'destination: { type: duckdb }\nsources: [{ type: scarf, owner: a, token: t }]\n';
  const issues = (metrics: string): string[] => {
    try {
      parseConfig(`${base}metrics: ${metrics}\n`, 'm.yaml', {});
      return [];
    } catch (err) {
      return (err as ConfigError).issues;
    }
  };
  test('accepts-a-prom-textfile-and-an-http-pushgateway', () => {
    expect(
      issues('{ textfile: /var/lib/node_exporter/exportsync.prom, pushgateway_url: "http://pg:9091" }'),
    ).toEqual([]);
  });
  test('refuses-a-textfile-the-collector-would-ignore-and-a-non-http-url-and-unknown-keys', () => {
    expect(issues('{ textfile: /tmp/x.txt, pushgateway_url: "ftp://pg", pushgateway: x }')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^metrics\.textfile: must end in \.prom/),
        'metrics.pushgateway_url: must be an http:// or https:// URL',
        expect.stringMatching(/^metrics(\.pushgateway)?: unknown key/),
      ]),
    );
  });
});

describe('metrics from the run log', () => {
  const stats = (status: 'ok' | 'failed', staged: number) => ({
    streamKey: 'scarf.events',
    status,
    windows: 1,
    staged,
    upserted: staged,
    deleted: 0,
    lateRows: 0,
    requests: 1,
    bytes: 100,
    durationMs: 10,
  });
  const record = (runId: string, command: string, finishedAt: string, s: ReturnType<typeof stats>) => ({
    runId,
    command,
    startedAt: finishedAt,
    finishedAt,
    status: s.status,
    streams: ['scarf.events'],
    rows: s.staged,
    stats: [s],
  });

  test('a-backfill-adds-to-the-counters-but-is-not-a-daily-success', () => {
    const daily = record('a', 'run', '2026-11-01T00:00:00.000Z', stats('ok', 5));
    const backfill = record('b', 'backfill', '2026-11-02T00:00:00.000Z', stats('ok', 7));
    const current = record('c', 'run', '2026-11-03T00:00:00.000Z', stats('failed', 0));
    const text = formatExposition(runMetrics({ run: current, history: [backfill, daily], sources: [] }));
    const labels = { source: 'scarf', stream: 'scarf.events' };
    expect(sample(text, 'exportsync_rows_total', labels)).toBe(12);
    expect(sample(text, 'exportsync_last_success_timestamp_seconds', labels)).toBe(
      Date.parse('2026-11-01T00:00:00Z') / 1000,
    );
  });
});
