import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { configErrorOf, minimal } from './helpers.js';

describe('loading a config file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exportsync-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads-and-validates-a-file-with-the-given-env', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, minimal().replace('tok_live_abcdef123456', '${TOKEN}'));
    const config = await loadConfig(path, { TOKEN: 'from-env' });
    expect(config.sources[0]!.token).toBe('from-env');
  });

  it('names-the-file-in-the-message', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'destination: {type: postgres}\nsources: [{type: scarf, owner: a, token: t}]\n');
    await expect(loadConfig(path, {})).rejects.toThrow(
      `invalid configuration (${path}):\n  destination.url: required`,
    );
  });

  it('reports-a-missing-file-as-a-config-error', async () => {
    const path = join(dir, 'absent.yaml');
    const err = await loadConfig(path, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([`${path}: file not found`]);
  });

  it('reports-an-unreadable-path-as-a-config-error', async () => {
    const err = await loadConfig(dir, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([`${dir}: cannot read file (EISDIR)`]);
  });
});

describe('YAML syntax errors', () => {
  it('give-the-origin-line-and-column', () => {
    const err = configErrorOf('destination:\n  type: duckdb\nsources:\n  - type: scarf\n   owner: a\n');
    expect(err.issues[0]).toMatch(/^test\.yaml:5:\d+: \S/);
  });

  it('point-at-an-unclosed-flow-collection', () => {
    expect(configErrorOf('destination: {type: duckdb\n').issues[0]).toMatch(/^test\.yaml:2:1: /);
  });

  it('reject-duplicate-keys-with-their-line', () => {
    const err = configErrorOf(`${minimal()}destination:\n  type: postgres\n`);
    expect(err.issues).toEqual(['test.yaml:8:1: Map keys must be unique']);
  });

  it('report-an-undefined-alias', () => {
    expect(configErrorOf('destination: *dest\n').issues).toEqual([
      'test.yaml: Unresolved alias (the anchor must be set before the alias): dest',
    ]);
  });

  it('say-so-when-the-file-is-empty', () => {
    expect(configErrorOf('').issues).toEqual(['test.yaml: empty; a config needs destination and sources']);
    expect(configErrorOf('# only a comment\n').issues).toEqual([
      'test.yaml: empty; a config needs destination and sources',
    ]);
  });

  it('reject-a-document-that-is-not-a-mapping', () => {
    expect(configErrorOf('- destination\n').issues).toEqual(['(root): must be a mapping']);
  });
});
