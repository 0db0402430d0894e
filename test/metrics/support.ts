/** Helpers of the metrics tests: a logger whose lines the test can read, and sample lookup. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { parseExposition } from '../../src/metrics/prometheus.js';

export function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** The value of one series of an exposition; undefined when the series is absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

export const STREAM_LABELS = { source: 'scarf', stream: 'scarf.events' };
