/**
 * Summarises a `node --cpu-prof` profile of the sync child: self time by pipeline stage (from the
 * source file of each sampled function) and the top self-time functions.
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`, or summariseProfile() from first-load --profile.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Pipeline stage of a sampled function, by the file it lives in. */
export function stageOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle (waiting on Postgres / DuckDB / socket)';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8/native (program)';
  if (/csv-parse|src\/http\/csv(-split)?\.[jt]s/.test(url))
    return 'CSV parsing (src/http/csv.ts, csv-split.ts)';
  if (/src\/http\/csv-(scan|bytes)\.[jt]s/.test(url))
    return 'CSV pass-through reader (csv-scan.ts, csv-bytes.ts)';
  if (/src\/schema\/(csv-pass|canonical-bytes)/.test(url) || /src\/core\/bytes\.[jt]s/.test(url))
    return 'CSV pass-through writer (csv-pass*.ts, canonical-bytes*.ts, core/bytes.ts)';
  if (/src\/schema\//.test(url)) return 'mapper (src/schema)';
  if (/postgres-copy\.ts/.test(url)) return 'COPY encoding (postgres-copy.ts)';
  if (/src\/destinations\/duckdb|@duckdb/.test(url)) return 'DuckDB destination + binding';
  if (/node_modules\/(pg|pg-protocol|pg-copy-streams|pg-pool)\//.test(url)) return 'pg driver';
  if (/src\/http\/|_http_|node:http|undici|internal\/deps\/undici/.test(url)) return 'http (client, undici)';
  if (/node:internal\/(streams|webstreams)|node:stream/.test(url)) return 'node streams';
  if (/net|tls|stream_base/.test(url)) return 'sockets';
  if (/tsx|esbuild|node:internal\/modules/.test(url)) return 'start-up (module loading, tsx)';
  if (/pino|thread-stream/.test(url)) return 'logging';
  if (url === '') return `native / builtins`;
  return 'other';
}

const GENERIC = new Set(['native / builtins', 'other', 'node streams', 'sockets', 'V8/native (program)']);

/** Markdown tables: self time by stage, then the `top` functions. */
export function summariseProfile(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = (p.endTime - p.startTime) / 1000;

  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** Native and node-internal helpers (Buffer slicing, RegExp, streams) count for their caller's stage. */
  const stageFor = (id: number): string => {
    const own = byId.get(id)!.callFrame;
    const first = stageOf(own.url, own.functionName);
    if (!GENERIC.has(first)) return first;
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const cf = byId.get(up)!.callFrame;
      const st = stageOf(cf.url, cf.functionName);
      if (!GENERIC.has(st)) return st;
    }
    return first;
  };
  const stages = new Map<string, number>();
  const fns = new Map<string, { ms: number; stage: string }>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const stage = stageFor(id);
    stages.set(stage, (stages.get(stage) ?? 0) + us / 1000);
    const short = cf.url.replace(/^.*\/(node_modules|work\/main)\//, '').replace(/^file:\/\//, '');
    const key = `${cf.functionName || '(anonymous)'} ${short}${short ? `:${cf.lineNumber + 1}` : ''}`;
    const f = fns.get(`${key}\0${stage}`) ?? { ms: 0, stage };
    f.ms += us / 1000;
    fns.set(`${key}\0${stage}`, f);
  }
  const pct = (ms: number): string => `${((ms / total) * 100).toFixed(1)}%`;
  const lines = [
    `profile ${file}: ${(total / 1000).toFixed(1)} s wall`,
    '',
    '| stage (native helpers charged to their caller) | self s | share |',
    '| --- | --- | --- |',
  ];
  for (const [s, ms] of [...stages].sort((a, b) => b[1] - a[1]))
    lines.push(`| ${s} | ${(ms / 1000).toFixed(2)} | ${pct(ms)} |`);
  lines.push('', '| function (file:line) | stage | self s | share |', '| --- | --- | --- | --- |');
  for (const [k, f] of [...fns].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    lines.push(`| \`${k.split('\0')[0]}\` | ${f.stage} | ${(f.ms / 1000).toFixed(2)} | ${pct(f.ms)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts') && process.argv[2]) {
  process.stdout.write(`${summariseProfile(process.argv[2], Number(process.argv[3] ?? 25))}\n`);
}
