/**
 * The Replicated connector reads `endInclusive` and `wrapper` from its contract
 * (connectors/replicated/contract.ts), as the simulator does: flip a point and the request bounds
 * (or the member read) follow, so connector and simulator cannot drift apart.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { REPLICATED_CONTRACTS } from '../../../connectors/replicated/contract.js';
import { eventDateRange } from '../../../connectors/replicated/index.js';
import {
  startReplicatedSimulator,
  type ReplicatedSimulator,
  type ReplicatedSimulatorOptions,
} from '../../../connectors/replicated/simulator.js';
import { assumed, type SourceContract } from '../../../src/contract/types.js';
import { DataError } from '../../../src/core/errors.js';
import { collect, context, sourceFor, window } from './helpers.js';

const NOW = new Date('2026-01-20T12:00:00.000Z');
const events = REPLICATED_CONTRACTS.instance_events as SourceContract;
const instances = REPLICATED_CONTRACTS.customer_instances as SourceContract;
const original = {
  endInclusive: events.endInclusive,
  eventsWrapper: events.wrapper,
  instancesWrapper: instances.wrapper,
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  // the contract objects are shared by the whole file: put every point back
  events.endInclusive = original.endInclusive;
  events.wrapper = original.eventsWrapper;
  instances.wrapper = original.instancesWrapper;
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function simulator(options: ReplicatedSimulatorOptions = {}): Promise<ReplicatedSimulator> {
  const sim = await startReplicatedSimulator({ now: NOW, ...options });
  cleanup.push(() => sim.close());
  return sim;
}

/** Event identity (the merge key) of a shaped batch row. */
function keysOf(batches: Awaited<ReturnType<typeof collect>>): string[] {
  return batches.flatMap((b) => {
    const [i, f, c] = ['instance_id', 'field_name', 'created_at'].map((n) => b.fields.indexOf(n));
    return b.records.map((r) => `${String(r[i!])}|${String(r[f!])}|${String(r[c!])}`);
  });
}

describe('endInclusive comes from the contract', () => {
  it('flipping the contract point moves every before date and the simulator with it: adjacent windows neither gap nor double', async () => {
    events.endInclusive = assumed(false, 'test: before excludes its day');
    const sim = await simulator(); // reads the flipped point, like the connector
    const stream = sourceFor(sim).streams.find((s) => s.name === 'instance_events')!;
    const ctx = context();
    const read = [
      ...(await collect(stream.read(window('2026-01-10', '2026-01-12'), ctx))),
      ...(await collect(stream.read(window('2026-01-12', '2026-01-13'), ctx))),
    ];
    expect(sim.requests.map((r) => [r.query.after, r.query.before])).toEqual([
      ['2026-01-10', '2026-01-12'],
      ['2026-01-12', '2026-01-13'],
    ]);
    expect(stream.describe(window('2026-01-10', '2026-01-12'))).toContain(
      'after=2026-01-10&before=2026-01-12',
    );
    expect(eventDateRange(window('2026-01-10', '2026-01-12'))).toEqual({
      after: '2026-01-10',
      before: '2026-01-12',
    });
    const keys = keysOf(read);
    const truth = sim
      .events('2026-01-10', '2026-01-12')
      .map((e) => `${e.instanceId}|${e.fieldName}|${e.createdAt}`);
    expect(keys.length).toBeGreaterThan(10);
    expect(new Set(keys).size).toBe(keys.length); // no day read twice
    expect(keys.sort()).toEqual(truth.sort()); // no day lost
  });

  it('with the point as shipped (inclusive) before is the window last day', async () => {
    const sim = await simulator();
    const stream = sourceFor(sim).streams[0]!;
    await collect(stream.read(window('2026-01-10', '2026-01-12'), context()));
    expect(sim.requests.map((r) => [r.query.after, r.query.before])).toEqual([['2026-01-10', '2026-01-11']]);
  });

  it('a connector that ignored the flipped point would lose the last day of every window (what the test above guards)', async () => {
    // The simulator keeps the exclusive semantics, the stream's own contract says inclusive.
    events.endInclusive = assumed(false, 'test');
    const sim = await simulator();
    const stream = sourceFor(sim).streams[0]!;
    stream.contract = { ...events, endInclusive: assumed(true, 'test: a stale connector') };
    const ctx = context();
    const keys = keysOf([
      ...(await collect(stream.read(window('2026-01-10', '2026-01-11'), ctx))),
      ...(await collect(stream.read(window('2026-01-11', '2026-01-12'), ctx))),
    ]);
    expect(sim.requests.map((r) => r.query.before)).toEqual(['2026-01-10', '2026-01-11']);
    // before=10 exclusive returns nothing for the 10th: the window's only day is lost
    expect(keys.filter((k) => k.includes('2026-01-10T'))).toEqual([]);
    expect(sim.events('2026-01-10', '2026-01-10').length).toBeGreaterThan(0);
  });
});

