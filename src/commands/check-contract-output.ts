/**
 * The text `check --contract` prints: per stream a heading, then one line per point,
 *   ok              field id (key): present, 72 values parse as string
 *   differs         field time: format: YYYY-MM-DD HH:MM:SS ×72 (still parses) — contract YYYY-MM-DDTHH:MM:SS.sssZ (assumed: …)
 *   DIFFERS         end date: … — would lose or double data
 *   could not tell  field pixel: present, but empty in all 72 records
 * and a last line with the counts and the file the observed shape was saved to.
 */
import type { PointVerdict } from '../contract/compare.js';
import type { StreamReport } from './check-contract.js';

const LABEL = 16;

export function verdictLine(v: PointVerdict): string {
  const label = v.corrupting ? 'DIFFERS' : v.verdict;
  let line = `  ${label.padEnd(LABEL)}${v.point}: ${v.message}`;
  if (v.verdict === 'differs' && v.expected !== undefined) {
    line += ` — contract: ${v.expected}${v.status ? ` (${v.status}: ${v.source})` : ''}`;
  }
  if (v.corrupting) line += ' — would lose or double data';
  return `${line}\n`;
}

export function formatReport(reports: StreamReport[], out: string): string {
  let text = '';
  let differs = 0;
  let corrupting = 0;
  let unreadable = 0;
  for (const r of reports) {
    const requests = r.responses.length;
    text += `${r.stream}${r.endpoint ? `  ${r.endpoint}` : ''}  (${requests} request${requests === 1 ? '' : 's'}, ${r.records} record${r.records === 1 ? '' : 's'}${r.windows.length > 0 ? `, windows ${r.windows.join(' ')}` : ''})\n`;
    for (const v of r.verdicts) {
      text += verdictLine(v);
      if (v.verdict === 'differs') differs++;
      if (v.corrupting) corrupting++;
    }
    if (r.error !== undefined) unreadable++;
  }
  const parts = [`${differs} point(s) differ`];
  if (corrupting > 0) parts.push(`${corrupting} would lose or double data`);
  if (unreadable > 0) parts.push(`${unreadable} stream(s) could not be read`);
  text += `${parts.join(', ')}; observed shape (no data values) saved to ${out}\n`;
  return text;
}
