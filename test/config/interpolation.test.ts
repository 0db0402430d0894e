import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configErrorOf } from './helpers.js';

const SECRET = 'tok_live_Zx9-secret-value';

const withScarf = (token: string, extra = '') =>
  `destination:\n  type: duckdb\n${extra}sources:\n  - type: scarf\n    owner: \${SCARF_OWNER:-acme}\n    token: ${token}\n`;

describe('environment interpolation', () => {
  it('substitutes-variables-in-string-values', () => {
    const config = parseConfig(withScarf('${SCARF_API_TOKEN}'), 'x', {
      SCARF_API_TOKEN: SECRET,
      SCARF_OWNER: 'initech',
    });
    expect(config.sources[0]).toMatchObject({ token: SECRET, owner: 'initech' });
  });

  it('substitutes-inside-a-longer-string', () => {
    const config = parseConfig(
      'destination:\n  type: postgres\n  url: postgres://app:${PGPASS}@127.0.0.1:5432/${PGDB:-analytics}\n' +
        'sources: [{type: scarf, owner: a, token: t}]\n',
      'x',
      { PGPASS: 'p@ss' },
    );
    expect(config.destination).toMatchObject({ url: 'postgres://app:p@ss@127.0.0.1:5432/analytics' });
  });

  it('uses-the-default-when-the-variable-is-unset-or-empty', () => {
    expect(parseConfig(withScarf('t'), 'x', {}).sources[0]).toMatchObject({ owner: 'acme' });
    expect(parseConfig(withScarf('t'), 'x', { SCARF_OWNER: '' }).sources[0]).toMatchObject({ owner: 'acme' });
  });

  it('keeps-an-escaped-reference-literal', () => {
    const config = parseConfig(withScarf('"$${NOT_A_VAR}x$$y"'), 'x', {});
    expect(config.sources[0]!.token).toBe('${NOT_A_VAR}x$$y');
  });

  it('does-not-rescan-substituted-text', () => {
    const config = parseConfig(withScarf('${A}'), 'x', { A: '${B}', B: 'nope' });
    expect(config.sources[0]!.token).toBe('${B}');
  });

  it('names-the-field-and-the-variable-when-a-variable-is-unset', () => {
    const err = configErrorOf(withScarf('${SCARF_API_TOKEN}'));
    expect(err.issues).toEqual(['sources[0].token: environment variable SCARF_API_TOKEN is not set']);
    // the whole line survives (redactSecrets would otherwise read `token: environment` as a credential)
    expect(err.message).toContain('sources[0].token: environment variable SCARF_API_TOKEN is not set');
  });

  it('reports-every-unset-variable-and-other-issues-together', () => {
    const err = configErrorOf(
      'destination:\n  type: postgres\n  url: ${DATABASE_URL}\nsync:\n  concurrency: 0\n' +
        'sources:\n  - type: scarf\n    owner: ${OWNER}\n    token: ${TOKEN}\n',
    );
    expect(err.issues).toEqual([
      'destination.url: environment variable DATABASE_URL is not set',
      'sources[0].owner: environment variable OWNER is not set',
      'sources[0].token: environment variable TOKEN is not set',
      'sync.concurrency: must be an integer ≥ 1',
    ]);
  });

  it('rejects-a-malformed-reference-instead-of-passing-it-through', () => {
    expect(configErrorOf(withScarf('"${SCARF_API_TOKEN"'), { SCARF_API_TOKEN: SECRET }).issues).toEqual([
      'sources[0].token: unterminated ${ (write $${ for a literal ${)',
    ]);
    expect(configErrorOf(withScarf('"${1TOKEN}"')).issues).toEqual([
      'sources[0].token: malformed ${...}: expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)',
    ]);
  });

  it('cannot-inject-yaml-structure-through-a-value', () => {
    const hostile = 'x\nsync:\n  concurrency: 99\nfoo: {a: 1}';
    const config = parseConfig(withScarf('${T}'), 'x', { T: hostile });
    expect(config.sources[0]!.token).toBe(hostile);
    expect(config.sync.concurrency).toBe(2);
  });

  it('does-not-interpolate-keys', () => {
    const err = configErrorOf(withScarf('t', 'sync:\n  ${K}: 1\n'), { K: 'concurrency' });
    expect(err.issues).toEqual(['sync["${K}"]: unknown key']);
  });

  it('coerces-a-numeric-string-where-a-number-is-expected', () => {
    const text =
      'destination: {type: duckdb}\nsync:\n  backfill_days: ${DAYS}\n  retry:\n    attempts: "${ATTEMPTS:-4}"\n' +
      'sources:\n  - type: scarf\n    owner: a\n    token: t\n    lookback_days: ${LOOKBACK}\n';
    const config = parseConfig(text, 'x', { DAYS: '400', LOOKBACK: '0' });
    expect(config.sync.backfill_days).toBe(400);
    expect(config.sync.retry.attempts).toBe(4);
    expect(config.sources[0]!.lookback_days).toBe(0);
  });

  it('keeps-numeric-looking-strings-where-a-string-is-expected', () => {
    const config = parseConfig(withScarf('${T}'), 'x', { T: '123456' });
    expect(config.sources[0]!.token).toBe('123456');
  });

  it('validates-a-coerced-number-and-names-its-variable', () => {
    expect(
      configErrorOf(withScarf('t', 'sync:\n  backfill_days: ${DAYS}\n'), { DAYS: '1.5' }).issues,
    ).toEqual(['sync.backfill_days: must be an integer ≥ 1 (value from $DAYS)']);
    expect(
      configErrorOf(withScarf('t', 'sync:\n  backfill_days: ${DAYS}\n'), { DAYS: '30d' }).issues,
    ).toEqual(['sync.backfill_days: must be an integer ≥ 1 (value from $DAYS)']);
    expect(
      configErrorOf(withScarf('t', 'sync:\n  backfill_days: ${DAYS}\n'), { DAYS: ' 30' }).issues,
    ).toEqual(['sync.backfill_days: must be an integer ≥ 1 (value from $DAYS)']);
  });
});

