/**
 * The image without an engine: lays out the files exactly as the Dockerfile's COPY lines say
 * (read from the Dockerfile, so this follows it), builds dist/ with the build script, installs
 * production dependencies only (`npm ci --omit=dev --offline`: the npm cache that `npm ci`
 * filled; nothing is fetched), and runs ENTRYPOINT + CMD against the Scarf simulator on
 * 127.0.0.1 into a DuckDB file under the image's data volume. Container paths (/app, /etc/…,
 * /var/lib/…) map to a temp directory. If this passes, the image's file list is complete:
 * there is no src/, no tsx-only path and no dev dependency for the CLI to lean on.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { readDockerfile, readDockerignore, type Stage } from './dockerfile.js';
import { run } from './spawn.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const stages = readDockerfile(ROOT);
const ignored = readDockerignore(ROOT);
const runtime = stages[stages.length - 1] as Stage;

let tmp: string;
let sim: ScarfSimulator;
const fs: Record<string, string> = {}; // stage name → directory standing in for its filesystem root
const inStage = (stage: string, path: string) => join(fs[stage]!, path);
const app = (path: string) => inStage(runtime.name, path);

function copyFromContext(stage: Stage, sources: string[], dest: string): void {
  const target = dest.startsWith('/') ? dest : join(stage.workdir ?? '/', dest);
  for (const source of sources) {
    const from = join(ROOT, source);
    if (statSync(from).isDirectory()) {
      cpSync(from, inStage(stage.name, target), {
        recursive: true,
        filter: (p) => !ignored(relative(ROOT, p)),
      });
    } else {
      const to = dest.endsWith('/') || sources.length > 1 ? join(target, basename(source)) : target;
      mkdirSync(dirname(inStage(stage.name, to)), { recursive: true });
      cpSync(from, inStage(stage.name, to));
    }
  }
}

/** Runs a build stage's RUN lines: the ones this test knows how to stand in for, and no others. */
async function runBuildStep(stage: Stage, command: string): Promise<void> {
  const cwd = inStage(stage.name, stage.workdir ?? '/');
  if (/^npm ci\b/.test(command)) {
    // The full install: the checkout's node_modules (dev dependencies included) for the compiler.
    symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  } else if (command === 'npm run build') {
    const r = await run('npm', ['run', 'build'], { cwd, timeoutMs: 240_000 });
    expect(r.code, `npm run build\n${r.stdout}\n${r.stderr}`).toBe(0);
  } else if (/^npm prune --omit=dev\b/.test(command)) {
    // What prune leaves behind is what a production-only install from the lockfile gives.
    rmSync(join(cwd, 'node_modules'));
    const r = await run('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], {
      cwd,
      timeoutMs: 240_000,
    });
    expect(
      r.code,
      `npm ci --omit=dev --offline (run npm ci in the checkout first to fill the cache)\n${r.stderr}`,
    ).toBe(0);
  } else {
    throw new Error(`the deploy test does not know how to stand in for RUN ${command}`);
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'exportsync-image-'));
  sim = await startScarfSimulator({ eventsPerDay: 30 });
  for (const stage of stages) {
    fs[stage.name] = join(tmp, `stage-${stage.name}`);
    for (const ins of stage.instructions) {
      if (ins.keyword === 'WORKDIR') mkdirSync(inStage(stage.name, ins.args), { recursive: true });
      if (ins.keyword === 'COPY') {
        const copy = stage.copies[stage.instructions.filter((i) => i.keyword === 'COPY').indexOf(ins)]!;
        if (copy.from) {
          const target = copy.dest.startsWith('/') ? copy.dest : join(stage.workdir ?? '/', copy.dest);
          for (const source of copy.sources)
            cpSync(inStage(copy.from, source), inStage(stage.name, target), {
              recursive: true,
              verbatimSymlinks: true,
            });
        } else {
          copyFromContext(stage, copy.sources, copy.dest);
        }
      }
      // The runtime stage's RUN only creates the user and directories; a build stage's RUN builds.
      if (ins.keyword === 'RUN' && stage !== runtime) await runBuildStep(stage, ins.args);
    }
  }
  mkdirSync(app('/etc/exportsync'), { recursive: true });
  mkdirSync(app('/var/lib/exportsync'), { recursive: true });
  writeFileSync(
    app('/etc/exportsync/config.yaml'),
    [
      'destination:',
      '  type: duckdb',
      `  path: ${app('/var/lib/exportsync/exportsync.duckdb')}`,
      'sources:',
      '  - type: scarf',
      '    owner: acme',
      '    token: ${SCARF_API_TOKEN}',
      `    base_url: ${sim.url}`,
      '    backfill_days: 2',
      '',
    ].join('\n'),
  );
}, 480_000);

