/**
 * The Dockerfile read as data: what the image contains, who it runs as, and what it runs. No
 * Docker engine is needed; production-install.test.ts then builds the same file list and runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseDockerfile, readDockerfile, readDockerignore, type Stage } from './dockerfile.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const stages = readDockerfile(ROOT);
const ignored = readDockerignore(ROOT);
const build = stages.find((s) => s.name === 'build') as Stage;
const runtime = stages[stages.length - 1] as Stage;

/** Paths that must never be in the image: tests, git history, sources, local data, secrets. */
const FORBIDDEN =
  /^(\.git|test|bench|src|connectors|node_modules|coverage|\.env.*|exportsync\.yaml|.*\.duckdb)(\/|$)/;

describe('Dockerfile', () => {
  test('has a build stage and a separate runtime stage on the same LTS Node image', () => {
    expect(build).toBeDefined();
    expect(runtime.name).not.toBe('build');
    expect(runtime.image).toBe(build.image);
    const major = Number(/^node:(\d+)-/.exec(runtime.image)?.[1]);
    expect(major % 2, 'even Node majors are the LTS lines').toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(runtime.image).toMatch(/-slim$/);
  });

  test('build stage installs, compiles with the build script, then drops dev dependencies', () => {
    const ci = build.runs.findIndex((r) => /^npm ci\b/.test(r));
    const compile = build.runs.findIndex((r) => r === 'npm run build');
    const prune = build.runs.findIndex((r) => /^npm prune --omit=dev\b/.test(r));
    expect([ci, compile, prune].every((i) => i >= 0)).toBe(true);
    expect(ci).toBeLessThan(compile);
    expect(compile).toBeLessThan(prune);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  test('every context path a COPY names exists and is not excluded by .dockerignore', () => {
    for (const stage of stages)
      for (const copy of stage.copies.filter((c) => !c.from))
        for (const source of copy.sources) {
          expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
          expect(ignored(source), `${source} is not in .dockerignore`).toBe(false);
        }
  });

  test('the runtime image copies no tests, sources, git history, local data or secrets', () => {
    const fromContext = runtime.copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) expect(source).not.toMatch(FORBIDDEN);
    const fromBuild = runtime.copies.filter((c) => c.from === 'build').flatMap((c) => c.sources);
    expect(fromBuild.sort()).toEqual(['/src/dist', '/src/node_modules']);
  });

  test('.dockerignore keeps git history, tests, local databases and env files out of the context', () => {
    for (const path of [
      '.git',
      '.git/config',
      'test/e2e/harness.ts',
      'node_modules/pg/package.json',
      'dist/src/cli.js',
      'exportsync.duckdb',
      'data/x.duckdb.wal',
      '.env',
      '.env.local',
      'exportsync.yaml',
      'connectors/scarf/scarf.test.ts',
    ])
      expect(ignored(path), path).toBe(true);
    for (const path of ['src/cli.ts', 'connectors/scarf/index.ts', 'bin/exportsync.js', 'package-lock.json'])
      expect(ignored(path), path).toBe(false);
  });

  test('runs as uid 10001 with the config path, JSON logs and SIGTERM set, and no secret baked in', () => {
    expect(runtime.user).toBe('10001:10001');
    expect(runtime.workdir).toBe('/app');
    expect(runtime.env.EXPORTSYNC_CONFIG).toBe('/etc/exportsync/config.yaml');
    expect(runtime.env.EXPORTSYNC_LOG_FORMAT).toBe('json');
    expect(runtime.stopSignal).toBe('SIGTERM');
    expect(runtime.volumes).toEqual(['/var/lib/exportsync']);
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(text).not.toMatch(/^\s*(ENV|ARG)\s+\S*(TOKEN|SECRET|PASSWORD|DATABASE_URL|API_KEY)/im);
    for (const stage of stages)
      expect(Object.keys(stage.env).join(' ')).not.toMatch(/TOKEN|SECRET|PASSWORD|URL/);
  });

  test('ENTRYPOINT is the CLI in exec form (signals reach node) and CMD is the daily run', () => {
    expect(runtime.entrypoint).toEqual(['node', '/app/bin/exportsync.js']);
    expect(runtime.cmd).toEqual(['run']);
  });

  test('the reader refuses forms it does not understand instead of guessing', () => {
    expect(() => parseDockerfile('FROM x\nENTRYPOINT node a.js\n')).toThrow(/exec form/);
    expect(() => parseDockerfile('FROM x\nADD a b\n')).toThrow(/ADD/);
    expect(() => parseDockerfile('FROM x\nCOPY --exclude=a b c\n')).toThrow(/--exclude/);
    expect(parseDockerfile('FROM x AS b\nCOPY a \\\n  c ./d\n')[0]?.copies).toEqual([
      { sources: ['a', 'c'], dest: './d' },
    ]);
  });
});
