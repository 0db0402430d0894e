import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { syncSchema } from '../../src/config/schema.js';

const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));
const files = (await readdir(CONFIG_DIR)).filter((f) => f.endsWith('.yaml')).sort();
const ENV = {
  SCARF_OWNER: 'acme',
  SCARF_API_TOKEN: 'tok_example',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
};

/** Uncomments every `# key: value` line (lower-case key): the lines that document a default. */
function uncommentDefaults(text: string): { text: string; keys: string[] } {
  const keys: string[] = [];
  const out = text.replace(
    /^(\s*)# (\s*)([a-z_]+):(.*)$/gm,
    (_line, indent: string, more: string, key: string, rest: string) => {
      keys.push(key);
      return `${indent}${more}${key}:${rest}`;
    },
  );
  return { text: out, keys };
}

describe('example configs', () => {
  it('exist-for-each-destination', () => {
    expect(files).toEqual(['duckdb.example.yaml', 'postgres.example.yaml']);
  });

  describe.each(files)('%s', (file) => {
    const read = () => readFile(`${CONFIG_DIR}${file}`, 'utf8');

    it('parses-with-the-environment-set', async () => {
      const config = parseConfig(await read(), file, ENV);
      expect(config.destination.type).toBe(file.split('.')[0]);
      expect(config.sources[0]).toMatchObject({ type: 'scarf', owner: 'acme', token: 'tok_example' });
    });

    it('reads-secrets-from-the-environment-only', async () => {
      const text = await read();
      expect(text).toContain('token: ${SCARF_API_TOKEN}');
      expect(text).toContain('owner: ${SCARF_OWNER}');
      if (file.startsWith('postgres')) expect(text).toContain('url: ${DATABASE_URL}');
    });

    it('starts-with-the-editor-schema-line', async () => {
      expect((await read()).split('\n')[0]).toBe(
        '# yaml-language-server: $schema=../schema/exportsync.schema.json',
      );
    });

    it('documents-the-true-default-of-every-commented-key', async () => {
      const text = await read();
      const { text: uncommented, keys } = uncommentDefaults(text);
      // uncommenting every documented default must change nothing: the comments cannot drift from DEFAULTS
      expect(parseConfig(uncommented, file, ENV)).toEqual(parseConfig(text, file, ENV));
      for (const key of Object.keys(syncSchema.shape)) expect(keys).toContain(key);
      for (const key of ['attempts', 'min_delay_ms', 'max_delay_ms', 'schema', 'name', 'base_url']) {
        expect(keys).toContain(key);
      }
    });
  });
});
