#!/usr/bin/env node
// Runs a Dockerfile's build steps without a container engine, for CI machines that cannot pull base
// images: each stage's root filesystem is a directory (<out>/<stage>), FROM starts it empty (the base
// image's own files are not there: RUN uses the machine's tools, its node and npm in particular), COPY
// and WORKDIR work inside it, and RUN runs `/bin/sh -c` on this machine with the mapped WORKDIR as its
// current directory. So the image's RUN lines must use paths relative to WORKDIR (an absolute path
// would reach this machine's files), which the Dockerfile says where it states its rules.
//
// Strict on purpose: only the instructions and forms our Dockerfile uses are understood (FROM … AS,
// ARG, ENV, WORKDIR, COPY [--from] [--chown], RUN, USER, EXPOSE, VOLUME, ENTRYPOINT, CMD); anything
// else fails with its line number instead of being skipped, so the steps run here are the image's.
// The build context honours .dockerignore as Docker does.
//
//   node scripts/dockerfile-steps.mjs --out <dir> [--file Dockerfile] [--context .] [--target <stage>]
//        [--build-arg NAME=value]… [--run-env NAME=value]… [--quiet]
//
// --run-env adds to the environment of every RUN step without appearing in the Dockerfile (the test
// uses it for npm's offline mode and a prebuilt native addon: test/install/production-layout.test.ts).
// Prints the final stage's image configuration (entrypoint, user, workdir, env, …) as JSON.
import { spawn } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A Dockerfile this runner cannot run faithfully, or a step that failed. */
export class DockerfileError extends Error {
  constructor(message, line) {
    super(line === undefined ? message : `Dockerfile line ${line}: ${message}`);
    this.name = 'DockerfileError';
    this.line = line;
  }
}

/** Output kept of a failing RUN step, for the error message. */
const FAILED_OUTPUT_CHARS = 8000;
/** Host variables a RUN step sees besides the Dockerfile's ARG and ENV values (and --run-env). */
const PASSED_HOST_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'npm_config_cache', 'npm_config_registry', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
const SUPPORTED = new Set(['FROM', 'ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'VOLUME', 'ENTRYPOINT', 'CMD']);

/** The instructions of a Dockerfile: continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text) {
  const lines = text.split(/\r?\n/);
  const instructions = [];
  let current;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (current === undefined && /^#\s*escape\s*=/i.test(trimmed) && instructions.length === 0) {
      throw new DockerfileError('the escape parser directive is not supported', i + 1);
    }
    if (trimmed.startsWith('#') || (trimmed === '' && current !== undefined)) continue;
    if (trimmed === '') continue;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === undefined) current = { line: i + 1, text: body.trim() };
    else current.text += ' ' + body.trim();
    if (!continued) {
      instructions.push(splitInstruction(current));
      current = undefined;
    }
  }
  if (current !== undefined) instructions.push(splitInstruction(current));
  return instructions;
}

function splitInstruction({ line, text }) {
  const match = /^(\S+)\s*(.*)$/s.exec(text);
  const keyword = match[1].toUpperCase();
  if (!SUPPORTED.has(keyword)) throw new DockerfileError(`${keyword} is not supported by scripts/dockerfile-steps.mjs (teach it, or do without)`, line);
  return { line, keyword, args: match[2].trim() };
}

/** Docker's variable substitution for the forms we allow: $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}, \$. */
export function substitute(text, vars, line) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text[i + 1] === '$') {
      out += '$';
      i++;
    } else if (ch === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) throw new DockerfileError(`unterminated \${ in ${JSON.stringify(text)}`, line);
      const inner = text.slice(i + 2, end);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])(.*))?$/s.exec(inner);
      if (!m) throw new DockerfileError(`unsupported substitution \${${inner}}`, line);
      const value = vars.get(m[1]);
      if (m[2] === ':-') out += value ? value : substitute(m[3], vars, line);
      else if (m[2] === ':+') out += value ? substitute(m[3], vars, line) : '';
      else out += value ?? '';
      i = end;
    } else if (ch === '$' && /[A-Za-z_]/.test(text[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      out += vars.get(m[0]) ?? '';
      i += m[0].length;
    } else out += ch;
  }
  return out;
}

