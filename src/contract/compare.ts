/**
 * Contract vs observed shape → one verdict per point. The same comparison serves the run's
 * first-page check (drift.ts: corrupting points fail the stream, others warn once) and
 * `check --contract` (every point printed and saved).
 *
 * A point is `corrupting` when loading anyway would lose or double data: the key or the cursor
 * field missing, always empty, or not parsing as its type. Everything else (an extra field, an
 * optional field absent, another timestamp format that still parses, another spelling) is
 * tolerated: reported, never fatal.
 */
import type { StreamContract } from '../core/contracts.js';
import { hasZone } from './formats.js';
import { contractFieldOf, fold, type ObservedField, type ObservedShape } from './shape.js';
import { asSourceContract } from './types.js';

export type Verdict = 'ok' | 'differs' | 'could not tell';

export interface PointVerdict {
  /** What is compared: `field time`, `field time: format`, `extra fields`, `end date`, `format`. */
  point: string;
  verdict: Verdict;
  /** A `differs` that would lose or double data if loaded. */
  corrupting: boolean;
  /** The contract's value, and how sure we were of it. */
  expected?: string;
  status?: 'confirmed' | 'assumed';
  source?: string;
  /** What was seen (shapes and counts, never data values). */
  message: string;
  /** The contract field the point is about (field points). */
  field?: string;
  /** The response fields the contract does not name (the `extra fields` point). */
  extra?: string[];
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

function list(map: Record<string, number>): string {
  return Object.entries(map)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
}

/** The fields whose loss or misreading would lose or double data: key parts and the cursor. */
export function criticalFields(contract: StreamContract): Set<string> {
  const c = asSourceContract(contract);
  const names = [...contract.key.value, ...(c.cursor ? [c.cursor.value] : [])];
  return new Set(names.map(fold));
}

export function compareShape(contract: StreamContract, shape: ObservedShape): PointVerdict[] {
  const c = asSourceContract(contract);
  const critical = criticalFields(contract);
  const computed = new Set((c.computed ?? []).map(fold));
  const optional = new Set((c.optional ?? []).map(fold));
  const out: PointVerdict[] = [];
  const matched = new Map<string, ObservedField>();
  for (const f of shape.fields) {
    const name = contractFieldOf(contract, f.name);
    if (name !== undefined && !matched.has(name)) matched.set(name, f);
  }

  for (const [name, point] of Object.entries(contract.fields)) {
    if (computed.has(fold(name))) continue;
    const isCritical = critical.has(fold(name));
    const role = contract.key.value.some((k) => fold(k) === fold(name))
      ? ' (key)'
      : isCritical
        ? ' (cursor)'
        : '';
    const base = {
      point: `field ${name}${role}`,
      field: name,
      expected: point.value,
      status: point.status,
      source: point.source,
    };
    const f = matched.get(name);
    if (!f) {
      if (shape.records === 0) {
        out.push({
          ...base,
          verdict: 'could not tell',
          corrupting: false,
          message: 'no records in the sample',
        });
      } else if (optional.has(fold(name)) && !isCritical) {
        out.push({
          ...base,
          verdict: 'could not tell',
          corrupting: false,
          message: 'absent from the sample (optional: present only for some records)',
        });
      } else {
        out.push({
          ...base,
          verdict: 'differs',
          corrupting: isCritical,
          message: isCritical
            ? 'missing from the response: rows could not be keyed or windowed'
            : 'missing from the response: its column would stay empty (renamed? look at the extra fields)',
        });
      }
      continue;
    }
    const as = f.name === name ? '' : ` (as ${f.name})`;
    if (f.values === 0) {
      out.push({
        ...base,
        verdict: isCritical ? 'differs' : 'could not tell',
        corrupting: isCritical,
        message: `present${as}, but empty in all ${count(shape.records, 'record')}`,
      });
      continue;
    }
    if (f.misfits > 0) {
      out.push({
        ...base,
        verdict: 'differs',
        corrupting: isCritical,
        message: `${f.misfits} of ${f.values} values${as} do not parse as ${point.value} (seen: ${list(f.misfitFormats)})${
          f.misfitLines.length > 0 ? `, first at line/record ${f.misfitLines.join(', ')}` : ''
        }${isCritical ? '' : '; they are kept in _extra'}`,
      });
    } else {
      out.push({
        ...base,
        verdict: 'ok',
        corrupting: false,
        message: `present${as}, ${count(f.values, 'value')} parse as ${point.value}`,
      });
    }
    const format = c.formats?.[name];
    const seen = Object.keys(f.formats);
    if (format && seen.length > 0) {
      const same = seen.length === 1 && seen[0] === format.value;
      const zoneLost = hasZone(format.value) && seen.some((s) => /^YYYY-MM-DD./.test(s) && !hasZone(s));
      out.push({
        point: `field ${name}: format`,
        field: name,
        expected: format.value,
        status: format.status,
        source: format.source,
        verdict: same ? 'ok' : 'differs',
        corrupting: false,
        message: same
          ? format.value
          : `${list(f.formats)}${f.misfits === 0 ? ' (still parses)' : ''}${
              zoneLost ? '; without a zone the time is read as UTC' : ''
            }`,
      });
    }
  }

  const dynamic = c.dynamic ?? [];
  const extra = shape.fields.filter(
    (f) =>
      contractFieldOf(contract, f.name) === undefined &&
      !computed.has(fold(f.name)) &&
      !dynamic.some((prefix) => f.name.startsWith(prefix)),
  );
  out.push({
    point: 'extra fields',
    extra: extra.map((f) => f.name),
    verdict: extra.length === 0 ? 'ok' : 'differs',
    corrupting: false,
    message:
      extra.length === 0
        ? 'none'
        : `${count(extra.length, 'field')} the contract does not name: ${extra.map((f) => f.name).join(', ')} (kept: each becomes a column, or goes to _extra)`,
  });
  return out;
}

/** Missing and extra field names of a comparison (for logs). */
export function missingAndExtra(verdicts: PointVerdict[]): { missing: string[]; extra: string[] } {
  return {
    missing: verdicts
      .filter((v) => v.verdict === 'differs' && v.field !== undefined && v.message.startsWith('missing'))
      .map((v) => v.field as string),
    extra: verdicts.find((v) => v.point === 'extra fields')?.extra ?? [],
  };
}
