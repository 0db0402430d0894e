/**
 * The `check` registration (registerCheckCommand) parses --contract, --streams and --out the way
 * cli.ts will once it calls it, and refuses --streams/--out without --contract.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { registerCheckCommand } from '../../src/commands/check.js';
import { exitCodeFor } from '../../src/commands/context.js';
import { EXIT } from '../../src/core/errors.js';
import { SCARF_TOKEN, tempDir } from './helpers.js';

const dir = tempDir();
let sim: ScarfSimulator;
let configFile: string;

beforeAll(async () => {
  sim = await startScarfSimulator({ variant: { endInclusive: false } });
  configFile = join(dir, 'exportsync.yaml');
  writeFileSync(
    configFile,
    [
      `destination: { type: duckdb, path: "${join(dir, 'w.duckdb')}" }`,
      'sources:',
      '  - type: scarf',
      '    owner: acme',
      `    token: ${SCARF_TOKEN}`,
      `    base_url: ${sim.url}`,
      '    streams: [events, pixel_events]',
      '',
    ].join('\n'),
  );
});
afterAll(() => sim.close());

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  let code = -1;
  const program = new Command('exportsync').option('-c, --config <path>').exitOverride();
  registerCheckCommand(program, (c) => (code = c));
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'exportsync', '-c', configFile, ...args]);
  } catch (e) {
    code = exitCodeFor(e);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout };
}

it('check --contract --streams --out: checks only those streams, saves the file, exits 1 on a corrupting point', async () => {
  const out = join(dir, 'observed.json');
  const before = sim.requests.length;
  const { code, stdout } = await cli(['check', '--contract', '--streams', 'events', '--out', out]);
  expect(code).toBe(EXIT.failed);
  expect(stdout).toContain('DIFFERS         end date:');
  expect(stdout).not.toContain('scarf.pixel_events');
  expect(sim.requests.slice(before).every((r) => r.path.endsWith('/packages/acme/events'))).toBe(true);
  const saved = JSON.parse(readFileSync(out, 'utf8')) as { streams: Array<{ stream: string }> };
  expect(saved.streams.map((s) => s.stream)).toEqual(['scarf.events']);
});

it('--out without --contract is a command-line error (exit 2) and contacts nothing', async () => {
  const before = sim.requests.length;
  const out = join(dir, 'never.json');
  const { code } = await cli(['check', '--out', out]);
  expect(code).toBe(EXIT.config);
  expect(existsSync(out)).toBe(false);
  expect(sim.requests.length).toBe(before);
});