/** `NAME=value NAME2="a b"` (quotes and backslash escapes as Docker reads them) into pairs. */
function keyValues(text, line) {
  const pairs = [];
  let i = 0;
  while (i < text.length) {
    while (/\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    let word = '';
    let quote;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quote) {
        if (ch === quote) quote = undefined;
        else if (ch === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
        else word += ch;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < text.length) word += text[++i];
      else if (/\s/.test(ch)) break;
      else word += ch;
    }
    if (quote) throw new DockerfileError(`unterminated quote in ${JSON.stringify(text)}`, line);
    const eq = word.indexOf('=');
    if (eq <= 0) throw new DockerfileError(`expected NAME=value, got ${JSON.stringify(word)} (the legacy "ENV NAME value" form is not supported)`, line);
    pairs.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  return pairs;
}

/** The JSON (exec) form of ENTRYPOINT, CMD and VOLUME. */
function jsonArray(text, keyword, line) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DockerfileError(`${keyword} must use the JSON (exec) form, e.g. ["node", "main.js"]`, line);
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new DockerfileError(`${keyword} must be a JSON array of strings`, line);
  return parsed;
}

/** Leading `--name=value` flags of an instruction, refusing any not in `allowed`. */
function flags(args, allowed, keyword, line) {
  const found = {};
  const words = args.split(/\s+/).filter((w) => w !== '');
  while (words[0]?.startsWith('--')) {
    const m = /^--([a-z-]+)=(.+)$/.exec(words.shift());
    if (!m || !allowed.includes(m[1])) throw new DockerfileError(`${keyword} flag ${m ? '--' + m[1] : 'without a value'} is not supported`, line);
    found[m[1]] = m[2];
  }
  return { flags: found, words };
}

// ---- .dockerignore, as moby/patternmatcher reads and matches it -----------------------------------------

/** The patterns of a .dockerignore file's text. */
export function parseDockerignore(text) {
  const patterns = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let pattern = rawLine.trim();
    if (pattern === '' || pattern.startsWith('#')) continue;
    const exclusion = pattern.startsWith('!');
    // Docker walks into excluded directories to find re-included files; this runner prunes them.
    if (exclusion) throw new DockerfileError(`.dockerignore: exception patterns (${pattern}) are not supported`);
    pattern = posix.normalize(pattern).replace(/\/+$/, '');
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    if (pattern === '' || pattern === '.') continue;
    patterns.push({ exclusion, regexp: patternRegExp(pattern) });
  }
  return patterns;
}

function patternRegExp(pattern) {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/^!/, '^') + ']';
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\]]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Whether `path` (relative, with /) is excluded: the last pattern matching it or one of its parents decides. */
export function isIgnored(patterns, path) {
  const parents = [];
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const { exclusion, regexp } of patterns) {
    if (regexp.test(path) || parents.some((p) => regexp.test(p))) ignored = !exclusion;
  }
  return ignored;
}

// ---- the runner --------------------------------------------------------------------------------------------

/** Where the absolute image path `path` lies under a stage's root directory. */
export function mapPath(root, path) {
  const normal = posix.normalize(path);
  if (!normal.startsWith('/')) throw new DockerfileError(`not an absolute path: ${path}`);
  return join(root, ...normal.split('/').filter((p) => p !== ''));
}

function canChown() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** `10001:10001` or `10001`; names would need the image's /etc/passwd, which is not here. */
function numericOwner(spec, line) {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new DockerfileError(`only numeric uid[:gid] is supported, got ${JSON.stringify(spec)}`, line);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/**
 * Copies `source` (a file, directory or symlink) to `target`: a directory's contents, recursively.
 * `skip(relativePath)` leaves paths out (.dockerignore); `owner` is applied to everything created.
 */
function copyTree(source, target, { skip, owner, rel = '' }) {
  const stat = lstatSync(source);
  const own = (path) => owner && lchownSync(path, owner.uid, owner.gid);
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(source), target);
    own(target);
  } else if (stat.isDirectory()) {
    if (!existsSync(target)) {
      mkdirSync(target, { mode: stat.mode & 0o7777 });
      own(target);
    }
    for (const name of readdirSync(source)) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (skip?.(childRel)) continue;
      copyTree(join(source, name), join(target, name), { skip, owner, rel: childRel });
    }
  } else if (stat.isFile()) {
    copyFileSync(source, target);
    own(target);
  } else throw new DockerfileError(`cannot copy ${source}: not a file, directory or symlink`);
}