/**
 * A loopback proxy in front of the simulator's `wrapJson` variant that puts an array member before
 * the records: `{"events":[…]}` becomes `{"tags":["beta","ga"],"events":[…]}` (and the same for
 * `customerInstances`).
 */
async function taggingProxy(target: string): Promise<string> {
  const server: Server = createServer((req, res) => {
    const up = httpRequest(`${target}${req.url ?? '/'}`, { headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/^\{"(events|customerInstances)":\[/, '{"tags":["beta","ga"],"$1":[');
        res.writeHead(answer.statusCode ?? 500, { 'content-type': answer.headers['content-type'] ?? '' });
        res.end(body);
      });
    });
    up.on('error', (err) => res.destroy(err));
    up.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the JSON wrapper member comes from the contract', () => {
  const body = '{"tags":["beta","ga"],"events":[';

  it('reads {"tags":[…],"events":[…]} at the contract member: the same rows as the plain wrapped body', async () => {
    // the shipped contract names the members (the simulator's wrapping follows it)
    expect(events.wrapper?.value).toBe('events');
    expect(instances.wrapper?.value).toBe('customerInstances');
    const sim = await simulator({ wrapJson: true });
    const url = await taggingProxy(sim.url);
    const raw = await fetch(`${url}/vendor/v3/app/app-acme/events?after=2026-01-10&before=2026-01-10`, {
      headers: { Authorization: 'replicated-test-token' },
    });
    expect((await raw.text()).startsWith(body)).toBe(true);

    const ctx = context(7);
    const w = window('2026-01-10', '2026-01-12');
    const [viaProxy, direct] = [sourceFor({ ...sim, url }).streams, sourceFor(sim).streams];
    const tagged = keysOf(await collect(viaProxy[0]!.read(w, ctx)));
    const plain = keysOf(await collect(direct[0]!.read(w, ctx)));
    expect(tagged.length).toBe(sim.events('2026-01-10', '2026-01-11').length);
    expect(tagged).toEqual(plain);

    const snapshot = await collect(viaProxy[1]!.read(window('2026-01-20', '2026-01-21'), ctx));
    expect(snapshot.reduce((n, b) => n + b.records.length, 0)).toBe(sim.customerInstances().length);
  });

  it('without a wrapper point the first array (tags) is taken and the body is refused, never loaded as records', async () => {
    events.wrapper = undefined; // a contract that names no member
    const sim = await simulator({ wrapJson: true });
    const url = await taggingProxy(sim.url);
    const stream = sourceFor({ ...sim, url }).streams[0]!;
    const err = await collect(stream.read(window('2026-01-10', '2026-01-11'), context())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe('stream instance_events: element 1 is not a JSON object');
  });

  it('a wrapper point naming a member the body lacks fails naming it', async () => {
    events.wrapper = assumed('data', 'test');
    const sim = await simulator({ wrapJson: true });
    const stream = sourceFor(sim).streams[0]!;
    await expect(collect(stream.read(window('2026-01-10', '2026-01-11'), context()))).rejects.toThrow(
      "no member 'data' holding the records (members: 'events')",
    );
  });
});
