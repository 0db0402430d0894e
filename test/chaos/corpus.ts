/**
 * The bad-input corpus (test/corpus/<connector>/<behaviour>.<ext>, plus the large inputs of
 * test/corpus/generate.ts) served by a tiny local HTTP server in place of the source, through a
 * real run into a real destination. Every input must end one of two ways:
 *   - kept: the run succeeds and every record the input holds is a row (typed, or its raw text
 *     in `_extra`), with the case's own checks on the values;
 *   - a clear error: the run fails, the message names the line or record, carries no stack trace,
 *     and nothing of the window is committed.
 * Never a silent drop, never a crash.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
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
}): Promise<SuiteReport> {
  const report = newReport('bad input corpus', o.destination.name);
  const backend = o.destination.backend();
  const server = await fixtureServer();
  return timed(report, async () => {
    try {
      for (const f of fixturesWithoutCase())
        expectThat(report, false, `fixture ${f} has no case in corpus-cases.ts`);
      const cases = CORPUS_CASES.filter((x) => (o.only ? o.only.includes(x.name) : !x.knownBug));
      count(report, 'known bugs (run alone as it.fails)', o.only ? 0 : CORPUS_CASES.length - cases.length);
      for (const c of cases) {
        const t = backend.target();
        const body = c.file ? readFileSync(join(CORPUS, c.file)) : (c.generate as () => Buffer)();
        server.serve(body, c.contentType);
        const yaml =
          `destination: ${t.destinationYaml}\n` +
          `sync: { backfill_days: 1, window_attempts: 1, retry: { attempts: 1 } }\nsources:\n${sourceYaml(c, server.url)}`;
        const summary = await runOnce(parseConfig(yaml, '<corpus>', {}), { now: () => NOW });
        const stream = summary.streams[0];
        const table = TABLE_OF[c.connector];
        const rows = (await tableExists(t, table))
          ? Number(
              (
                await t.query<{ n: number }>(`SELECT CAST(count(*) AS INTEGER) AS n FROM ${t.table(table)}`)
              )[0]?.n,
            )
          : 0;
        const outcome: Outcome = { status: stream?.status ?? 'missing', error: stream?.error, rows };
        count(report, 'inputs tried');
        report.notes.push(
          `${c.name}: ${outcome.status}, ${rows} row(s)${outcome.error ? `: ${outcome.error.slice(0, 600)}` : ''}`,
        );
        await judge(report, c, outcome, t, table);
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
