/**
 * Every manifest in deploy/k8s/ against what the CLI, the config loader and the image accept:
 * the container's arguments are commands and options the CLI has (spawned with `--help`), every
 * `${VAR}` the ConfigMap's config uses is provided by the pod's env (secrets from the Secret),
 * the config parses with the real loader, and the mount path is $EXPORTSYNC_CONFIG. The backfill
 * Job's arguments, with $(JOB_COMPLETION_INDEX) expanded as Kubernetes does for each index, go
 * through the CLI's own backfill parser, and its N shards cover every window exactly once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import YAML from 'yaml';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/core/defaults.js';
import type { ConfigError } from '../../src/core/errors.js';
import { parseBackfillFlags } from '../../src/commands/backfill.js';
import { defineBackfillCommands, type BackfillFlags } from '../../src/commands/backfill-cli.js';
import { planBackfill, shardWindows } from '../../src/engine/backfill-plan.js';
import { selectStreams } from '../../src/engine/sources.js';
import { readDockerfile } from './dockerfile.js';
import { run } from './spawn.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const K8S = join(ROOT, 'deploy', 'k8s');
const image = readDockerfile(ROOT).at(-1)!;

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are free-form YAML */
type Doc = Record<string, any>;

const files = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f));
const docs: Array<{ file: string; doc: Doc }> = files.flatMap((file) =>
  YAML.parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file, doc: d.toJS() as Doc };
  }),
);
const one = (kind: string): Doc => {
  const found = docs.filter((d) => d.doc.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in deploy/k8s, found ${found.length}`);
  return found[0]!.doc;
};
const cronJob = one('CronJob');
const secret = one('Secret');
const configMap = one('ConfigMap');
const pod: Doc = cronJob.spec.jobTemplate.spec.template.spec;
const container: Doc = pod.containers.find((c: Doc) => c.name === 'exportsync');
const backfillJob = one('Job');
const backfillPod: Doc = backfillJob.spec.template.spec;
const backfillContainer: Doc = backfillPod.containers.find((c: Doc) => c.name === 'exportsync');

/** Problems with a container's command line, judged by the CLI's own `--help` for that command. */
async function cliArgProblems(args: string[]): Promise<string[]> {
  const firstOption = args.findIndex((a) => a.startsWith('-'));
  const words = firstOption < 0 ? args : args.slice(0, firstOption); // the command path
  const options = args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
  const r = await run(process.execPath, [join(ROOT, 'bin', 'exportsync.js'), ...args, '--help'], {
    cwd: ROOT,
    env: { ...process.env, EXPORTSYNC_LOG_LEVEL: 'silent' } as Record<string, string>,
  });
  const problems: string[] = [];
  if (r.code !== 0) problems.push(`exit ${r.code}: ${r.stderr.trim()}`);
  // Help for an unknown command falls back to the top-level usage.
  const usage = `Usage: exportsync ${words.join(' ')}`.trimEnd();
  if (!r.stdout.startsWith(`${usage} [options]`) && !r.stdout.startsWith(`${usage}\n`))
    problems.push(`"${words.join(' ')}" is not a command (help printed: ${r.stdout.split('\n')[0]})`);
  for (const option of options)
    if (!new RegExp(`(^|[ ,])${option}\\b`, 'm').test(r.stdout)) problems.push(`${option} is not an option`);
  return problems;
}

/** The pod's environment as the container sees it; secret values from the Secret manifest. */
function containerEnv(c: Doc, secrets: Doc[]): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = { ...image.env };
  const problems: string[] = [];
  for (const e of c.env ?? []) {
    if (typeof e.value === 'string') env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const s = secrets.find((x) => x.metadata.name === ref.name);
      const value = s?.stringData?.[ref.key];
      if (typeof value !== 'string')
        problems.push(`${e.name}: no key ${ref.key} in a Secret named ${ref.name}`);
      else env[e.name] = value;
    }
  }
  return { env, problems };
}

/** The file the config ConfigMap appears as inside the container, per its volume and mount. */
function mountedConfigFiles(c: Doc, podSpec: Doc = pod): Map<string, { configMap: string; key: string }> {
  const out = new Map<string, { configMap: string; key: string }>();
  for (const m of c.volumeMounts ?? []) {
    const cm = podSpec.volumes.find((v: Doc) => v.name === m.name)?.configMap;
    if (!cm) continue;
    const items: Array<{ key: string; path: string }> =
      cm.items ?? Object.keys(configMap.data ?? {}).map((k) => ({ key: k, path: k }));
    for (const item of items) {
      if (m.subPath === undefined)
        out.set(posix.join(m.mountPath, item.path), { configMap: cm.name, key: item.key });
      else if (m.subPath === item.path) out.set(m.mountPath, { configMap: cm.name, key: item.key });
    }
  }
  return out;
}

/** `${NAME}` / `${NAME:-x}` names in every string value of a YAML tree (comments do not count). */
function referencedVars(text: string): string[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      for (const m of node.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
        if (!m[2]) names.add(m[1]!);
      }
    } else if (node && typeof node === 'object') {
      Object.values(node).forEach(walk);
    }
  };
  walk(YAML.parse(text));
  return [...names].sort();
}

describe('deploy/k8s manifests', () => {
  test('every file parses and every document names its kind, apiVersion and name', () => {
    expect(files.sort()).toEqual([
      'backfill-job.yaml',
      'configmap.yaml',
      'cronjob.yaml',
      'secret.example.yaml',
    ]);
    for (const { file, doc } of docs) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
    }
  });

  test("the container's arguments are a command and options the CLI accepts", async () => {
    expect(container.command, 'command unset: the image ENTRYPOINT runs the CLI').toBeUndefined();
    expect(container.args).toEqual(image.cmd);
    expect(await cliArgProblems(container.args)).toEqual([]);
  });

  test('the argument check catches unknown commands and options', async () => {
    const [streams, stateShow, shard, backfill, status, typo] = await Promise.all([
      cliArgProblems(['run', '--streams', 'events']),
      cliArgProblems(['state', 'show', '--json']),
      cliArgProblems(['run', '--shard', '0/3']),
      cliArgProblems(['backfill', '--from', '2025-01-01', '--to', '2025-02-01', '--shard', '0/2']),
      cliArgProblems(['backfill', 'status', '--json']),
      cliArgProblems(['backfil', '--from', '2025-01-01']),
    ]);
    expect(streams).toEqual([]);
    expect(stateShow).toEqual([]);
    expect(shard.join()).toContain('--shard is not an option');
    expect(backfill).toEqual([]);
    expect(status).toEqual([]);
    expect(typo.join()).toContain('"backfil" is not a command');
  });

  test('the config file is mounted from the ConfigMap exactly at $EXPORTSYNC_CONFIG', () => {
    const { env } = containerEnv(container, [secret]);
    expect(env.EXPORTSYNC_CONFIG).toBe(image.env.EXPORTSYNC_CONFIG);
    const mounted = mountedConfigFiles(container).get(env.EXPORTSYNC_CONFIG!);
    expect(mounted).toEqual({ configMap: configMap.metadata.name, key: 'config.yaml' });
    expect(typeof configMap.data[mounted!.key]).toBe('string');
  });

  test('every ${VAR} in the config comes from the Secret, and the config parses with the real loader', () => {
    const text: string = configMap.data['config.yaml'];
    const { env, problems } = containerEnv(container, [secret]);
    expect(problems).toEqual([]);
    const fromSecret = (container.env as Doc[]).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    expect(referencedVars(text)).toEqual(['DATABASE_URL', 'SCARF_API_TOKEN']);
    for (const name of referencedVars(text)) expect(fromSecret, name).toContain(name);
    const config = parseConfig(text, 'deploy/k8s/configmap.yaml', env);
    expect(config.destination.type).toBe('postgres');
    expect(config.sources.map((s) => s.type)).toEqual(['scarf']);
    // Without the Secret, the loader names what is missing (and so exits 2 in the pod).
    expect(() => parseConfig(text, 'configmap', image.env)).toThrow(/SCARF_API_TOKEN/);
  });

  test('the env check catches a secretKeyRef to a key the Secret does not have', () => {
    const broken = { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'exportsync', key: 'NOPE' } } }] };
    expect(containerEnv(broken, [secret]).problems).toEqual(['X: no key NOPE in a Secret named exportsync']);
  });

  test('credentials appear in the config only as ${VAR}, never as literal values', () => {
    const raw = YAML.parse(configMap.data['config.yaml']) as Doc;
    expect(raw.destination.url).toMatch(/^\$\{[A-Z_]+\}$/);
    for (const s of raw.sources) expect(s.token).toMatch(/^\$\{[A-Z_]+\}$/);
    for (const value of Object.values(secret.stringData as Record<string, string>))
      expect(value, 'the Secret is a template').toMatch(/replace-with/);
  });

  test('CronJob: daily, never overlapping, bounded retries and history, exit 2 not retried', () => {
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.schedule.split(' ')).toHaveLength(5);
    expect(cronJob.spec.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(cronJob.spec.successfulJobsHistoryLimit).toBeGreaterThan(0);
    expect(cronJob.spec.failedJobsHistoryLimit).toBeGreaterThan(0);
    const job = cronJob.spec.jobTemplate.spec;
    expect(job.backoffLimit).toBeGreaterThan(0);
    expect(job.backoffLimit).toBeLessThanOrEqual(6);
    expect(pod.restartPolicy).toBe('Never'); // podFailurePolicy requires it
    const failJob = job.podFailurePolicy.rules.find((r: Doc) => r.action === 'FailJob');
    expect(failJob.onExitCodes).toMatchObject({ containerName: container.name, operator: 'In', values: [2] });
  });

  test('grace period outlasts one stalled request, its retry backoff and a retry', () => {
    const floor = (2 * DEFAULTS.request_timeout_ms + DEFAULTS.retry_max_delay_ms) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(floor);
    expect(pod.terminationGracePeriodSeconds).toBeLessThan(
      cronJob.spec.jobTemplate.spec.activeDeadlineSeconds,
    );
  });

  test('runs as the image user, non-root, read-only root filesystem with a writable /tmp', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(image.user);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    const tmp = (container.volumeMounts as Doc[]).find((m) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: Doc) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  test('memory is sized from the benchmark: request covers peak RSS, limit leaves 1.5x headroom', () => {
    const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1] ?? NaN);
    const { requests, limits } = container.resources;
    expect(requests.cpu).toBeTruthy();
    const bench = join(ROOT, 'BENCHMARKS.md');
    // Postgres rows of the first-load table: last column is peak RSS in MB.
    const peaks = existsSync(bench)
      ? [...readFileSync(bench, 'utf8').matchAll(/^\| postgres \|.*\| (\d+) \|$/gm)].map((m) => Number(m[1]))
      : [];
    const peakMiB = peaks.length > 0 ? (Math.max(...peaks) * 1e6) / 2 ** 20 : 341; // provisional without it
    expect(mib(requests.memory)).toBeGreaterThanOrEqual(peakMiB);
    expect(mib(limits.memory)).toBeGreaterThanOrEqual(1.5 * peakMiB);
    expect(mib(limits.memory)).toBeGreaterThanOrEqual(mib(requests.memory));
  });
});

/** `$(NAME)` in a container argument, expanded the way the kubelet does: only names in the env. */
function expandArgs(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m));
}

/** The flags the CLI's own backfill parser hands to the command, for these arguments. */
async function parsedBackfillFlags(args: string[]): Promise<BackfillFlags> {
  let flags: BackfillFlags | undefined;
  const program = new Command('exportsync').option('-c, --config <path>').exitOverride();
  defineBackfillCommands(program, {
    backfill: async (f) => void (flags = f),
    status: async () => {
      throw new Error('the Job runs backfill status, not a backfill');
    },
  });
  await program.parseAsync(args, { from: 'user' });
  if (!flags) throw new Error(`no backfill command in ${args.join(' ')}`);
  return flags;
}

describe('deploy/k8s backfill Job', () => {
  const n: number = backfillJob.spec.completions;
  const indexEnv = (backfillContainer.env as Doc[]).find((e) => e.name === 'JOB_COMPLETION_INDEX');
  /** The container's env in pod `i`: JOB_COMPLETION_INDEX is the pod's completion index. */
  const envOf = (i: number) => ({
    ...containerEnv(backfillContainer, [secret]).env,
    JOB_COMPLETION_INDEX: String(i),
  });

  test('an Indexed Job of N pods at once, exit 2 not retried, evictions not counted', () => {
    expect(backfillJob.apiVersion).toBe('batch/v1');
    expect(backfillJob.spec.completionMode).toBe('Indexed');
    expect(n).toBeGreaterThan(1);
    expect(backfillJob.spec.parallelism).toBe(n);
    expect(backfillJob.spec.backoffLimitPerIndex).toBeGreaterThan(0);
    expect(backfillPod.restartPolicy).toBe('Never');
    const rules = backfillJob.spec.podFailurePolicy.rules as Doc[];
    expect(rules.find((r) => r.action === 'FailJob')?.onExitCodes).toMatchObject({
      containerName: backfillContainer.name,
      operator: 'In',
      values: [2],
    });
    expect(rules.find((r) => r.action === 'Ignore')?.onPodConditions).toEqual([{ type: 'DisruptionTarget' }]);
    // the index reaches $(JOB_COMPLETION_INDEX) through the container env (the downward API)
    expect(indexEnv?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
  });

  test('its arguments are a backfill command the CLI accepts (--help of the real CLI)', async () => {
    expect(backfillContainer.command, 'command unset: the image ENTRYPOINT runs the CLI').toBeUndefined();
    expect(await cliArgProblems(expandArgs(backfillContainer.args, envOf(0)))).toEqual([]);
  });

  test('in pod i the CLI parser reads --shard i/N with N = completions, and the same range in every pod', async () => {
    const now = new Date();
    const parsed = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const args = expandArgs(backfillContainer.args, envOf(i));
        expect(args.join(' ')).not.toContain('$(');
        return parseBackfillFlags(await parsedBackfillFlags(args), now);
      }),
    );
    parsed.forEach((p, i) => expect(p.shard).toEqual({ index: i, count: n }));
    for (const p of parsed) expect(p.range).toEqual(parsed[0]!.range);
    expect(parsed[0]!.redo).toBe(false);
    // without the index in the env the argument stays literal and the parser refuses it (exit 2)
    const unexpanded = await parsedBackfillFlags(backfillContainer.args);
    let refused: unknown;
    try {
      parseBackfillFlags(unexpanded, now);
    } catch (err) {
      refused = err;
    }
    expect((refused as ConfigError).issues.join()).toMatch(/^--shard: .*JOB_COMPLETION_INDEX/);
  });

  test('the N pods together take every window of the range exactly once', async () => {
    const config = parseConfig(configMap.data['config.yaml'], 'configmap', envOf(0));
    const { range } = parseBackfillFlags(
      await parsedBackfillFlags(expandArgs(backfillContainer.args, envOf(0))),
      new Date(),
    );
    const plan = planBackfill(selectStreams(config), range, new Date());
    expect(plan.windows.length).toBeGreaterThan(n);
    const taken = Array.from({ length: n }, (_, i) => shardWindows(plan, { index: i, count: n })).flat();
    const key = (w: { streamKey: string; window: { from: Date } }) =>
      `${w.streamKey}@${w.window.from.toISOString()}`;
    expect(taken.map(key).sort()).toEqual(plan.windows.map(key).sort());
    expect(new Set(taken.map(key)).size).toBe(taken.length);
  });

  test('the same config, Secret env, mounts, image and security as the CronJob', () => {
    const withoutIndex = (backfillContainer.env as Doc[]).filter((e) => e.name !== 'JOB_COMPLETION_INDEX');
    expect(withoutIndex).toEqual(container.env);
    expect(backfillContainer.volumeMounts).toEqual(container.volumeMounts);
    expect(backfillPod.volumes).toEqual(pod.volumes);
    expect(backfillContainer.image).toBe(container.image);
    expect(backfillContainer.securityContext).toEqual(container.securityContext);
    expect(backfillPod.securityContext).toEqual(pod.securityContext);
    expect(backfillContainer.resources).toEqual(container.resources);
    expect(backfillPod.terminationGracePeriodSeconds).toBe(pod.terminationGracePeriodSeconds);
    // and on their own terms: the config file is at $EXPORTSYNC_CONFIG, its ${VAR}s from the Secret
    const { env, problems } = containerEnv(backfillContainer, [secret]);
    expect(problems).toEqual([]);
    expect(mountedConfigFiles(backfillContainer, backfillPod).get(env.EXPORTSYNC_CONFIG!)).toEqual({
      configMap: configMap.metadata.name,
      key: 'config.yaml',
    });
    expect(parseConfig(configMap.data['config.yaml'], 'configmap', env).destination.type).toBe('postgres');
  });
});
