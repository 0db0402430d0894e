#!/usr/bin/env node
// In a source checkout (src/cli.ts present, dev dependencies installed) this runs the TypeScript
// source through tsx, so a stale dist/ can never run old code. In the production image there is no
// src/ and no tsx: it runs the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli.ts');
const compiled = join(root, 'dist', 'src', 'cli.js');

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return null;
  }
}

const tsx = existsSync(source) ? await loadTsx() : null;
if (tsx) {
  tsx.register();
  await import(pathToFileURL(source).href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write(
    'exportsync: neither the source with tsx nor a build in dist/ was found (run npm ci, or npm run build)\n',
  );
  process.exitCode = 1;
}
