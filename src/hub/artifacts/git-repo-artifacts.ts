import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRemote, expandOid, fetch as gitFetch, init as gitInit, type CommitObject } from 'isomorphic-git';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requestInvalid, requiredReference } from './artifact.ts';
import { basicAuthSource, tokenSource, type BasicKeys, type SecretSource, type TokenKeys } from './artifact-secrets.ts';
import { shownUrl, type BoundedHttpClient } from './bounded-http.ts';
import { FetchSlots } from './fetch-slots.ts';
import type { CredentialOrigins } from './credential-origins.ts';
import { DEFAULT_GIT_REF } from './git-ref.ts';
import { checkPackSize } from './git-pack-limits.ts';
import { gitTransport, type GitTransport } from './git-http-transport.ts';
import { archiveTree, commitOf, type ArchiveSource } from './git-tree-archive.ts';

/**
 * `git/repo`, as Clouddriver's GitRepoArtifactCredentials serves it: the reference is the repository's
 * URL, the version a branch or tag (`master` when absent) or a commit id, and the sub-path `location`,
 * else `metadata.subPath`. The answer is what `git archive --format=tgz <version> [<sub-path>]` writes
 * from a `git clone --branch <version> --depth 1`.
 *
 * No git program is run: isomorphic-git fetches over the hub's bounded HTTP client (git-http-transport.ts)
 * into a temporary directory that is removed after every fetch, whatever happens, and the archive is
 * written from the fetched objects (git-tree-archive.ts). Only http(s) URLs are fetched: SSH needs a git
 * (or ssh) program, so Clouddriver's ssh* account keys are refused. An account with credentials fetches
 * only from its `origins` (the repository URL is the caller's choice), and sends them to that origin
 * only, never across a redirect.
 *
 * Limits: the answers of one fetch together within artifacts.maxBytes; the pack's objects unpacked, and
 * the archive before compression, within GIT_UNPACKED_FACTOR × artifacts.maxBytes; the archive itself
 * within artifacts.maxBytes; at most GIT_MAX_PACK_OBJECTS objects in a pack and GIT_MAX_REFS refs
 * advertised; the whole fetch, requests, indexing and archiving, within artifacts.timeoutMs of its start
 * (checked between the phases, and at every file the fetch writes); at most GIT_MAX_CONCURRENT_FETCHES
 * git fetches at once (each indexes a pack on the event loop and holds it in memory), with
 * GIT_MAX_QUEUED_FETCHES more waiting. These are slots of their own, not artifacts.maxConcurrentFetches':
 * a git fetch makes several requests, each taking one of those, so sharing them would deadlock.
 */

/** How many times artifacts.maxBytes a repository's objects may unpack to (source compresses about 4:1 in git). */
export const GIT_UNPACKED_FACTOR = 5;
/** Most refs a repository may advertise: a fetch by abbreviated commit id writes every one of them to disk. */
export const GIT_MAX_REFS = 10_000;
/** git/repo fetches running at once, all accounts together. */
export const GIT_MAX_CONCURRENT_FETCHES = 2;
/** git/repo fetches waiting for one of those (for at most artifacts.timeoutMs); beyond, ARTIFACT_FETCH_BUSY. */
export const GIT_MAX_QUEUED_FETCHES = 4;

/** The slots every git/repo account shares (artifact-accounts.ts makes one set per ArtifactService). */
export function gitFetchSlots(): FetchSlots {
  return new FetchSlots({
    maxConcurrent: GIT_MAX_CONCURRENT_FETCHES,
    maxQueued: GIT_MAX_QUEUED_FETCHES,
    label: { what: 'git repository fetches', maxConcurrentKey: 'GIT_MAX_CONCURRENT_FETCHES', maxQueuedKey: 'GIT_MAX_QUEUED_FETCHES' },
  });
}
/** A commit id, full or abbreviated as git shows it (at least 7 hex digits). */
const COMMIT_ID = /^[0-9a-f]{7,40}$/;
const FULL_COMMIT_ID_LENGTH = 40;
/** The user name Clouddriver puts before a token when an account has no username (`token:<token>@host`). */
const TOKEN_USER = 'token';
/**
 * What git refuses in a ref name (git check-ref-format), and a leading dash: a version is a branch, tag
 * or commit, never a path (`..`) or an option.
 */
