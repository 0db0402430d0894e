/**
 * The textfile for node_exporter's textfile collector, replaced atomically: the text is written
 * to a hidden temp file in the same directory (the collector reads only `*.prom`, so it never sees
 * the temp file) and renamed over the target. A scrape therefore reads either the previous run's
 * file or this run's, never a half-written one (which the collector would reject whole, or worse,
 * read with series missing).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeTextfileAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync(); // the rename must not become durable before the content
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** The previous file's text, or null when there is none (first run) or it cannot be read. */
export async function readTextfile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
