/**
 * A small reader for the repository's Dockerfile and .dockerignore, so the deploy tests follow
 * the files instead of repeating them. It understands what the Dockerfile uses: comments, `\`
 * line continuations, `ARG`/`FROM … AS name`, `COPY [--from=stage] src… dest`, `ENV k=v`,
 * `USER`, `WORKDIR`, `RUN`, and exec-form (JSON array) `ENTRYPOINT`/`CMD`. If the Dockerfile
 * grows an instruction form this does not read, the tests fail loudly rather than guess.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface CopyStep {
  from?: string;
  sources: string[];
  dest: string;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
  copies: CopyStep[];
  runs: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  stopSignal?: string;
  volumes: string[];
}

export function readDockerfile(root: string): Stage[] {
  return parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const args: Record<string, string> = {};
  for (const ins of instructions(text)) {
    const stage = stages[stages.length - 1];
    if (ins.keyword === 'ARG' && !stage) {
      const [k, v = ''] = ins.args.split('=', 2) as [string, string?];
      args[k.trim()] = v.trim();
      continue;
    }
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile:${ins.line}: cannot read FROM ${ins.args}`);
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      stages.push({
        name: m[2] ?? String(stages.length),
        image,
        instructions: [],
        copies: [],
        runs: [],
        env: {},
        volumes: [],
      });
      continue;
    }
    if (!stage) throw new Error(`Dockerfile:${ins.line}: ${ins.keyword} before FROM`);
    stage.instructions.push(ins);
    switch (ins.keyword) {
      case 'COPY':
        stage.copies.push(parseCopy(ins));
        break;
      case 'RUN':
        stage.runs.push(ins.args);
        break;
      case 'ENV': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(ins.args);
        if (!m) throw new Error(`Dockerfile:${ins.line}: write ENV as one KEY=value per line`);
        stage.env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
        break;
      }
      case 'WORKDIR':
        stage.workdir = ins.args;
        break;
      case 'USER':
        stage.user = ins.args;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(ins);
        break;
      case 'CMD':
        stage.cmd = execForm(ins);
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = ins.args;
        break;
      case 'VOLUME':
        stage.volumes.push(...(ins.args.startsWith('[') ? execForm(ins) : ins.args.split(/\s+/)));
        break;
      case 'ARG':
      case 'LABEL':
      case 'EXPOSE':
      case 'HEALTHCHECK':
        break;
      default:
        throw new Error(`Dockerfile:${ins.line}: the deploy tests do not read ${ins.keyword}`);
    }
  }
  return stages;
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+(.*)$/s.exec(full);
    if (!m) throw new Error(`Dockerfile:${start}: cannot read "${full}"`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim().replace(/\s+/g, ' '), line: start });
  });
  return out;
}

function parseCopy(ins: Instruction): CopyStep {
  const words = ins.args.split(' ');
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else if (!/^--(chown|chmod|link)(=|$)/.test(flag))
      throw new Error(`Dockerfile:${ins.line}: COPY flag ${flag} is not read by the deploy tests`);
  }
  if (words[0]?.startsWith('[')) throw new Error(`Dockerfile:${ins.line}: write COPY in shell form`);
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`Dockerfile:${ins.line}: COPY needs sources and a dest`);
  return { ...(from ? { from } : {}), sources: words, dest };
}

function execForm(ins: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ins.args);
  } catch {
    throw new Error(`Dockerfile:${ins.line}: ${ins.keyword} must be exec form (a JSON array)`);
  }
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string'))
    throw new Error(`Dockerfile:${ins.line}: ${ins.keyword} must be a JSON array of strings`);
  return parsed;
}

/** A .dockerignore as a predicate on context-relative paths (`a/b.ts`), last matching rule wins. */
export function readDockerignore(root: string): (path: string) => boolean {
  const rules = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      return { negate, re: globToRegExp(pattern) };
    });
  return (path) => {
    const parts = path.split('/');
    let ignored = false;
    for (const { negate, re } of rules) {
      // A rule matching a parent directory covers everything under it.
      for (let n = 1; n <= parts.length; n++) {
        if (re.test(parts.slice(0, n).join('/'))) {
          ignored = !negate;
          break;
        }
      }
    }
    return ignored;
  };
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
