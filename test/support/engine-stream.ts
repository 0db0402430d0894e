/**
 * A two-rows-per-day merge stream and a `syncStream` call around it, for engine tests that run
 * against a real destination (the destination may be wrapped to record or fail calls).
 */
import type {
  Destination,
  HttpClient,
  RecordBatch,
  Source,
  StreamDefinition,
  Window,
} from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { syncStream } from '../../src/engine/stream-sync.js';

const DAY = 86_400_000;
export const dayOf = (w: Window): string => w.from.toISOString().slice(0, 10);

/** `n` adjacent one-day windows from 2025-03-01. */
export function days(n: number): Window[] {
  const start = Date.parse('2025-03-01T00:00:00Z');
  return Array.from({ length: n }, (_, i) => ({
    from: new Date(start + i * DAY),
    to: new Date(start + (i + 1) * DAY),
  }));
}

/** Two rows per window (`<day>-0`, `<day>-1`); `events` gets `read <day>`; `failRead(day)` may throw instead. */
export function twoRowStream(
  events: string[],
  failRead: (d: string) => Error | undefined = () => undefined,
): StreamDefinition {
  return {
    name: 'events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: 1,
    writeMode: 'merge',
    columns: [
      { name: 'id', type: 'string' },
      { name: 'time', type: 'timestamp' },
    ],
    dynamicColumns: false,
    async *read(w: Window): AsyncIterable<RecordBatch> {
      events.push(`read ${dayOf(w)}`);
      await new Promise((r) => setTimeout(r, 5));
      const err = failRead(dayOf(w));
      if (err) throw err;
      yield {
        fields: ['id', 'time'],
        records: [0, 1].map((k) => [`${dayOf(w)}-${k}`, new Date(w.from.getTime() + k * 1000).toISOString()]),
      };
    },
    describe: () => 'test',
  };
}

export interface RunStreamOptions {
  windows: Window[];
  windowAttempts?: number;
  stopping?: () => boolean;
}

/** `syncStream` of `s` into table `src_events` over exactly `o.windows`. */
export function runStream(destination: Destination, s: StreamDefinition, o: RunStreamOptions) {
  const source: Source = {
    name: 'src',
    type: 'test',
    streams: [s],
    check: async () => ({ target: 'src', ok: true, message: '' }),
  };
  const http = { get: () => Promise.reject(new Error('no http')), requestCount: 0 } as HttpClient;
  return syncStream({
    source,
    stream: s,
    table: 'src_events',
    destination,
    http,
    policy: { backfillDays: o.windows.length, lookbackDays: 1, windowDays: 1 },
    windows: o.windows,
    runId: 'run-1',
    startedAt: new Date(),
    now: () => new Date('2025-03-10T00:00:00Z'),
    windowAttempts: o.windowAttempts ?? 2,
    batchRows: 100,
    lockWaitMs: 0,
    columnBudget: 10,
    log: silentLogger,
    stopping: o.stopping ?? (() => false),
    signal: new AbortController().signal,
  });
}
