import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { readBlob, readObject, readTree, type CommitObject, type TagObject, type TreeEntry } from 'isomorphic-git';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { TarWriter } from './tar-writer.ts';

/**
 * A fetched commit's tree as `git archive --format=tgz <commit> [<sub-path>]` writes it: paths from the
 * repository's root, every directory before what it holds and in git's tree order, the directories
 * leading to a sub-path included, regular and executable files, symbolic links as links (a consumer
 * that extracts the archive decides what to make of them, as with git's own), a submodule as an empty
 * directory, and the commit id in the pax global header.
 */

/** What a git tree entry's mode says it is. */
const MODE = { tree: '040000', executable: '100755', symlink: '120000', submodule: '160000' } as const;
const ATTRIBUTES_FILE = '.gitattributes';
const EXPORT_IGNORE = 'export-ignore';

/** One `.gitattributes` line that sets or unsets export-ignore, with the directory of its file. */
interface ExportRule {
  /** The directory the file is in, `` or ending with `/`. */
  base: string;
  pattern: RegExp;
  /** Whether the pattern matches the full path under `base` (it has a slash) or only the name. */
  anchored: boolean;
  ignore: boolean;
}

/** git's wildmatch, enough for attribute patterns: `**` any path, `*` and `?` within a component. */
function globRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The export-ignore lines of a `.gitattributes` (other attributes, macros and patterns ending in `/` do not apply). */
export function exportRules(text: string, base: string): ExportRule[] {
  const rules: ExportRule[] = [];
  for (const line of text.split('\n')) {
    const [glob, ...attributes] = line.trim().split(/\s+/);
    if (glob === undefined || glob === '' || glob.startsWith('#') || glob.endsWith('/')) continue;
    for (const attribute of attributes) {
      const ignore = attribute === EXPORT_IGNORE ? true : attribute === `-${EXPORT_IGNORE}` || attribute === `!${EXPORT_IGNORE}` ? false : undefined;
      if (ignore === undefined) continue;
      const anchored = glob.includes('/');
      rules.push({ base, pattern: globRegExp(anchored ? glob.replace(/^\//, '') : glob), anchored, ignore });
    }
  }
  return rules;
}

/** Whether `path` is export-ignored: the last rule that matches decides (deeper files come later). */
export function exportIgnored(rules: readonly ExportRule[], path: string): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (!path.startsWith(rule.base)) continue;
    const relative = path.slice(rule.base.length);
    const subject = rule.anchored ? relative : relative.slice(relative.lastIndexOf('/') + 1);
    if (rule.pattern.test(subject)) ignored = rule.ignore;
  }
  return ignored;
}

/** At most this many tags are peeled to reach a commit (a tag of a tag of …). */
const MAX_TAG_DEPTH = 10;

export interface ArchiveLimits {
  /** Largest archive answered (compressed). */
  maxBytes: number;
  maxBytesKey: string;
  /** Largest archive before compression: a tree can name one blob many times, or one subtree in many places. */
  maxUnpackedBytes: number;
  maxUnpackedBytesKey: string;
}

export interface ArchiveSource {
  fs: unknown;
  gitdir: string;
  cache: object;
  /** Throws once the fetch's deadline has passed: called before every entry. */
  checkDeadline?: () => void;
}

/**
 * A tree's entries in git's order (git archive walks them so): by the bytes of their names, a
 * directory's name compared as if it ended with `/` (so `deploy-x.yaml`, `deploy.yaml`, `deploy/`).
 * isomorphic-git's readTree hands them sorted otherwise.
 */
export function gitTreeOrder(entries: readonly TreeEntry[]): TreeEntry[] {
  const key = (entry: TreeEntry) => Buffer.from(entry.mode === MODE.tree ? `${entry.path}/` : entry.path, 'utf8');
  return entries
    .map((entry) => ({ entry, key: key(entry) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ entry }) => entry);
}

function tooLarge(what: string, limit: number, key: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_TOO_LARGE, `${what} is more than ${limit} bytes; at most ${limit} are answered (${key})`, { limit });
}

/** The commit a fetched ref names (peeling annotated tags), with its id. */
export async function commitOf(source: ArchiveSource, oid: string): Promise<{ oid: string; commit: CommitObject }> {
  let current = oid;
  for (let depth = 0; depth <= MAX_TAG_DEPTH; depth++) {
    const object = await readObject({ ...source, fs: source.fs as never, oid: current, format: 'parsed' });
    if (object.type === 'commit') return { oid: current, commit: object.object as CommitObject };
    if (object.type !== 'tag') break;
    current = (object.object as TagObject).object;
  }
  throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${oid} does not name a commit`, {});
}

/**
 * The tar.gz of `commit`'s tree, or of `subPath` in it (its components, already normalised); a
 * sub-path the tree does not hold is ARTIFACT_NOT_FOUND.
 */
export async function archiveTree(
  source: ArchiveSource,
  commit: { oid: string; commit: CommitObject },
  subPath: readonly string[],
  limits: ArchiveLimits,
  describe: string,
): Promise<Buffer> {
  const gzip = createGzip();
  const output: Buffer[] = [];
  let outputBytes = 0;
  let failure: unknown;
  gzip.on('data', (chunk: Buffer) => {
    outputBytes += chunk.length;
    if (outputBytes > limits.maxBytes) failure ??= tooLarge(`the archive of ${describe}`, limits.maxBytes, limits.maxBytesKey);
    else output.push(chunk);
  });
  gzip.on('error', (err) => (failure ??= err));
  const pending: Buffer[] = [];
  const tar = new TarWriter((chunk) => pending.push(chunk), commit.commit.committer.timestamp);
  // Hands what the writer produced to gzip, waiting when gzip asks to, so the tar is never held whole.
  const flush = async () => {
    for (const chunk of pending.splice(0)) {
      if (failure !== undefined) throw failure;
      if (!gzip.write(chunk)) await once(gzip, 'drain');
    }
    if (failure !== undefined) throw failure;
  };
  const budget = (adding: number) => {
    if (tar.written + adding > limits.maxUnpackedBytes) {
      throw tooLarge(`the archive of ${describe}, uncompressed,`, limits.maxUnpackedBytes, limits.maxUnpackedBytesKey);
    }
  };
  try {
    tar.comment(commit.oid);
    const walk = async (treeOid: string, prefix: string, inherited: readonly ExportRule[]): Promise<void> => {
      const entries = (await readTree({ ...source, fs: source.fs as never, oid: treeOid })).tree;
      const rules = await withAttributes(source, entries, prefix, inherited);
      for (const entry of gitTreeOrder(entries)) {
        const path = `${prefix}${entry.path}`;
        if (!exportIgnored(rules, path)) await add(entry, path, rules);
      }
    };
    const add = async (entry: TreeEntry, path: string, rules: readonly ExportRule[]): Promise<void> => {
      source.checkDeadline?.();
      budget(0);
      if (entry.mode === MODE.tree) {
        tar.add({ kind: 'directory', path });
        await flush();
        await walk(entry.oid, `${path}/`, rules);
      } else if (entry.mode === MODE.submodule) {
        tar.add({ kind: 'directory', path });
      } else {
        const { blob } = await readBlob({ ...source, fs: source.fs as never, oid: entry.oid });
        budget(blob.length);
        if (entry.mode === MODE.symlink) tar.add({ kind: 'symlink', path, target: Buffer.from(blob).toString('utf8') });
        else tar.add({ kind: 'file', path, data: blob, executable: entry.mode === MODE.executable });
      }
      await flush();
    };
    await addSubPath(source, commit.commit.tree, subPath, tar, add, walk, describe);
    tar.end();
    await flush();
    gzip.end();
    await once(gzip, 'end');
    if (failure !== undefined) throw failure;
    return Buffer.concat(output);
  } finally {
    gzip.destroy();
  }
}

/** The whole tree, or the directories leading to `subPath` and then what it names. */
async function addSubPath(
  source: ArchiveSource,
  rootTree: string,
  subPath: readonly string[],
  tar: TarWriter,
  add: (entry: TreeEntry, path: string, rules: readonly ExportRule[]) => Promise<void>,
  walk: (treeOid: string, prefix: string, rules: readonly ExportRule[]) => Promise<void>,
  describe: string,
): Promise<void> {
  if (subPath.length === 0) return walk(rootTree, '', []);
  let tree = rootTree;
  let rules: readonly ExportRule[] = [];
  for (let i = 0; i < subPath.length; i++) {
    const name = subPath[i]!;
    const entries = (await readTree({ ...source, fs: source.fs as never, oid: tree })).tree;
    rules = await withAttributes(source, entries, i === 0 ? '' : `${subPath.slice(0, i).join('/')}/`, rules);
    const entry = entries.find((e) => e.path === name);
    const path = subPath.slice(0, i + 1).join('/');
    if (entry === undefined || (i < subPath.length - 1 && entry.mode !== MODE.tree)) {
      throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${describe} has no ${path}`, { subPath: subPath.join('/') });
    }
    if (i === subPath.length - 1) return add(entry, path, rules);
    tar.add({ kind: 'directory', path });
    tree = entry.oid;
  }
}

/** The rules in force in a directory: its parents', then its own `.gitattributes` (a regular file) if it has one. */
async function withAttributes(
  source: ArchiveSource,
  entries: readonly TreeEntry[],
  prefix: string,
  inherited: readonly ExportRule[],
): Promise<readonly ExportRule[]> {
  const file = entries.find((e) => e.path === ATTRIBUTES_FILE && e.type === 'blob' && e.mode !== MODE.symlink);
  if (file === undefined) return inherited;
  const { blob } = await readBlob({ ...source, fs: source.fs as never, oid: file.oid });
  const own = exportRules(Buffer.from(blob).toString('utf8'), prefix);
  return own.length === 0 ? inherited : [...inherited, ...own];
}
