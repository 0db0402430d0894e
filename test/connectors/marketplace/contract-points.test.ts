/**
 * The marketplace connector reads `endInclusive` and `wrapper` from its contract
 * (connectors/marketplace/contract.ts), as the simulator does: flip a point and the request bounds
 * (or the member read) follow, so connector and simulator cannot drift apart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MARKETPLACE_CONTRACTS } from '../../../connectors/marketplace/contract.js';
import { exportRange } from '../../../connectors/marketplace/index.js';
import {
  startMarketplaceSimulator,
  type MarketplaceSimulator,
  type MarketplaceSimulatorOptions,
} from '../../../connectors/marketplace/simulator.js';
import { assumed, type SourceContract } from '../../../src/contract/types.js';
import { canon, context, day, records, sourceFor, streamOf, window } from './helpers.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const installs = MARKETPLACE_CONTRACTS.install_events as SourceContract;
const original = { endInclusive: installs.endInclusive, wrapper: installs.wrapper };

let sim: MarketplaceSimulator | undefined;
afterEach(async () => {
  installs.endInclusive = original.endInclusive;
  installs.wrapper = original.wrapper;
  await sim?.close();
  sim = undefined;
});
async function start(o: MarketplaceSimulatorOptions = {}) {
  sim = await startMarketplaceSimulator({ now: NOW, ...o });
  return sim;
}

describe('endInclusive comes from the contract', () => {
  it('flipping the contract point moves every end_date and the simulator with it: adjacent windows neither gap nor double', async () => {
    installs.endInclusive = assumed(false, 'test: end_date excludes its day');
    const s = await start(); // the simulator reads the same point
    const stream = streamOf(sourceFor(s, {}, NOW), 'install_events');
    const ctx = context();
    const rows = [
      ...(await records(stream.read(window('2026-11-10', '2026-11-13'), ctx))),
      ...(await records(stream.read(window('2026-11-13', '2026-11-17'), ctx))),
    ];
    expect(s.requests.map((r) => [r.query.start_date, r.query.end_date])).toEqual([
      ['2026-11-10', '2026-11-13'],
      ['2026-11-13', '2026-11-17'],
    ]);
    expect(stream.describe(window('2026-11-10', '2026-11-13'))).toContain(
      'start_date=2026-11-10&end_date=2026-11-13',
    );
    expect(exportRange(window('2026-11-10', '2026-11-13'), day('2024-11-25')).request).toEqual({
      start: '2026-11-10',
      end: '2026-11-13',
    });
    expect(rows.length).toBeGreaterThan(20);
    expect(canon(rows)).toEqual(canon(s.rows('install_events', '2026-11-10', '2026-11-16')));
  });

  it('check follows the point too: today is asked as today..tomorrow when end_date is exclusive', async () => {
    installs.endInclusive = assumed(false, 'test');
    const s = await start();
    expect((await sourceFor(s, {}, NOW).check(context())).ok).toBe(true);
    expect(s.requests[0]!.query).toMatchObject({ start_date: '2026-11-25', end_date: '2026-11-26' });
  });

  it('with the point as shipped (inclusive) end_date is the window last day, clamped windows included', async () => {
    const s = await start();
    const stream = streamOf(sourceFor(s, {}, NOW), 'install_events');
    await records(stream.read(window('2024-11-20', '2024-11-27'), context()));
    expect(s.requests.map((r) => [r.query.start_date, r.query.end_date])).toEqual([
      ['2024-11-25', '2024-11-26'],
    ]);
  });
});

describe('the JSON wrapper member comes from the contract', () => {
  it('flipping the member moves the simulator and the connector together; a stream whose contract names another member fails naming it', async () => {
    const s = await start();
    const w = window('2026-11-10', '2026-11-12');
    const truth = canon(s.rows('install_events', '2026-11-10', '2026-11-11'));
    const read = () =>
      records(streamOf(sourceFor(s, { format: 'json' }, NOW), 'install_events').read(w, context()));
    expect(canon(await read())).toEqual(truth);

    installs.wrapper = assumed('rows', 'test: the member renamed');
    expect(canon(await read())).toEqual(truth); // served as {"dataset":…,"rows":[…]} and read there

    // the simulator serves `rows`; this stream's contract still says `periods` (a stale connector)
    const stale = streamOf(sourceFor(s, { format: 'json' }, NOW), 'install_events');
    stale.contract = { ...installs, wrapper: assumed('periods', 'test') } as SourceContract;
    await expect(records(stale.read(w, context()))).rejects.toThrow(
      "stream install_events: the top-level object has no member 'periods' holding the records (members: 'dataset', 'rows')",
    );
  });
});
