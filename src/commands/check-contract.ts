/**
 * `exportsync check --contract [--streams a,b] [--out file]`: for each configured stream, reads a
 * few small windows from the real API through the stream's own connector and compares what came
 * back with the stream's contract (connectors/<name>/contract.ts):
 *   - dated streams: the two-day window D..D+1 and the one-day windows D and D+1 (D = today − 3,
 *     UTC; 3 requests per stream, more for streams that fan out per breakdown or company), which
 *     also probes the end-date semantics (src/contract/probe.ts);
 *   - snapshot streams: today's snapshot (1 request).
 * It prints one verdict per point (ok / differs / could not tell), saves the observed shape (field
 * names, value kinds, formats, counts, response formats: never a data value) to a JSON file for a
 * bug report, and exits 1 (EXIT.failed) when a point that would lose or double data differs or a
 * stream could not be read at all; 0 otherwise, also when tolerated points differ.
 * It writes nothing to the destination and never opens it.
 */
import { writeFileSync } from 'node:fs';
import type { ReadContext, StreamContract, StreamDefinition, Window } from '../core/contracts.js';
import { EXIT, errorMessage } from '../core/errors.js';
import { addDays, isoDate, startOfUtcDay } from '../core/time.js';
import { createHttpClient } from '../http/client.js';
import { createSource } from '../engine/sources.js';
import { compareShape, type PointVerdict } from '../contract/compare.js';
import { ShapeObserver, type ObservedField } from '../contract/shape.js';
import { addToSample, emptySample, endDateVerdict, type ProbeSample } from '../contract/probe.js';
import { asSourceContract } from '../contract/types.js';
import { recordingHttp, type ObservedResponse, type RecordingHttp } from './check-contract-http.js';
import { type CommandContext, streamsOf } from './context.js';
import { formatReport } from './check-contract-output.js';

export interface CheckContractOptions {
  /** `source.stream` or bare stream names (default: every configured stream). */
  streams?: string[];
  /** Where to save the observed shape (default `exportsync-contract-observed.json`). */
  out?: string;
  now?: () => Date;
  /** Records read per probe window before it stops reading (default 100,000). */
  sampleCap?: number;
}

/** One stream's result, as printed and as saved (no data values). */
export interface StreamReport {
  stream: string;
  endpoint?: string;
  /** Windows read, `YYYY-MM-DD..YYYY-MM-DD` (half-open). */
  windows: string[];
  responses: ObservedResponse[];
  records: number;
  fields: ObservedField[];
  verdicts: PointVerdict[];
  /** The stream could not be read (the error message, redacted). */
  error?: string;
}

export const DEFAULT_OBSERVED_FILE = 'exportsync-contract-observed.json';

export async function checkContractCommand(
  ctx: CommandContext,
  opts: CheckContractOptions = {},
): Promise<number> {
  const selected = streamsOf(ctx, opts.streams); // config errors exit 2 before anything is contacted
  const now = opts.now ?? (() => new Date());
  const today = startOfUtcDay(now());
  const cap = opts.sampleCap ?? 100_000;
  const sources = new Map<number, { streams: StreamDefinition[]; http: RecordingHttp }>();
  const reports: StreamReport[] = [];
  for (const s of selected) {
    let probe = sources.get(s.sourceIndex);
    if (!probe) {
      // window_days 2: the two-day probe window is ONE request, as the contract's range semantics need
      const source = createSource(
        ctx.config.sources[s.sourceIndex]!,
        s.sourceIndex,
        { window_days: 2 },
        { tolerant: false },
      );
      const http = createHttpClient({
        log: ctx.log.child({ source: source.name }),
        retryAttempts: 2,
        retryMinDelayMs: ctx.config.sync.retry.min_delay_ms,
        retryMaxDelayMs: ctx.config.sync.retry.max_delay_ms,
        requestTimeoutMs: ctx.config.sync.request_timeout_ms,
        maxRequests: 200,
        userAgent: 'exportsync',
      });
      probe = { streams: source.streams, http: recordingHttp(http) };
      sources.set(s.sourceIndex, probe);
    }
    const stream = probe.streams.find((x) => x.name === s.stream.name) ?? s.stream;
    const key = `${s.source.name}.${s.stream.name}`;
    const log = ctx.log.child({ stream: key });
    reports.push(await checkStream(key, stream, { http: probe.http, log, today, cap }));
  }
  const out = opts.out ?? DEFAULT_OBSERVED_FILE;
  writeFileSync(
    out,
    `${JSON.stringify({ command: 'exportsync check --contract', checkedAt: now().toISOString(), streams: reports }, null, 2)}\n`,
  );
  const failing = reports.filter((r) => r.error !== undefined || r.verdicts.some((v) => v.corrupting));
  process.stdout.write(formatReport(reports, out));
  return failing.length > 0 ? EXIT.failed : EXIT.ok;
}

