import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import type { RecordBatch, Window } from '../../../src/core/contracts.js';
import { silentLogger } from '../../../src/core/log.js';
import { createHttpClient } from '../../../src/http/client.js';
import { createMarketplaceSource, marketplaceSourceSchema } from '../../../connectors/marketplace/index.js';
import { PUBLISHER_TOKEN, type MarketplaceSimulator } from '../../../connectors/marketplace/simulator.js';

export const day = (s: string): Date => new Date(`${s}T00:00:00.000Z`);
export const window = (from: string, to: string): Window => ({ from: day(from), to: day(to) });

export function sourceFor(sim: MarketplaceSimulator, config: Record<string, unknown> = {}, now?: Date) {
  return createMarketplaceSource(
    marketplaceSourceSchema.parse({
      type: 'marketplace',
      token: PUBLISHER_TOKEN,
      base_url: sim.url,
      ...config,
    }),
    now ? { now: () => now } : {},
  );
}

export function streamOf(source: ReturnType<typeof sourceFor>, name: string) {
  const s = source.streams.find((x) => x.name === name);
  if (!s) throw new Error(`no stream ${name}`);
  return s;
}

/** A logger whose JSON lines are kept in `lines`. */
export function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export function context(log: Logger = silentLogger, maxRequests = 100) {
  const http = createHttpClient({
    log: silentLogger,
    retryAttempts: 4,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    requestTimeoutMs: 5_000,
    maxRequests,
  });
  return { http, log, signal: new AbortController().signal, batchRows: 1000 };
}

/** Every record of a read as objects keyed by field. */
export async function records(iterable: AsyncIterable<RecordBatch>): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const b of iterable) {
    for (const r of b.records) out.push(Object.fromEntries(b.fields.map((f, i) => [f, r[i] ?? null])));
  }
  return out;
}

/** Records normalised to text, sorted, for comparing with the simulator's ground truth. */
export const canon = (rows: Array<Record<string, unknown>>): string[] =>
  rows
    .map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])))
    .sort();
