import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { yamlErrorPlace } from '../common/yaml-error.ts';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { readBoundedTextFile } from './bounded-file.ts';
import type { ClusterAuth, ClusterCredentials } from './credentials.ts';

export interface LoadKubeconfigOptions {
  /** The kubeconfig file; defaults to the first entry of $KUBECONFIG, then ~/.kube/config. */
  path?: string;
  /** The file's text, when already in memory; relative paths in it still resolve against `path`'s directory (or the cwd). */
  contents?: string;
  /** The context to use; defaults to `current-context`. */
  context?: string;
}

type Section = Record<string, unknown>;

/** Where problems are reported from: the file name, or a stand-in for in-memory text. */
function sourceName(options: LoadKubeconfigOptions): string {
  return options.path ?? '<inline kubeconfig>';
}

function invalid(source: string, message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.KUBECONFIG_INVALID, `kubeconfig ${source}: ${message}`, { source, ...details });
}

/** The default kubeconfig path, as kubectl picks it. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.KUBECONFIG?.split(process.platform === 'win32' ? ';' : ':').find((p) => p.length > 0);
  return fromEnv ?? join(homedir(), '.kube', 'config');
}

async function readDocument(options: LoadKubeconfigOptions): Promise<{ doc: Section; source: string; baseDir: string }> {
  const path = options.contents === undefined ? (options.path ?? defaultKubeconfigPath()) : options.path;
  const source = path ?? sourceName(options);
  let text = options.contents;
  if (text === undefined) {
    try {
      text = await readBoundedTextFile(path as string);
    } catch (err) {
      throw invalid(source, `cannot be read: ${(err as Error).message}`);
    }
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalid(source, `is not valid YAML${yamlErrorPlace(err)}`);
  }
  if (!isSection(doc)) throw invalid(source, 'is not a YAML mapping');
  return { doc, source, baseDir: path === undefined ? process.cwd() : dirname(resolve(path)) };
}

function isSection(value: unknown): value is Section {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(section: Section, key: string, source: string, where: string): string | undefined {
  const value = section[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(source, `${where}.${key} must be a string`);
  return value;
}

/** Finds `name` in a kubeconfig list section (`clusters`, `users`, `contexts`) and returns its inner mapping. */
function findNamed(doc: Section, listKey: string, innerKey: string, name: string, source: string): Section {
  const list = doc[listKey];
  const entries = Array.isArray(list) ? list : [];
  for (const entry of entries) {
    if (isSection(entry) && entry.name === name) {
      const inner = entry[innerKey];
      if (inner === undefined || inner === null) return {};
      if (!isSection(inner)) throw invalid(source, `${listKey} entry "${name}" has no ${innerKey} mapping`);
      return inner;
    }
  }
  const known = entries.filter(isSection).map((e) => String(e.name));
  throw invalid(source, `${innerKey} "${name}" not found (known: ${known.length > 0 ? known.join(', ') : 'none'})`, { [innerKey]: name });
}

/** The context names a kubeconfig defines, e.g. to register one account per context. */
export async function kubeconfigContextNames(options: Omit<LoadKubeconfigOptions, 'context'> = {}): Promise<{ contexts: string[]; current?: string }> {
  const { doc } = await readDocument(options);
  const contexts = (Array.isArray(doc.contexts) ? doc.contexts : []).filter(isSection).map((e) => String(e.name));
  const current = typeof doc['current-context'] === 'string' && doc['current-context'] !== '' ? doc['current-context'] : undefined;
  return current === undefined ? { contexts } : { contexts, current };
}

/**
 * Resolves one context of a kubeconfig into ClusterCredentials: file references are read now (relative
 * to the kubeconfig's directory), `*-data` fields are base64-decoded, and a missing context, cluster or
 * user fails with KUBECONFIG_INVALID naming the file and the missing name.
 */
