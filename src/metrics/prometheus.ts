/**
 * Prometheus text exposition format 0.0.4 (what node_exporter's textfile collector and the
 * Pushgateway read): `# HELP`, `# TYPE`, then one `name{label="value"} number` line per series.
 * Label values are escaped (backslash, double quote, newline): an unescaped quote in a stream name
 * would make the collector reject the WHOLE file, and every metric in it would vanish at once.
 * Written by hand rather than with prom-client: a batch job needs no registry or HTTP server,
 * only these ~60 lines.
 */

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** The whole exposition text; families in the given order, ending with a newline. */
export function formatExposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Samples of a previous exposition (only what `formatExposition` writes: no timestamps, no
 * exemplars). Unparsable lines are skipped: a damaged file must not stop the run.
 */
export function parseExposition(text: string): Array<{ name: string; labels: Labels; value: number }> {
  const out: Array<{ name: string; labels: Labels; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    const labelText = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = re.exec(labelText); l; l = re.exec(labelText)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(n|\\|")/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      );
    }
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (!Number.isNaN(value) || m[3] === 'NaN') out.push({ name: m[1] as string, labels, value });
  }
  return out;
}
