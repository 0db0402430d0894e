/**
 * The event shaper does not pad fields the API did not send (connectors/replicated/records.ts), so
 * batches of one run carry different field sets. A field absent from the first batches (or from a
 * whole earlier window) and present in a later one must still land in its column, through the
 * engine, on both warehouses; and the rows without it stay NULL there.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EventShaper } from '../../../connectors/replicated/records.js';
import { parseConfig } from '../../../src/config/load.js';
import { BACKENDS, type Backend, runOnce } from '../../e2e/harness.js';

const NOW = new Date('2026-01-11T12:00:00.000Z');

const event = (day: string, n: number, extra: Record<string, unknown> = {}) => ({
  appId: 'app-acme',
  customerId: 'c1',
  instanceId: `i${n}`,
  fieldName: 'numUsers',
  fieldValue: n,
  createdAt: `${day}T0${n}:00:00.000Z`,
  ...extra,
});

/** Day 10: no isCustom at all. Day 11: isCustom from the third record on, `region` only in the last. */
const BODIES: Record<string, unknown[]> = {
  '2026-01-10': [event('2026-01-10', 1), event('2026-01-10', 2), event('2026-01-10', 3)],
  '2026-01-11': [
    event('2026-01-11', 1),
    event('2026-01-11', 2),
    event('2026-01-11', 3, { isCustom: true }),
    event('2026-01-11', 4, { isCustom: false }),
    event('2026-01-11', 5, { isCustom: true, region: 'eu-west' }),
  ],
};

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const after = new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(BODIES[after] ?? []));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('the shaper gives each batch only the fields it has, in dictionary order', () => {
  const shaper = new EventShaper();
  const first = shaper.shape({ fields: ['instanceId', 'createdAt'], records: [['i1', 't']] });
  const later = shaper.shape({
    fields: ['instanceId', 'isCustom', 'createdAt'],
    records: [['i2', true, 't']],
  });
  expect(first.fields).toEqual(['instance_id', 'created_at']);
  expect(later.fields).toEqual(['instance_id', 'is_custom', 'created_at']);
  expect(later.records).toEqual([['i2', true, 't']]);
});

describe.each(BACKENDS)('replicated fields across pages on %s', (_name, makeBackend) => {
  let backend: Backend;
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  test('a field absent from earlier batches and windows lands in its column when it appears', async () => {
    const t = backend.target();
    const config = parseConfig(
      [
        `destination: ${t.destinationYaml}`,
        'sync: { backfill_days: 2, batch_rows: 2 }',
        'sources:',
        '  - type: replicated',
        '    app_id: app-acme',
        '    token: replicated-test-token',
        `    base_url: ${url}`,
        '    streams: [instance_events]',
        '',
      ].join('\n'),
      '<test>',
      {},
    );
    const summary = await runOnce(config, { now: () => NOW });
    expect(summary.status).toBe('ok');
    const rows = await t.query<{ instance_id: string; day: string; is_custom: unknown; region: unknown }>(
      `SELECT instance_id, CAST(CAST(created_at AS DATE) AS VARCHAR) AS day, is_custom, region FROM ${t.table('replicated_instance_events')} ORDER BY created_at`,
    );
    expect(rows.map((r) => [r.day, r.instance_id, r.is_custom, r.region])).toEqual([
      ['2026-01-10', 'i1', null, null],
      ['2026-01-10', 'i2', null, null],
      ['2026-01-10', 'i3', null, null],
      ['2026-01-11', 'i1', null, null],
      ['2026-01-11', 'i2', null, null],
      ['2026-01-11', 'i3', true, null],
      ['2026-01-11', 'i4', false, null],
      ['2026-01-11', 'i5', true, 'eu-west'],
    ]);
  });
});