function runShell(command, { cwd, env, echo }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-FAILED_OUTPUT_CHARS);
      if (echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, output }));
  });
}

/**
 * Runs the Dockerfile's stages up to `target` (default: the last) into `out`, one directory per stage.
 * Resolves with the image configuration of the target stage and every stage's root.
 */
export async function runDockerfile({
  file = 'Dockerfile',
  context = '.',
  out,
  target,
  buildArgs = {},
  runEnv = {},
  echo = false,
  log = (line) => process.stderr.write(line + '\n'),
}) {
  if (!out) throw new DockerfileError('an output directory is required');
  const contextDir = resolve(context);
  const dockerfilePath = resolve(contextDir, file);
  const outDir = resolve(out);
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new DockerfileError(`output directory ${outDir} is not empty`);
  mkdirSync(outDir, { recursive: true });
  const instructions = parseDockerfile(readFileSync(dockerfilePath, 'utf8'));
  const ignoreFile = join(contextDir, '.dockerignore');
  const ignorePatterns = existsSync(ignoreFile) ? parseDockerignore(readFileSync(ignoreFile, 'utf8')) : [];
  const ignored = (rel) => isIgnored(ignorePatterns, rel);

  const usedBuildArgs = new Set();
  const globalArgs = new Map();
  const stages = [];
  let stage;
  const ownerOrNull = (spec, line) => {
    const owner = numericOwner(spec, line);
    return canChown() ? owner : undefined;
  };
  const declareArg = (scope, args, line) => {
    const [name, ...rest] = args.split('=');
    const fallback = rest.length > 0 ? substitute(rest.join('='), scope === globalArgs ? globalArgs : stage.vars, line) : undefined;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DockerfileError(`bad ARG name ${JSON.stringify(name)}`, line);
    let value = Object.hasOwn(buildArgs, name) ? String(buildArgs[name]) : fallback;
    if (Object.hasOwn(buildArgs, name)) usedBuildArgs.add(name);
    if (value === undefined && scope !== globalArgs) value = globalArgs.get(name);
    return [name, value];
  };

  for (const { line, keyword, args } of instructions) {
    if (keyword === 'FROM') {
      if (stage && stage.name === target) break;
      const { words } = flags(args, [], 'FROM', line);
      const image = substitute(words[0] ?? '', globalArgs, line);
      if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) throw new DockerfileError('expected FROM <image> [AS <name>]', line);
      if (stages.some((s) => s.name === image)) throw new DockerfileError(`FROM an earlier stage (${image}) is not supported`, line);
      const nodeTag = /^node:(\d+)/.exec(image);
      const hostMajor = process.versions.node.split('.')[0];
      if (nodeTag && nodeTag[1] !== hostMajor) {
        throw new DockerfileError(
          `${image} cannot be stood in for by this machine's Node.js ${process.versions.node} (RUN uses it; native addons need the same major version)`,
          line,
        );
      }
      const name = words[2] ?? `stage-${stages.length}`;
      stage = {
        name,
        image,
        root: join(outDir, name),
        workdir: '/',
        // ARG and ENV values for substitution (ENV wins over an ARG of the same name).
        vars: new Map(),
        env: new Map(),
        args: new Map(),
        user: undefined,
        entrypoint: undefined,
        cmd: undefined,
        exposedPorts: [],
        volumes: [],
      };
      mkdirSync(stage.root);
      stages.push(stage);
      log(`dockerfile-steps: stage ${name} (FROM ${image}) in ${stage.root}`);
      continue;
    }
    if (keyword === 'ARG' && stage === undefined) {
      const [name, value] = declareArg(globalArgs, args, line);
      globalArgs.set(name, value);
      continue;
    }
    if (stage === undefined) throw new DockerfileError(`${keyword} before the first FROM`, line);
    const vars = stage.vars;
    switch (keyword) {
      case 'ARG': {
        const [name, value] = declareArg(stage.args, args, line);
        stage.args.set(name, value);
        if (!stage.env.has(name)) vars.set(name, value);
        break;
      }
      case 'ENV':
        for (const [name, value] of keyValues(substitute(args, vars, line), line)) {
          stage.env.set(name, value);
          vars.set(name, value);
        }
        break;
      case 'WORKDIR': {
        const path = posix.resolve(stage.workdir, substitute(args, vars, line));
        const dir = mapPath(stage.root, path);
        if (!existsSync(dir)) {
          if (stage.user !== undefined)
            throw new DockerfileError('WORKDIR creating a directory after USER is not supported (its owner would be the user)', line);
          mkdirSync(dir, { recursive: true });
        }
        stage.workdir = path;
        break;
      }
      case 'COPY': {
        const { flags: copyFlags, words } = flags(substitute(args, vars, line), ['from', 'chown'], 'COPY', line);
        if (words[0]?.startsWith('[')) throw new DockerfileError('the JSON form of COPY is not supported', line);
        if (words.length < 2) throw new DockerfileError('COPY needs a source and a destination', line);
        const sources = words.slice(0, -1);
        const destination = words.at(-1);
        if (sources.some((s) => /[*?[]/.test(s))) throw new DockerfileError('wildcards in COPY sources are not supported', line);
        if (sources.length > 1 && !destination.endsWith('/')) throw new DockerfileError('with several sources the destination must end with /', line);
        const owner = copyFlags.chown === undefined ? undefined : ownerOrNull(copyFlags.chown, line);
        const from = copyFlags.from === undefined ? undefined : stages.find((s) => s.name === copyFlags.from && s !== stage);
        if (copyFlags.from !== undefined && from === undefined)
          throw new DockerfileError(`COPY --from=${copyFlags.from}: no earlier stage of that name (images are not supported)`, line);
        const destPath = posix.resolve(stage.workdir, destination);
        const dest = mapPath(stage.root, destPath);
        for (const source of sources) {
          let sourcePath;
          let skip;
          if (from) sourcePath = mapPath(from.root, posix.resolve('/', source));
          else {
            const normal = posix.normalize(source).replace(/\/$/, '');
            const rel = normal === '.' ? '' : normal;
            if (rel.startsWith('..') || isAbsolute(rel)) throw new DockerfileError(`COPY source outside the context: ${source}`, line);
            if (rel !== '' && ignored(rel)) throw new DockerfileError(`COPY source ${source} is excluded by .dockerignore`, line);
            sourcePath = rel === '' ? contextDir : join(contextDir, ...rel.split('/'));
            skip = (childRel) => ignored(rel === '' ? childRel : `${rel}/${childRel}`);
          }
          if (!existsSync(sourcePath)) throw new DockerfileError(`COPY source not found: ${source}${from ? ` in stage ${from.name}` : ''}`, line);
          const isDir = lstatSync(sourcePath).isDirectory();
          const intoDir = isDir || destination.endsWith('/') || (existsSync(dest) && lstatSync(dest).isDirectory());
          const parentDir = isDir || intoDir ? dest : dirname(dest);
          // Missing parents are created root-owned, as Docker does; a created destination directory gets the owner.
          mkdirSync(dirname(parentDir), { recursive: true });
          if (!existsSync(parentDir)) {
            mkdirSync(parentDir);
            if (owner) chownSync(parentDir, owner.uid, owner.gid);
          }
          const to = isDir ? dest : intoDir ? join(dest, posix.basename(source)) : dest;
          copyTree(sourcePath, to, { skip, owner });
        }
        log(`dockerfile-steps: ${stage.name}: COPY ${args}`);
        break;
      }
      case 'RUN': {
        if (args.startsWith('[')) throw new DockerfileError('the exec (JSON) form of RUN is not supported; use the shell form', line);
        if (args.startsWith('--')) throw new DockerfileError('RUN flags (--mount, --network, …) are not supported', line);
        if (stage.user !== undefined && stage.user !== '0' && !stage.user.startsWith('0:'))
          throw new DockerfileError('RUN after a non-root USER is not supported', line);
        const env = {};
        for (const name of PASSED_HOST_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
        for (const [name, value] of stage.args) if (value !== undefined) env[name] = value;
        for (const [name, value] of stage.env) env[name] = value;
        Object.assign(env, runEnv);
        const cwd = mapPath(stage.root, stage.workdir);
        log(`dockerfile-steps: ${stage.name}: RUN ${args}`);
        const started = Date.now();
        const result = await runShell(args, { cwd, env, echo });
        if (result.code !== 0) {
          throw new DockerfileError(
            `RUN failed (${result.signal ?? `exit ${result.code}`}) in stage ${stage.name}: ${args}\n--- output (last part) ---\n${result.output}`,
            line,
          );
        }
        log(`dockerfile-steps: ${stage.name}: RUN done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        break;
      }
      case 'USER':
        numericOwner(substitute(args, vars, line), line);
        stage.user = substitute(args, vars, line);
        break;
      case 'EXPOSE':
        stage.exposedPorts.push(...substitute(args, vars, line).split(/\s+/));
        break;
      case 'VOLUME':
        stage.volumes.push(...(args.startsWith('[') ? jsonArray(args, 'VOLUME', line) : args.split(/\s+/)).map((v) => substitute(v, vars, line)));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = jsonArray(args, 'ENTRYPOINT', line);
        stage.cmd = undefined;
        break;
      case 'CMD':
        stage.cmd = jsonArray(args, 'CMD', line);
        break;
      default:
        throw new DockerfileError(`${keyword} is not supported`, line);
    }
  }
  const unused = Object.keys(buildArgs).filter((name) => !usedBuildArgs.has(name));
  if (unused.length > 0) throw new DockerfileError(`build arguments not declared by any ARG: ${unused.join(', ')}`);
  const final = target === undefined ? stages.at(-1) : stages.find((s) => s.name === target);
  if (final === undefined) throw new DockerfileError(target === undefined ? 'no stage' : `no stage named ${target}`);
  return {
    stages: Object.fromEntries(stages.map((s) => [s.name, { root: s.root, image: s.image }])),
    image: {
      stage: final.name,
      base: final.image,
      root: final.root,
      workdir: final.workdir,
      user: final.user,
      env: Object.fromEntries(final.env),
      entrypoint: final.entrypoint,
      cmd: final.cmd,
      exposedPorts: final.exposedPorts,
      volumes: final.volumes,
      ownersApplied: canChown(),
    },
  };
}

function parseCli(argv) {
  const options = { buildArgs: {}, runEnv: {} };
  const pair = (value, what) => {
    const eq = value?.indexOf('=') ?? -1;
    if (eq <= 0) throw new DockerfileError(`${what} needs NAME=value`);
    return [value.slice(0, eq), value.slice(eq + 1)];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new DockerfileError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--out') options.out = value();
    else if (arg === '--file') options.file = value();
    else if (arg === '--context') options.context = value();
    else if (arg === '--target') options.target = value();
    else if (arg === '--build-arg') {
      const [k, v] = pair(value(), arg);
      options.buildArgs[k] = v;
    } else if (arg === '--run-env') {
      const [k, v] = pair(value(), arg);
      options.runEnv[k] = v;
    } else if (arg === '--quiet') options.quiet = true;
    else throw new DockerfileError(`unknown argument ${arg}`);
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const options = parseCli(process.argv.slice(2));
    const result = await runDockerfile({ ...options, echo: !options.quiet, log: options.quiet ? () => undefined : undefined });
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } catch (err) {
    process.stderr.write(`dockerfile-steps: ${err instanceof DockerfileError ? err.message : (err?.stack ?? String(err))}\n`);
    process.exit(1);
  }
}