export async function loadKubeconfig(options: LoadKubeconfigOptions = {}): Promise<ClusterCredentials> {
  const { doc, source, baseDir } = await readDocument(options);
  const contextName = options.context ?? optionalString(doc, 'current-context', source, '(root)');
  if (contextName === undefined) throw invalid(source, 'no context given and no current-context set');
  const context = findNamed(doc, 'contexts', 'context', contextName, source);
  const where = `context "${contextName}"`;
  const clusterName = optionalString(context, 'cluster', source, where);
  if (clusterName === undefined) throw invalid(source, `${where} names no cluster`, { context: contextName });
  const cluster = findNamed(doc, 'clusters', 'cluster', clusterName, source);
  const userName = optionalString(context, 'user', source, where);
  const user = userName === undefined ? {} : findNamed(doc, 'users', 'user', userName, source);

  const clusterWhere = `cluster "${clusterName}"`;
  const server = optionalString(cluster, 'server', source, clusterWhere);
  if (server === undefined) throw invalid(source, `${clusterWhere} has no server`, { cluster: clusterName });
  try {
    new URL(server);
  } catch {
    throw invalid(source, `${clusterWhere} server "${server}" is not a URL`, { cluster: clusterName });
  }
  const files = new FileReader(source, baseDir);
  const caPem = await files.dataOrFile(cluster, 'certificate-authority-data', 'certificate-authority', clusterWhere);
  const credentials: ClusterCredentials = {
    server,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true || cluster['insecure-skip-tls-verify'] === 'true',
    auth: await resolveAuth(user, userName === undefined ? '(no user)' : `user "${userName}"`, files),
  };
  if (caPem !== undefined) credentials.caPem = caPem;
  const tlsServerName = optionalString(cluster, 'tls-server-name', source, clusterWhere);
  if (tlsServerName !== undefined) credentials.tlsServerName = tlsServerName;
  const proxyUrl = optionalString(cluster, 'proxy-url', source, clusterWhere);
  if (proxyUrl !== undefined) credentials.proxyUrl = proxyUrl;
  const namespace = optionalString(context, 'namespace', source, where);
  if (namespace !== undefined) credentials.namespace = namespace;
  return credentials;
}

/** Reads the files a kubeconfig refers to, relative to its directory, with errors that name both. */
class FileReader {
  constructor(
    readonly source: string,
    readonly baseDir: string,
  ) {}

  resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(this.baseDir, path);
  }

  async dataOrFile(section: Section, dataKey: string, fileKey: string, where: string): Promise<string | undefined> {
    const data = optionalString(section, dataKey, this.source, where);
    if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
    const file = optionalString(section, fileKey, this.source, where);
    if (file === undefined) return undefined;
    const path = this.resolvePath(file);
    try {
      return await readBoundedTextFile(path);
    } catch (err) {
      throw invalid(this.source, `${where}.${fileKey}: cannot read ${path}: ${(err as Error).message}`, { path });
    }
  }
}

async function resolveAuth(user: Section, where: string, files: FileReader): Promise<ClusterAuth> {
  const source = files.source;
  if (isSection(user.exec)) return resolveExec(user.exec, `${where}.exec`, files);
  if (user['auth-provider'] !== undefined) throw invalid(source, `${where} uses an auth-provider, which is not supported; use an exec credential plugin`);
  const tokenFile = optionalString(user, 'tokenFile', source, where);
  if (tokenFile !== undefined) return { type: 'tokenFile', path: files.resolvePath(tokenFile) };
  const token = optionalString(user, 'token', source, where);
  if (token !== undefined) return { type: 'token', token };
  const certPem = await files.dataOrFile(user, 'client-certificate-data', 'client-certificate', where);
  const keyPem = await files.dataOrFile(user, 'client-key-data', 'client-key', where);
  if (certPem !== undefined && keyPem !== undefined) return { type: 'clientCertificate', certPem, keyPem };
  if (certPem !== undefined || keyPem !== undefined)
    throw invalid(source, `${where} has a client certificate without its key (or a key without its certificate)`);
  if (user.username !== undefined || user.password !== undefined) throw invalid(source, `${where} uses basic authentication, which is not supported`);
  return { type: 'none' };
}

function resolveExec(exec: Section, where: string, files: FileReader): ClusterAuth {
  const source = files.source;
  const command = optionalString(exec, 'command', source, where);
  if (command === undefined) throw invalid(source, `${where} has no command`);
  const apiVersion = optionalString(exec, 'apiVersion', source, where);
  if (apiVersion === undefined) throw invalid(source, `${where} has no apiVersion`);
  const args = exec.args === undefined || exec.args === null ? [] : exec.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw invalid(source, `${where}.args must be a list of strings`);
  const env: Record<string, string> = {};
  const envList = exec.env === undefined || exec.env === null ? [] : exec.env;
  if (!Array.isArray(envList)) throw invalid(source, `${where}.env must be a list of {name, value}`);
  for (const entry of envList) {
    if (!isSection(entry) || typeof entry.name !== 'string' || typeof entry.value !== 'string')
      throw invalid(source, `${where}.env entries need a string name and value`);
    env[entry.name] = entry.value;
  }
  // Like client-go: a command with a path separator but relative is relative to the kubeconfig; a bare name is looked up on PATH.
  const resolvedCommand = command.includes('/') && !isAbsolute(command) ? files.resolvePath(command) : command;
  return { type: 'exec', command: resolvedCommand, args: args as string[], env, apiVersion };
}
