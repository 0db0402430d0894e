/**
 * The bad-input corpus (test/corpus/<connector>/<behaviour>.<ext>, plus the large inputs of
 * test/corpus/generate.ts) served by a tiny local HTTP server in place of the source, through a
 * real run into a real destination. Every input must end one of two ways:
 *   - kept: the run succeeds and every record the input holds is a row (typed, or its raw text
 *     in `_extra`), with the case's own checks on the values;
 *   - a clear error: the run fails, the message names the line or record, carries no stack trace,
 *     and nothing of the window is committed.
 * Never a silent drop, never a crash.
 *
 * `behindSample` runs each kept Scarf CSV case again with SAMPLE_RECORDS filler records before its
 * own, so those take the CSV pass-through's byte path (the plain inputs are all inside the sample):
 * the same rows, the case's checks, and every cell equal to the plain run's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { SAMPLE_RECORDS } from '../../src/http/csv-bytes.js';
import { runOnce, tableExists, type Target } from '../e2e/harness.js';
import { count, expectThat, newReport, timed, type SuiteReport } from './common.js';
import type { ChaosDestination } from './destinations.js';
import { CORPUS_CASES, type CorpusCase, type Outcome } from './corpus-cases.js';

const CORPUS = join(import.meta.dirname, '..', 'corpus');
const NOW = new Date('2026-11-25T12:00:00Z');
const TOKEN = 'corpus-token';

/** Serves one body (with its content type) for every request, whatever the path. */
async function fixtureServer(): Promise<{
  url: string;
  serve(body: Buffer, type: string): void;
  close(): Promise<void>;
}> {
  let current: { body: Buffer; type: string } = { body: Buffer.alloc(0), type: 'text/plain' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': current.type, 'content-length': current.body.length });
    res.end(current.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (body, type) => (current = { body, type }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function sourceYaml(c: CorpusCase, url: string): string {
  if (c.connector === 'scarf')
    return `  - type: scarf\n    owner: acme\n    token: ${TOKEN}\n    base_url: ${url}\n`;
  const stream = c.connector === 'replicated-events' ? 'instance_events' : 'customer_instances';
  return `  - type: replicated\n    app_id: app1\n    token: ${TOKEN}\n    base_url: ${url}\n    streams: [${stream}]\n`;
}

export const TABLE_OF: Record<CorpusCase['connector'], string> = {
  scarf: 'scarf_events',
  'replicated-events': 'replicated_instance_events',
  'replicated-instances': 'replicated_customer_instances',
};

/**
 * Cases that fail behind the sample only (the plain case passes): a CSV pass-through bug, run alone
 * as `it.fails` by corpus.test.ts, naming the bug. Empty while none is known.
 */
export const BEHIND_SAMPLE_BUGS: Record<string, string> = {};

const FILLER_PREFIX = 'f1ll3r00-0000-4000-8000-';
/** Inside the run's window: backfill_days 1 ending with NOW's day. */
const FILLER_TIME = '2026-11-25T06:00:00.000Z';
const quoteId = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * `body` with SAMPLE_RECORDS filler records right after its header record (same line ending), so
 * that the case's own records come after the sample and reach the CSV pass-through's byte path;
 * or why it cannot be padded safely. A filler has a unique id, a `time` inside the window and every
 * other field empty. Wrong here (a filler misaligned with the header, a line ending the body does
 * not use) and the case's records would be judged on an input that is not theirs.
 */
export function behindTheSample(body: Buffer): Buffer | string {
  let quoted = false;
  let end = -1;
  for (let i = 0; i < body.length && end < 0; i++) {
    if (body[i] === 0x22) quoted = !quoted;
    else if (body[i] === 0x0d && !quoted && body[i + 1] !== 0x0a) return 'a bare CR ends the header';
    else if (body[i] === 0x0a && !quoted) end = i + 1;
  }
  if (end < 0) return 'no line ending after the header';
  const eol = end >= 2 && body[end - 2] === 0x0d ? '\r\n' : '\n';
  const header = body
    .subarray(0, end - eol.length)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const names: string[] = [];
  let seen = '';
  for (const m of header.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,"]*)(?=,|$)/g)) {
    const f = m[1] ?? '';
    seen += m[0];
    names.push(f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f);
  }
  if (seen !== header) return 'a header the filler cannot be aligned to';
  if (!names.includes('id') || !names.includes('time')) return 'the header lacks id or time';
  const lines: string[] = [];
  for (let i = 1; i <= SAMPLE_RECORDS; i++) {
    const id = `${FILLER_PREFIX}${String(i).padStart(12, '0')}`;
    lines.push(names.map((n) => (n === 'id' ? id : n === 'time' ? FILLER_TIME : '')).join(',') + eol);
  }
  return Buffer.concat([body.subarray(0, end), Buffer.from(lines.join('')), body.subarray(end)]);
}

/** The target as the case's own check must see it: its table without the filler rows. */
function withoutFillers(t: Target, table: string): Target {
  return {
    ...t,
    table: (name?: string) =>
      name === table
        ? `(SELECT * FROM ${t.table(name)} WHERE CAST(id AS VARCHAR) NOT LIKE '${FILLER_PREFIX}%') AS case_rows`
        : t.table(name),
  };
}

/** Every data cell of the case's rows as text, ordered by id, and the filler count. */
async function cells(
  t: Target,
  table: string,
): Promise<{ cols: string[]; rows: Array<Record<string, string | null>>; fillers: number }> {
  const schema = t.table().split('.')[0]?.replace(/"/g, '') ?? '';
  const cols = (
    await t.query<{ c: string }>(
      'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name',
      [schema, table],
    )
  )
    .map((r) => r.c)
    .filter((c) => !c.startsWith('_exportsync_'));
  const select = cols.map((c) => `CAST(${quoteId(c)} AS VARCHAR) AS ${quoteId(c)}`).join(', ');
  const all = await t.query<Record<string, string | null>>(
    `SELECT ${select} FROM ${t.table(table)} ORDER BY CAST(id AS VARCHAR)`,
  );
  const mine = all.filter((r) => !String(r.id).startsWith(FILLER_PREFIX));
  return { cols, rows: mine, fillers: all.length - mine.length };
}

type Ran = { t: Target; table: string; outcome: Outcome };

/** The case's rows behind the sample hold exactly the plain run's values (every column, as text). */
async function sameAsPlain(plain: Ran, behind: Ran): Promise<string[]> {
  if (plain.outcome.status !== 'ok') return [`the plain run ${plain.outcome.status}: nothing to compare`];
  const a = await cells(plain.t, plain.table);
  const b = await cells(behind.t, behind.table);
  const p: string[] = [];
  if (b.fillers !== SAMPLE_RECORDS) p.push(`${b.fillers} filler rows, not ${SAMPLE_RECORDS}`);
  if (a.cols.join() !== b.cols.join()) p.push(`columns ${b.cols.join()}, the plain run has ${a.cols.join()}`);
  if (a.rows.length !== b.rows.length)
    p.push(`${b.rows.length} case rows, the plain run has ${a.rows.length}`);
  for (let i = 0; i < Math.min(a.rows.length, b.rows.length); i++)
    for (const c of a.cols) {
      const [want, got] = [a.rows[i]?.[c] ?? null, b.rows[i]?.[c] ?? null];
      if (want !== got)
        p.push(
          `row id ${b.rows[i]?.id}, column ${c}: ${JSON.stringify(got)?.slice(0, 200)}, ` +
            `the plain run has ${JSON.stringify(want)?.slice(0, 200)}`,
        );
    }
  return p;
}

/** Every fixture file must have a case (a new file without expectations would test nothing). */
export function fixturesWithoutCase(): string[] {
  const names = new Set(CORPUS_CASES.map((c) => c.file).filter(Boolean));
  const missing: string[] = [];
  for (const dir of ['scarf-events', 'replicated-events', 'replicated-instances'])
    for (const f of readdirSync(join(CORPUS, dir)))
      if (!names.has(`${dir}/${f}`)) missing.push(`${dir}/${f}`);
  return missing;
}

export async function corpusSuite(o: {
  destination: ChaosDestination;
  only?: string[];
  /** Each kept Scarf CSV case again, behind SAMPLE_RECORDS filler records (see behindTheSample). */
  behindSample?: boolean;
}): Promise<SuiteReport> {
  const report = newReport(
    o.behindSample ? 'bad input corpus behind the sample' : 'bad input corpus',
    o.destination.name,
  );
  const backend = o.destination.backend();
  const server = await fixtureServer();
  /** One run of `body` as case `c` into a fresh target. */
  const run = async (c: CorpusCase, body: Buffer) => {
    const t = backend.target();
    server.serve(body, c.contentType);
    const yaml =
      `destination: ${t.destinationYaml}\n` +
      `sync: { backfill_days: 1, window_attempts: 1, retry: { attempts: 1 } }\nsources:\n${sourceYaml(c, server.url)}`;
    const summary = await runOnce(parseConfig(yaml, '<corpus>', {}), { now: () => NOW });
    const stream = summary.streams[0];
    const table = TABLE_OF[c.connector];
    const rows = (await tableExists(t, table))
      ? Number(
          (await t.query<{ n: number }>(`SELECT CAST(count(*) AS INTEGER) AS n FROM ${t.table(table)}`))[0]
            ?.n,
        )
      : 0;
    const outcome: Outcome = { status: stream?.status ?? 'missing', error: stream?.error, rows };
    return { t, table, outcome, encoded: stream?.encoded ?? 0 };
  };
  return timed(report, async () => {
    try {
      for (const f of fixturesWithoutCase())
        expectThat(report, false, `fixture ${f} has no case in corpus-cases.ts`);
      const bugs = o.behindSample ? BEHIND_SAMPLE_BUGS : {};
      const cases = CORPUS_CASES.filter((x) =>
        o.only ? o.only.includes(x.name) : !x.knownBug && !(x.name in bugs),
      );
      count(report, 'known bugs (run alone as it.fails)', o.only ? 0 : CORPUS_CASES.length - cases.length);
      for (const c of cases) {
        const body = c.file ? readFileSync(join(CORPUS, c.file)) : (c.generate as () => Buffer)();
        if (o.behindSample) {
          if (c.connector !== 'scarf' || !c.contentType.startsWith('text/csv') || c.expect !== 'kept')
            continue;
          const padded = behindTheSample(body);
          if (typeof padded === 'string') {
            count(report, 'inputs skipped');
            report.notes.push(`${c.name}: skipped, ${padded}`);
            continue;
          }
          const plain = await run(c, body);
          const r = await run(c, padded);
          count(report, 'inputs tried');
          count(report, 'case rows by the byte path', Math.max(0, r.encoded));
          report.notes.push(
            `${c.name} (behind the sample): ${r.outcome.status}, ${r.outcome.rows} row(s), ${r.encoded} encoded` +
              `${r.outcome.error ? `: ${r.outcome.error.slice(0, 600)}` : ''}`,
          );
          const behind: CorpusCase = {
            ...c,
            name: `${c.name} (behind the sample)`,
            records: c.records + SAMPLE_RECORDS,
            check: async (t, table) => [
              ...((await c.check?.(withoutFillers(t, table), table)) ?? []),
              ...(r.outcome.status === 'ok' ? await sameAsPlain(plain, r) : []),
            ],
          };
          await judge(report, behind, r.outcome, r.t, r.table);
          continue;
        }
        const r = await run(c, body);
        count(report, 'inputs tried');
        report.notes.push(
          `${c.name}: ${r.outcome.status}, ${r.outcome.rows} row(s)${r.outcome.error ? `: ${r.outcome.error.slice(0, 600)}` : ''}`,
        );
        await judge(report, c, r.outcome, r.t, r.table);
      }
    } finally {
      await server.close();
      await backend.cleanup();
    }
  });
}

async function judge(
  report: SuiteReport,
  c: CorpusCase,
  o: Outcome,
  t: Target,
  table: string,
): Promise<void> {
  const name = c.name;
  if (o.error !== undefined) {
    expectThat(
      report,
      !/\n\s+at \S+ \(/.test(o.error) && o.error.trim() !== '',
      `${name}: error without a stack trace`,
    );
    expectThat(report, !o.error.includes(TOKEN), `${name}: error without the token`);
  }
  if (o.status === 'ok') {
    count(report, 'inputs kept');
    expectThat(
      report,
      c.expect !== 'error',
      `${name}: expected a clear error, the run succeeded with ${o.rows} row(s)`,
    );
    if (c.expect === 'error') return;
    report.rowsLost += Math.max(0, c.records - o.rows);
    expectThat(report, o.rows === c.records, `${name}: every record kept (${o.rows} of ${c.records})`);
    for (const problem of (await c.check?.(t, table)) ?? []) expectThat(report, false, `${name}: ${problem}`);
  } else {
    count(report, 'inputs refused with an error');
    expectThat(
      report,
      c.expect !== 'kept',
      `${name}: expected the data kept, the run ${o.status}: ${o.error}`,
    );
    if (c.expect === 'kept') return;
    expectThat(report, o.rows === 0, `${name}: nothing of the failed window committed (${o.rows} rows)`);
    if (c.errorNames)
      expectThat(
        report,
        c.errorNames.test(o.error ?? ''),
        `${name}: the error names ${c.errorNames} (got "${o.error}")`,
      );
  }
}
