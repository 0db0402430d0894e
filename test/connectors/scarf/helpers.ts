import { parse } from 'csv-parse/sync';
import type { ScarfSimulator } from '../../../connectors/scarf/simulator.js';

export const TOKEN = 'scarf-test-token';

/** GET /v2/packages/{owner}/events with plain fetch. */
export function getEvents(
  sim: ScarfSimulator,
  startDate: string,
  endDate: string,
  options: { owner?: string; token?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const query = new URLSearchParams({ start_date: startDate, end_date: endDate });
  return fetch(`${sim.url}/v2/packages/${options.owner ?? 'acme'}/events?${query.toString()}`, { headers });
}

/** Parses a whole CSV body into header + records (strings). */
export function parseCsv(text: string): { header: string[]; records: string[][] } {
  const rows = parse(text, { relax_column_count: false }) as string[][];
  return { header: rows[0] ?? [], records: rows.slice(1) };
}