describe('secrets in config errors', () => {
  const cases: Array<[string, string, Record<string, string>]> = [
    [
      'an invalid token (empty owner beside it)',
      withScarf('${T}').replace('${SCARF_OWNER:-acme}', '""'),
      { T: SECRET },
    ],
    [
      'a token where a mapping is expected',
      `destination: {type: duckdb}\nsources:\n  - \${T}\n`,
      { T: SECRET },
    ],
    ['a token given as a number field', withScarf('t', 'sync:\n  batch_rows: ${T}\n'), { T: SECRET }],
    [
      'a token as the destination type',
      'destination: {type: "${T}"}\nsources: [{type: scarf, owner: a, token: t}]\n',
      { T: SECRET },
    ],
    ['a token as a source type', `destination: {type: duckdb}\nsources:\n  - type: \${T}\n`, { T: SECRET }],
    [
      'a token as a base_url',
      withScarf('t').replace('    token: t\n', '    token: t\n    base_url: ${T}\n'),
      { T: SECRET },
    ],
    [
      'a password in a non-postgres url',
      `destination: {type: postgres, url: "mysql://u:\${T}@h/db"}\nsources: [{type: scarf, owner: a, token: t}]\n`,
      { T: SECRET },
    ],
  ];
  it.each(cases)('never-puts-the-value-in-the-message: %s', (_label, text, env) => {
    const err = configErrorOf(text, env);
    expect(err.issues.length).toBeGreaterThan(0);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain('secret-value');
    for (const issue of err.issues) expect(issue).not.toContain(SECRET);
  });

  it('never-echoes-a-literal-token-from-a-yaml-syntax-error', () => {
    const err = configErrorOf(
      `destination: {type: duckdb}\nsources:\n  - type: scarf\n    token: "${SECRET}\n`,
    );
    expect(err.message).not.toContain(SECRET);
  });
});
