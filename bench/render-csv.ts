/**
 * Pre-renders the Scarf simulator's rows to one CSV file per UTC day (and one concatenated file
 * with a single header, for the raw-load limits), so the benchmark measures the pipeline and not
 * the simulator (~140k rows/s, slower than the sync). Files are cached under os.tmpdir() by
 * (rows, days, last day, seed): the same arguments on the same day reuse them.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScarfSimulator } from '../connectors/scarf/simulator.js';
import { csvLine } from '../connectors/scarf/simulator-data.js';
import { addDays, isoDate, startOfUtcDay } from '../src/core/time.js';

export interface RenderedDays {
  dir: string;
  /** YYYY-MM-DD → CSV file (header + that day's rows). */
  files: Map<string, string>;
  /** All days' rows under one header. */
  combined: string;
  header: string[];
  rows: number;
  bytes: number;
}

/** `days` UTC days ending with the day of `now`, `rows / days` events each (all visible). */
export async function renderDays(
  rows: number,
  days: number,
  now = new Date(),
  seed = 'bench',
): Promise<RenderedDays> {
  const today = startOfUtcDay(now);
  const perDay = Math.ceil(rows / days);
  const dayList = Array.from({ length: days }, (_, i) => isoDate(addDays(today, i - days + 1)));
  const dir = join(tmpdir(), `exportsync-bench-${seed}-${rows}-${days}-${dayList[days - 1]}`);
  mkdirSync(dir, { recursive: true });
  const files = new Map(dayList.map((d) => [d, join(dir, `${d}.csv`)] as const));
  const combined = join(dir, 'all.csv');
  // The simulator only as a row generator: its server is never asked.
  const sim = await startScarfSimulator({ seed, today, eventsPerDay: perDay });
  let header: string[];
  try {
    if (!existsSync(combined)) {
      const all = createWriteStream(`${combined}.part`);
      const flush = async (out: WriteStream, text: string): Promise<void> => {
        if (!out.write(text)) await once(out, 'drain');
      };
      for (const [day, file] of files) {
        const out = createWriteStream(`${file}.part`);
        const gen = sim.rows(day, day);
        const head = csvLine(gen.next().value as string[]);
        await flush(out, head);
        if (day === dayList[0]) await flush(all, head);
        let chunk = '';
        for (const fields of gen) {
          chunk += csvLine(fields);
          if (chunk.length < 1 << 20) continue;
          await flush(out, chunk);
          await flush(all, chunk);
          chunk = '';
        }
        await flush(out, chunk);
        await flush(all, chunk);
        out.end();
        await once(out, 'finish');
        renameSync(`${file}.part`, file);
      }
      all.end();
      await once(all, 'finish');
      renameSync(`${combined}.part`, combined);
    }
    header = sim.rows(dayList[0] as string, dayList[0] as string).next().value as string[];
  } finally {
    await sim.close();
  }
  return { dir, files, combined, header, rows: perDay * days, bytes: statSync(combined).size };
}
