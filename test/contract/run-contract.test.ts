/**
 * Real runs (runSync into DuckDB files) against Scarf simulator variants: a difference that would
 * corrupt data fails the stream with a DataError and loads nothing; a tolerated one loads exactly
 * what the contract-true simulator loads and warns once per run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startScarfSimulator,
  type ScarfContractVariant,
  type ScarfSimulator,
} from '../../connectors/scarf/simulator.js';
import type { Logger } from '../../src/core/contracts.js';
import { EXIT } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { addDays, isoDate } from '../../src/core/time.js';
import { createDestination } from '../../src/destinations/index.js';
import { runSync, type RunSummary } from '../../src/engine/run.js';
import { BACKENDS, counts, digest, makeConfig, truthIds, type Backend, type Target } from '../e2e/harness.js';
import { capturingLogger } from './helpers.js';

const NOW = new Date();
let sim: ScarfSimulator;
let backend: Backend;

beforeAll(async () => {
  sim = await startScarfSimulator({ now: NOW });
  backend = BACKENDS.find(([name]) => name === 'duckdb')![1]();
});
afterAll(async () => {
  await sim.close();
  await backend.cleanup();
});

async function runWith(
  variant: ScarfContractVariant,
  log: Logger = silentLogger,
): Promise<{ t: Target; summary: RunSummary }> {
  sim.setVariant(variant);
  const t = backend.target();
  const config = makeConfig(t, sim.url, { backfill_days: 3 });
  const destination = await createDestination(config.destination, silentLogger);
  await destination.open();
  try {
    return { t, summary: await runSync({ config, destination, log, now: () => NOW }) };
  } finally {
    await destination.close();
  }
}

async function tableExists(t: Target): Promise<boolean> {
  const rows = await t.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'scarf_events'`);
  return rows.length > 0;
}

const driftWarnings = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => l.level === 40 && String(l.msg).includes('differs from the stream contract'));

describe('a run against an API that breaks the contract', () => {
  const corrupting: Array<[string, ScarfContractVariant, RegExp]> = [
    [
      'the cursor field renamed',
      { renameFields: { time: 'timestamp' } },
      /field time \(cursor\): missing from the response/,
    ],
    [
      'the key field renamed',
      { renameFields: { id: 'event_id' } },
      /field id \(key\): missing from the response/,
    ],
    [
      'the cursor in a format that does not parse',
      { timeFormat: 'epoch-seconds' },
      /field time \(cursor\): \d+ of \d+ values do not parse as timestamp \(seen: epoch-seconds/,
    ],
  ];
  for (const [what, variant, message] of corrupting) {
    it(`${what}: the stream fails with a DataError and nothing is loaded`, async () => {
      const { t, summary } = await runWith(variant);
      expect(summary.status).toBe('failed');
      expect(summary.exitCode).toBe(EXIT.failed);
      expect(summary.streams[0]).toMatchObject({
        status: 'failed',
        errorKind: 'data',
        windows: 0,
        highWaterMark: null,
      });
      expect(summary.streams[0]!.error).toMatch(message);
      expect(summary.streams[0]!.error).toContain('exportsync check --contract');
      expect(await tableExists(t)).toBe(false);
    });
  }
});

describe('a run against an API that differs in a tolerated way', () => {
  let reference: Awaited<ReturnType<typeof digest>>;
  beforeAll(async () => {
    const { t, summary } = await runWith({});
    expect(summary.status).toBe('ok');
    reference = await digest(t);
    const expected = truthIds(sim, isoDate(addDays(NOW, -2)), isoDate(NOW)).size;
    expect((await counts(t)).distinct).toBe(expected);
  });

  const tolerated: Array<[string, ScarfContractVariant, boolean]> = [
    ['another timestamp format (no T, no zone)', { timeFormat: 'YYYY-MM-DD HH:MM:SS.sss' }, true],
    ['columns in another order', { reverseColumns: true }, false],
    ['a field in camelCase', { renameFields: { user_agent: 'userAgent', origin_id: 'originId' } }, false],
  ];
  for (const [what, variant, warns] of tolerated) {
    it(`${what}: loads exactly what the contract-true API loads${warns ? ', warning once' : ', silently'}`, async () => {
      const { log, lines } = capturingLogger();
      const { t, summary } = await runWith(variant, log);
      expect(summary.status).toBe('ok');
      expect(summary.streams[0]!.windows).toBe(3);
      expect(await digest(t)).toEqual(reference);
      expect(driftWarnings(lines)).toHaveLength(warns ? 1 : 0);
    });
  }

  it('an extra column: becomes a column, the rest loads as before, one warning for three windows', async () => {
    const { log, lines } = capturingLogger();
    sim.setFaults({ newColumnFrom: '2000-01-01', newColumnName: 'origin_asn' });
    try {
      const { t, summary } = await runWith({}, log);
      expect(summary.status).toBe('ok');
      const loaded = await digest(t);
      expect(loaded.columns.filter((c) => c !== 'origin_asn')).toEqual(reference.columns);
      expect(loaded.columns).toContain('origin_asn');
      expect(loaded.rows).toBe(reference.rows);
      const warned = driftWarnings(lines);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ stream: 'scarf.events', missing: [], extra: ['origin_asn'] });
    } finally {
      sim.setFaults({ newColumnFrom: undefined });
    }
  });
});
