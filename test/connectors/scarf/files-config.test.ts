/** Files-mode configuration: what is required in which mode, and what files mode refuses. */
import { expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';

function issues(source: string[]): string[] {
  try {
    parseConfig(
      ['destination: { type: duckdb }', 'sources:', ...source.map((l) => `  ${l}`), ''].join('\n'),
      '<t>',
      {},
    );
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
}

test('files mode needs files.url and no token; api mode needs owner and token', () => {
  expect(
    issues(['- type: scarf', '  mode: files', '  files: { url: "s3://b/scarf", region: eu-west-1 }']),
  ).toEqual([]);
  expect(issues(['- type: scarf', '  mode: files'])).toEqual([
    'sources[0].files: required with mode: files (files.url)',
  ]);
  expect(issues(['- type: scarf'])).toEqual(['sources[0].owner: required', 'sources[0].token: required']);
  expect(issues(['- type: scarf', '  owner: a', '  token: t', '  files: { url: "s3://b" }'])).toEqual([
    'sources[0].files: only with mode: files',
  ]);
  expect(issues(['- type: marketplace', '  mode: files', '  files: { url: "file:///srv/reports" }'])).toEqual(
    [],
  );
  expect(issues(['- type: marketplace'])).toEqual([
    'sources[0].base_url: required',
    'sources[0].token: required',
  ]);
});

test('files mode refuses streams without export files, bad URLs and bad name patterns', () => {
  expect(
    issues([
      '- type: scarf',
      '  mode: files',
      '  files: { url: "gs://b/p" }',
      '  streams: [events, aggregates]',
    ]),
  ).toEqual([
    "sources[0].streams[1]: stream 'aggregates' has no scheduled export files; mode files has: events, company_rollup",
  ]);
  expect(issues(['- type: scarf', '  mode: files', '  files: { url: "https://b/p" }'])[0]).toMatch(
    /^sources\[0\]\.files\.url: must be s3:\/\/bucket/,
  );
  expect(
    issues([
      '- type: marketplace',
      '  mode: files',
      '  files: { url: "file:///r", name_pattern: "{dataset}-{start}" }',
    ])[0],
  ).toMatch(/files\.name_pattern: must contain \{dataset\}, \{start\} and \{end\}/);
});