const BAD_REF_NAME = /(^|[/.])([/.]|$)|^@$|@\{|[\x00-\x20\x7f~^:?*[\\]|\.lock(\/|$)|^-/;
const TEMP_PREFIX = 'scale-agent-git-';
const REMOTE = 'origin';

export interface GitRepoLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** An account's keys as the configuration gives them (artifact-config.ts, gitRepoAccountSchema). */
export interface GitRepoAccountKeys extends BasicKeys, TokenKeys {
  name: string;
}

/**
 * The Authorization header an account sends, as Clouddriver's git command line authenticates: username
 * and password; else username and token; else the token as the password of the user `token`. All are
 * HTTP basic authentication.
 */
export function gitAuthorization(account: GitRepoAccountKeys, where: string, env: NodeJS.ProcessEnv): SecretSource | undefined {
  const basic = basicAuthSource(account, where, env);
  if (basic !== undefined) return basic;
  const token = tokenSource(account, where, env);
  if (token === undefined) return undefined;
  const user = account.username ?? TOKEN_USER;
  return { value: () => `Basic ${Buffer.from(`${user}:${token.value()}`, 'utf8').toString('base64')}` };
}

/** The sub-path's components: `location`, else `metadata.subPath` (Clouddriver's order); `..` is refused. */
export function subPathOf(artifact: Artifact): string[] {
  const fromMetadata = artifact.metadata?.subPath;
  const text = artifact.location !== undefined && artifact.location !== '' ? artifact.location : typeof fromMetadata === 'string' ? fromMetadata : '';
  const parts = text.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw requestInvalid(artifact.location ? 'location' : 'metadata.subPath', `"${text}" leaves the repository (..)`);
  return parts;
}

/** The repository URL without a trailing slash (isomorphic-git appends `/info/refs`); only http(s). */
function repositoryUrl(reference: string): URL {
  let url: URL;
  try {
    url = new URL(reference);
  } catch {
    throw requestInvalid('reference', `"${reference}" is not a URL (git/repo fetches http(s) repository URLs; SSH is not supported by the hub)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw requestInvalid('reference', `${url.protocol}… repository URLs are not fetched: the hub fetches git over http(s) only (SSH needs a git program)`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  // The repository is the path: git appends /info/refs and /git-upload-pack to it.
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * The isomorphic-git file system: node's, with every packfile checked before isomorphic-git indexes it,
 * and nothing more written or read once `expired()` says the fetch's deadline has passed (it throws the
 * ARTIFACT_FETCH_TIMEOUT). isomorphic-git turns some read failures into "not found": the caller checks
 * the deadline again whatever error comes out.
 */
export function guardedFs(limit: number, key: string, expired: () => ScaleAgentError | undefined): object {
  const checked = new WeakMap<object, unknown>();
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const timeout = expired();
      return timeout === undefined ? fn(...args) : Promise.reject(timeout);
    };
  return {
    readFile: guard(fsp.readFile as (...args: unknown[]) => Promise<unknown>),
    mkdir: guard(fsp.mkdir as (...args: unknown[]) => Promise<unknown>),
    rmdir: fsp.rmdir,
    rm: fsp.rm,
    unlink: fsp.unlink,
    stat: fsp.stat,
    lstat: fsp.lstat,
    readdir: guard(fsp.readdir as (...args: unknown[]) => Promise<unknown>),
    readlink: fsp.readlink,
    symlink: guard(fsp.symlink as (...args: unknown[]) => Promise<unknown>),
    async writeFile(file: string, data: Uint8Array | string, options?: unknown) {
      const timeout = expired();
      if (timeout !== undefined) throw timeout;
      if (file.endsWith('.pack') && typeof data !== 'string') {
        // isomorphic-git retries a failed write once (after creating the directory): check each pack once.
        if (!checked.has(data)) {
          try {
            checkPackSize(data, { limit, key });
            checked.set(data, undefined);
          } catch (err) {
            checked.set(data, err);
          }
        }
        const failure = checked.get(data);
        if (failure !== undefined) throw failure;
      }
      return fsp.writeFile(file, data, options as never);
    },
  };
}

function isGitError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export class GitRepoArtifactCredentials implements ArtifactCredentials {
  /** Clouddriver's GitRepoArtifactCredentials.CREDENTIALS_TYPE. */
  readonly credentialsType = 'git/repo';
  readonly types = ['git/repo'] as const;

  constructor(
    readonly name: string,
    private readonly client: BoundedHttpClient,
    private readonly authorization: SecretSource | undefined,
    private readonly origins: CredentialOrigins,
    private readonly limits: GitRepoLimits,
    /** Shared by every git/repo account of the service; one set per account when not given (tests). */
    private readonly slots: FetchSlots = gitFetchSlots(),
  ) {}

  handles(type: string): boolean {
    return type === 'git/repo';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    const url = repositoryUrl(requiredReference(artifact));
    this.origins.check(url.href);
    const version = artifact.version === undefined || artifact.version.trim() === '' ? DEFAULT_GIT_REF : artifact.version.trim();
    if (BAD_REF_NAME.test(version)) throw requestInvalid('version', `"${version}" is not a branch, tag or commit name`);
    const subPath = subPathOf(artifact);
    const maxUnpackedBytes = this.limits.maxBytes * GIT_UNPACKED_FACTOR;
    const unpackedKey = `${GIT_UNPACKED_FACTOR} × artifacts.maxBytes`;
    const describe = `${shownUrl(url)} at ${version}`;
    const release = await this.slots.acquire(this.limits.timeoutMs);
    const deadline = new AbortController();
    const endsAt = Date.now() + this.limits.timeoutMs;
    const timer = setTimeout(() => deadline.abort(), this.limits.timeoutMs);
    // The clock too: while isomorphic-git indexes a pack the event loop is busy and the timer cannot fire.
    const expired = (): ScaleAgentError | undefined => {
      if (!deadline.signal.aborted && Date.now() < endsAt) return undefined;
      deadline.abort();
      return new ScaleAgentError(
        Errors.ARTIFACT_FETCH_TIMEOUT,
        `fetching the git repository ${describe} took longer than ${this.limits.timeoutMs} ms (artifacts.timeoutMs)`,
        { limit: this.limits.timeoutMs },
      );
    };
    const checkDeadline = () => {
      const timeout = expired();
      if (timeout !== undefined) throw timeout;
    };
    let dir: string | undefined;
    try {
      dir = await fsp.mkdtemp(join(tmpdir(), TEMP_PREFIX));
      const source: ArchiveSource = { fs: guardedFs(maxUnpackedBytes, unpackedKey, expired), gitdir: dir, cache: {}, checkDeadline };
      const transport = gitTransport({
        client: this.client,
        origin: url.origin,
        authorization: this.authorization,
        maxBytes: this.limits.maxBytes,
        maxBytesKey: 'artifacts.maxBytes',
        signal: deadline.signal,
        maxRefs: GIT_MAX_REFS,
      });
      await gitInit({ fs: source.fs as never, gitdir: dir, bare: true });
      // isomorphic-git's fetch needs the remote's refspec (git clone writes the same).
      await addRemote({ fs: source.fs as never, gitdir: dir, remote: REMOTE, url: url.href });
      const commit = await this.fetchVersion(source, transport, url.href, version, describe);
      checkDeadline();
      return await archiveTree(
        source,
        commit,
        subPath,
        { maxBytes: this.limits.maxBytes, maxBytesKey: 'artifacts.maxBytes', maxUnpackedBytes, maxUnpackedBytesKey: unpackedKey },
        describe,
      );
    } catch (err) {
      // A deadline that passed is the cause, whatever isomorphic-git made of the refused file operation.
      checkDeadline();
      if (isScaleAgentError(err)) throw err;
      throw new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `could not fetch the git repository ${describe}: ${errorMessage(err)}`, {}, { cause: err });
    } finally {
      clearTimeout(timer);
      if (dir !== undefined) await fsp.rm(dir, { recursive: true, force: true });
      release();
    }
  }

  /**
   * The commit `version` names, fetched with depth 1: a branch, else a tag (as `git clone --branch`,
   * which prefers the branch when a name is both); a commit id the server does not advertise as a ref is
   * asked for directly (servers that allow unadvertised objects — GitHub, GitLab — answer with depth 1),
   * else looked for in a full fetch of the branches, then of the tags too, as Clouddriver falls back to
   * a full clone. Every ref written is one the advertisement held, at most GIT_MAX_REFS.
   */
  private async fetchVersion(
    source: ArchiveSource,
    http: GitTransport,
    url: string,
    version: string,
    describe: string,
  ): Promise<{ oid: string; commit: CommitObject }> {
    const common = { fs: source.fs as never, http, gitdir: source.gitdir, url, remote: REMOTE, cache: source.cache };
    const isCommitId = COMMIT_ID.test(version);
    const refs = await http.advertisedRefs(url);
    if (refs.size === 0) throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${shownUrl(new URL(url))} is empty (it has no refs)`, {});
    const branch = `refs/heads/${version}`;
    try {
      const fetched = await gitFetch({ ...common, ref: refs.has(branch) ? branch : version, singleBranch: true, depth: 1, tags: false });
      if (fetched.fetchHead === null) throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${shownUrl(new URL(url))} is empty (it has no refs)`, {});
      source.checkDeadline?.();
      // A full commit id is sent as asked; a server that does not give it may answer without it.
      return await commitOf(source, fetched.fetchHead);
    } catch (err) {
      if (isScaleAgentError(err) && !(isCommitId && isScaleAgentError(err, Errors.ARTIFACT_NOT_FOUND.code))) throw err;
      if (!isCommitId) {
        if (isGitError(err, 'NotFoundError')) throw notFound(describe, version);
        throw err;
      }
    }
    for (const tags of [false, true]) {
      source.checkDeadline?.();
      await gitFetch({ ...common, ref: 'HEAD', singleBranch: false, tags });
      source.checkDeadline?.();
      try {
        const oid =
          version.length === FULL_COMMIT_ID_LENGTH ? version : await expandOid({ fs: common.fs, gitdir: common.gitdir, oid: version, cache: common.cache });
        return await commitOf(source, oid);
      } catch (err) {
        if (!(isScaleAgentError(err) || isGitError(err, 'NotFoundError') || isGitError(err, 'AmbiguousError'))) throw err;
        if (isGitError(err, 'AmbiguousError') || isScaleAgentError(err, Errors.ARTIFACT_FETCH_TIMEOUT.code)) throw wrapNotFound(err, describe, version);
      }
    }
    throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${describe}: ${version} is not a branch, tag or commit of the repository`, { version });
  }
}

/** The fallback's failure: a deadline passes on as is, anything else is the version not being found. */
function wrapNotFound(err: unknown, describe: string, version: string): unknown {
  if (isScaleAgentError(err, Errors.ARTIFACT_FETCH_TIMEOUT.code)) return err;
  return new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${describe}: ${version} is not a branch, tag or commit of the repository`, { version });
}

function notFound(describe: string, version: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `${describe}: ${version} is not a branch or tag of the repository`, { version });
}
