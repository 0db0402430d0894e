/**
 * Summarises a V8 heap snapshot (as written by bench/memory-trace.ts with --snapshot-mb): live
 * bytes and object counts by node type and name (strings by kind: flat, sliced, cons), largest
 * first. A snapshot holds only live objects (V8 collects before writing), so this is what a phase
 * really retains, not the garbage the old space carries until its next mark-compact.
 *
 *   npx tsx bench/memory-heap.ts FILE.heapsnapshot [--top 25]
 * Needs the snapshot to fit in one JS string (< 512 MB of JSON).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: memory-heap.ts FILE.heapsnapshot [--top N]');
const at = process.argv.indexOf('--top');
const top = at > 0 ? Number(process.argv[at + 1]) : 25;
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const [fType, fName, fSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
  number,
  number,
  number,
];

const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
let nodes = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + fType]!] ?? '?';
  const size = snap.nodes[i + fSize]!;
  // strings are grouped by kind and length bucket, not by their (millions of distinct) values
  let key: string;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    const len = (snap.strings[snap.nodes[i + fName]!] ?? '').length;
    key = `${type} (${len < 13 ? 'len<13' : len < 64 ? 'len 13–63' : len < 1024 ? 'len 64–1023' : 'len≥1024'})`;
  } else if (type === 'array' || type === 'hidden' || type === 'code') {
    key = `${type} ${snap.strings[snap.nodes[i + fName]!]}`;
  } else {
    key = `${type} ${snap.strings[snap.nodes[i + fName]!]}`.slice(0, 80);
  }
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
  total += size;
  nodes++;
}
const MB = 1024 * 1024;
const rows = [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
process.stdout.write(
  `${file}: ${nodes.toLocaleString('en-US')} nodes, ${(total / MB).toFixed(1)} MB self size\n\n`,
);
process.stdout.write('| what | count | MB | bytes each |\n| --- | --- | --- | --- |\n');
for (const [key, g] of rows) {
  process.stdout.write(
    `| ${key.replace(/\|/g, '\\|')} | ${g.count.toLocaleString('en-US')} | ${(g.bytes / MB).toFixed(1)} | ${(g.bytes / g.count).toFixed(0)} |\n`,
  );
}