interface StreamProbe {
  http: RecordingHttp;
  log: ReadContext['log'];
  today: Date;
  cap: number;
}

const windowText = (w: Window): string => `${isoDate(w.from)}..${isoDate(w.to)}`;

export async function checkStream(
  key: string,
  stream: StreamDefinition,
  p: StreamProbe,
): Promise<StreamReport> {
  const report: StreamReport = {
    stream: key,
    windows: [],
    responses: [],
    records: 0,
    fields: [],
    verdicts: [],
  };
  const contract = stream.contract;
  if (!contract) {
    report.verdicts.push(unknown('contract', 'the stream has no contract file'));
    return report;
  }
  report.endpoint = contract.endpoint.value;
  if (stream.listUnits) {
    report.verdicts.push(
      unknown('contract', 'a file stream: its rows are checked on every run (first-page check)'),
    );
    return report;
  }
  const first = p.http.responses.length;
  const observer = new ShapeObserver(contract);
  const ctx: ReadContext = {
    http: p.http.http,
    log: p.log,
    signal: new AbortController().signal,
    batchRows: 1000,
  };
  const read = async (window: Window): Promise<ProbeSample> => {
    report.windows.push(windowText(window));
    const sample = emptySample();
    for await (const batch of stream.read(window, ctx)) {
      observer.add(batch);
      addToSample(sample, contract, batch);
      if (sample.records >= p.cap) {
        sample.truncated = true;
        break; // leaving the loop cancels the download
      }
    }
    return sample;
  };
  const day1 = addDays(p.today, -3);
  const day2 = addDays(p.today, -2);
  let endDate: PointVerdict | undefined;
  try {
    if (stream.writeMode === 'snapshot') {
      await read({ from: p.today, to: addDays(p.today, 1) });
    } else {
      const both = await read({ from: day1, to: addDays(day1, 2) });
      const w1 = await read({ from: day1, to: day2 });
      const w2 = await read({ from: day2, to: addDays(day2, 1) });
      endDate = endDateVerdict(contract, isoDate(day1), isoDate(day2), w1, w2, both);
    }
  } catch (err) {
    report.error = errorMessage(err);
  }
  report.responses = p.http.responses.slice(first);
  const shape = observer.shape();
  report.records = shape.records;
  report.fields = shape.fields;
  report.verdicts.push(requestVerdict(contract, report));
  report.verdicts.push(formatVerdict(contract, report.responses));
  if (report.error === undefined) {
    report.verdicts.push(...compareShape(contract, shape));
    if (endDate) report.verdicts.push(endDate);
  }
  return report;
}

function unknown(point: string, message: string): PointVerdict {
  return { point, verdict: 'could not tell', corrupting: false, message };
}

function requestVerdict(contract: StreamContract, report: StreamReport): PointVerdict {
  const base = {
    point: 'endpoint and auth',
    expected: `${contract.endpoint.value}; ${contract.auth.value}`,
    status: contract.auth.status,
    source: contract.auth.source,
  };
  const statuses = [...new Set(report.responses.map((r) => r.status))].join(', ');
  if (report.error !== undefined) {
    return {
      ...base,
      verdict: 'differs',
      corrupting: false,
      message: `could not read the stream: ${report.error}`,
    };
  }
  return {
    ...base,
    verdict: 'ok',
    corrupting: false,
    message: `${report.responses.length} answer(s): ${statuses || 'none'}`,
  };
}

function formatVerdict(contract: StreamContract, responses: ObservedResponse[]): PointVerdict {
  const c = asSourceContract(contract);
  const kind =
    contract.format.value === 'json-object'
      ? `json-object(${c.wrapper?.value ?? ''})`
      : contract.format.value;
  const expected = new Set([kind]);
  if (c.wrapper) expected.add(`json-object(${c.wrapper.value})`);
  if (c.params && 'format' in c.params) expected.add('csv');
  const seen = [...new Set(responses.filter((r) => r.status < 300 && r.body !== 'empty').map((r) => r.body))];
  const base = {
    point: 'format',
    expected: kind,
    status: contract.format.status,
    source: contract.format.source,
  };
  if (seen.length === 0)
    return { ...base, verdict: 'could not tell', corrupting: false, message: 'no body to look at' };
  const same = seen.every((s) => expected.has(s));
  const json = (s: string): boolean => s.startsWith('json');
  return {
    ...base,
    verdict: same ? 'ok' : 'differs',
    corrupting: false,
    message: same
      ? seen.join(', ')
      : `${seen.join(', ')}${seen.every(json) && json(kind) ? ' (read either way: a JSON array or an object wrapping one)' : ''}`,
  };
}