afterAll(async () => {
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** ENTRYPOINT + args as the container runs them: cwd WORKDIR, the image's ENV, secrets from -e. */
function container(args: string[]) {
  const [command, ...entry] = runtime.entrypoint!;
  expect(command).toBe('node');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp,
    ...runtime.env,
    EXPORTSYNC_CONFIG: app(runtime.env.EXPORTSYNC_CONFIG!),
    EXPORTSYNC_LOG_LEVEL: 'warn',
    SCARF_API_TOKEN: 'scarf-test-token',
  };
  return run(process.execPath, [...entry.map((a) => (a.startsWith('/') ? app(a) : a)), ...args], {
    cwd: app(runtime.workdir!),
    env,
    timeoutMs: 60_000,
  });
}

describe('production install laid out by the Dockerfile', () => {
  test('holds compiled code and production dependencies only: no sources, tests or dev tools', () => {
    const root = app('/app');
    expect(readdirSync(root).sort()).toEqual(
      ['bin', 'config', 'dist', 'node_modules', 'package-lock.json', 'package.json', 'schema'].sort(),
    );
    expect(existsSync(join(root, 'dist', 'src', 'cli.js'))).toBe(true);
    expect(existsSync(join(root, 'src'))).toBe(false); // so bin/exportsync.js can only run dist/
    // (@types/node itself is a production dependency of @google-cloud/storage, via @types/request)
    for (const dev of ['typescript', 'vitest', 'eslint', 'prettier', 'tsx', '@types/pg'])
      expect(existsSync(join(root, 'node_modules', dev)), dev).toBe(false);
    const compiledTests = readdirSync(join(root, 'dist'), { recursive: true }).filter((p) =>
      /\.test\.js$/.test(String(p)),
    );
    expect(compiledTests).toEqual([]);
  });

  test('`exportsync --help` runs from dist/ and lists the commands', async () => {
    const r = await container(['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: exportsync/);
    expect(r.stdout).toMatch(/\n\s+run\b/);
  });

  test('`plan` reads the config at $EXPORTSYNC_CONFIG, opens DuckDB on the volume and exits 0', async () => {
    const r = await container(['plan']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('scarf.events');
  });

  test('ENTRYPOINT + CMD (the daily run) syncs into the data volume and exits 0', async () => {
    const r = await container(runtime.cmd!);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(app('/var/lib/exportsync/exportsync.duckdb'))).toBe(true);
    const state = await container(['state', 'show', '--json']);
    expect(state.code, state.stderr).toBe(0);
    expect(state.stdout).toContain('scarf.events');
  });

  test('a missing config exits 2 and names the path from EXPORTSYNC_CONFIG', async () => {
    rmSync(app('/etc/exportsync/config.yaml.bak'), { force: true });
    cpSync(app('/etc/exportsync/config.yaml'), app('/etc/exportsync/config.yaml.bak'));
    rmSync(app('/etc/exportsync/config.yaml'));
    try {
      const r = await container(runtime.cmd!);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('EXPORTSYNC_CONFIG');
    } finally {
      cpSync(app('/etc/exportsync/config.yaml.bak'), app('/etc/exportsync/config.yaml'));
    }
  });
});
