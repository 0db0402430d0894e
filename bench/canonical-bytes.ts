/**
 * Micro-benchmark of the timestamp byte path (src/schema/canonical-bytes.ts) against the string
 * path it mirrors: `npx tsx bench/canonical-bytes.ts [count] [repeat]` (default 1,000,000 × 3).
 * Inputs are the common export forms, packed into one byte array as a response body would be.
 * Timed: bytes → canonical bytes in a ByteBuffer; canonicalize('timestamp', s) on ready-made JS
 * strings (the mapper's cost alone); and the same plus encoding its result into a buffer (what the
 * string path costs to reach the same bytes, still without decoding the body into strings).
 */
import { performance } from 'node:perf_hooks';
import { ByteBuffer } from '../src/core/bytes.js';
import { fixedByteCanonicalizer, type ByteCanonicalizer } from '../src/schema/canonical-bytes.js';
import { canonicalize } from '../src/schema/types.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const REPEAT = Number(process.argv[3] ?? 3);

const FORMS = ['', 'Z', '.123Z', '.123456Z', '+00:00', '.5+05:30'];
const pad = (n: number): string => String(n).padStart(2, '0');
const texts: string[] = [];
for (let i = 0; i < COUNT; i++) {
  const sep = i % 2 === 0 ? 'T' : ' ';
  const time = `${pad(i % 24)}:${pad(i % 60)}:${pad((i * 7) % 60)}`;
  texts.push(`2024-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}${sep}${time}${FORMS[i % FORMS.length]}`);
}
const body = Buffer.from(texts.join(','));
const starts = new Int32Array(COUNT);
const ends = new Int32Array(COUNT);
for (let i = 0, p = 0; i < COUNT; i++) {
  starts[i] = p;
  ends[i] = p + (texts[i] as string).length;
  p = (ends[i] as number) + 1;
}

const fn = fixedByteCanonicalizer('timestamp') as ByteCanonicalizer;

function bytePath(): number {
  const out = new ByteBuffer(1 << 20);
  let ok = 0;
  for (let i = 0; i < COUNT; i++) {
    if (fn(body, starts[i] as number, ends[i] as number, out)) ok++;
    if (out.length > 1 << 19) out.length = 0;
  }
  return ok;
}

function stringPath(): number {
  let ok = 0;
  for (let i = 0; i < COUNT; i++) if (typeof canonicalize('timestamp', texts[i]) === 'string') ok++;
  return ok;
}

function stringPathEncoded(): number {
  const out = new ByteBuffer(1 << 20);
  const encoder = new TextEncoder();
  let ok = 0;
  for (let i = 0; i < COUNT; i++) {
    const c = canonicalize('timestamp', texts[i]);
    if (typeof c !== 'string') continue;
    const buf = out.reserve(c.length * 3);
    out.length += encoder.encodeInto(c, buf.subarray(out.length)).written;
    ok++;
    if (out.length > 1 << 19) out.length = 0;
  }
  return ok;
}

function time(name: string, run: () => number): void {
  let best = Infinity;
  let ok = 0;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    ok = run();
    best = Math.min(best, performance.now() - t0);
  }
  const ns = (best * 1e6) / COUNT;
  console.log(`${name.padEnd(42)} ${best.toFixed(1).padStart(8)} ms  ${ns.toFixed(1)} ns/value  (${ok} ok)`);
}

console.log(`${COUNT} timestamps, best of ${REPEAT}`);
time('byte path (fixedByteCanonicalizer)', bytePath);
time("canonicalize('timestamp', s)", stringPath);
time('canonicalize + encodeInto', stringPathEncoded);
