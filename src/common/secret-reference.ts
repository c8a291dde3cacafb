import { Errors, ScaleAgentError } from './errors.ts';

/*
 * Secret references as Spinnaker's Kork and the Armory agent spell them:
 *
 *   encrypted:<engine>!<name>:<value>!<name>:<value>…       the secret's value is the setting's value
 *   encryptedFile:<engine>!<name>:<value>…                  the secret's value is a file's contents
 *
 * Parameter names are letters and digits; a value may hold ':' but not '!'. A reference names where a
 * secret is kept, never the secret itself, so it may appear in logs and errors. Shared: the agent
 * resolves references, and the hub checks those of a dynamic account definition before storing it.
 */

export const ENCRYPTED_PREFIX = 'encrypted:';
export const ENCRYPTED_FILE_PREFIX = 'encryptedFile:';
const PARAM_SEPARATOR = '!';
const NAME_VALUE_SEPARATOR = ':';
const PARAM_NAME = /^[a-zA-Z0-9]+$/;

/** Kubernetes object names: DNS subdomains (Secrets) and DNS labels (namespaces). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_SUBDOMAIN_MAX = 253;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MAX = 63;
/** What a key of a Secret's data may be (the API server's rule). */
const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;
/** One segment of a Vault mount or secret path: anything but what would change the request's meaning. */
const VAULT_SEGMENT = /^[^/?#%\\\s]+$/;

/** Where a secret is kept and which of its keys is meant. */
export type SecretLocation =
  /** A KV secret in HashiCorp Vault: mount (`e`), path below it (`p`), key (`k`); `b:true` = the value is base64. */
  | { engine: 'vault'; mount: string; path: string; key: string; base64: boolean }
  /** A Secret in the cluster the agent runs in (`n`, `k`, optional `ns`; default: the agent's namespace). */
  | { engine: 'k8s'; name: string; key: string; namespace?: string };

export type SecretEngine = SecretLocation['engine'];

export interface SecretReference {
  /** `value` for `encrypted:` (the value itself), `file` for `encryptedFile:` (the contents of a file). */
  form: 'value' | 'file';
  location: SecretLocation;
  /** The reference in its canonical spelling, for messages (it holds no secret). */
  text: string;
}

/** Whether a setting's value is a secret reference (a malformed one included: parse it to find out). */
export function isSecretReference(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith(ENCRYPTED_PREFIX) || value.toLowerCase().startsWith(ENCRYPTED_FILE_PREFIX.toLowerCase()));
}

function invalid(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.SECRET_REFERENCE_INVALID, message, details);
}

/**
 * Parses and validates a reference. Malformed references fail with SECRET_REFERENCE_INVALID, naming the
 * setting (`where`), the engine and the parameters the reference does name; the parts that cannot be
 * read are named by position, not quoted, in case a value that was never meant as a reference landed here.
 */
export function parseSecretReference(value: string, where = 'secret reference'): SecretReference {
  let form: SecretReference['form'];
  let body: string;
  if (value.startsWith(ENCRYPTED_PREFIX)) {
    form = 'value';
    body = value.slice(ENCRYPTED_PREFIX.length);
  } else if (value.toLowerCase().startsWith(ENCRYPTED_FILE_PREFIX.toLowerCase())) {
    form = 'file';
    body = value.slice(ENCRYPTED_FILE_PREFIX.length);
  } else {
    throw invalid(`${where}: not a secret reference (it must begin with ${ENCRYPTED_PREFIX} or ${ENCRYPTED_FILE_PREFIX})`, { where });
  }
  const [engine = '', ...parts] = body.split(PARAM_SEPARATOR);
  const prefix = form === 'value' ? ENCRYPTED_PREFIX : ENCRYPTED_FILE_PREFIX;
  if (engine !== 'vault' && engine !== 'k8s') {
    const named = PARAM_NAME.test(engine) ? `"${engine}"` : 'with an invalid name';
    throw invalid(`${where}: unknown secret engine ${named} after ${prefix} (known: vault, k8s)`, { where });
  }
  if (parts.length === 0) throw invalid(`${where}: ${prefix}${engine} names no parameters (${usage(engine)})`, { where, engine });
  const params = new Map<string, string>();
  parts.forEach((part, i) => {
    const at = part.indexOf(NAME_VALUE_SEPARATOR);
    const name = at < 0 ? '' : part.slice(0, at);
    const paramValue = at < 0 ? '' : part.slice(at + 1);
    if (!PARAM_NAME.test(name) || paramValue === '') {
      throw invalid(`${where}: parameter ${i + 1} of the ${engine} reference is not <name>:<value> (${usage(engine)})`, { where, engine });
    }
    if (params.has(name)) throw invalid(`${where}: the ${engine} reference names parameter "${name}" twice`, { where, engine, parameter: name });
    params.set(name, paramValue);
  });
  const location = engine === 'vault' ? vaultLocation(params, where) : kubernetesLocation(params, where);
  return { form, location, text: formatSecretReference(form, location) };
}

function usage(engine: SecretEngine): string {
  return engine === 'vault' ? 'vault!e:<mount>!p:<path>!k:<key>[!b:true]' : 'k8s!n:<secret>!k:<key>[!ns:<namespace>]';
}

function checkKnown(params: Map<string, string>, known: string[], engine: SecretEngine, where: string): void {
  for (const name of params.keys()) {
    if (!known.includes(name))
      throw invalid(`${where}: the ${engine} reference has an unknown parameter "${name}" (${usage(engine)})`, { where, engine, parameter: name });
  }
}

function required(params: Map<string, string>, name: string, what: string, engine: SecretEngine, where: string): string {
  const value = params.get(name);
  if (value === undefined) throw invalid(`${where}: the ${engine} reference has no ${what} (!${name}:…; ${usage(engine)})`, { where, engine, parameter: name });
  return value;
}

/** A Vault mount or path: segments joined by '/', leading and trailing slashes dropped. */
function vaultPath(value: string, what: string, where: string): string {
  const segments = value.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..' || !VAULT_SEGMENT.test(s))) {
    throw invalid(`${where}: the vault reference's ${what} "${value}" is not a path of plain segments (no '.', '..', '?', '#', '%', '\\' or spaces)`, {
      where,
      engine: 'vault',
    });
  }
  return segments.join('/');
}

function vaultLocation(params: Map<string, string>, where: string): SecretLocation {
  checkKnown(params, ['e', 'p', 'k', 'b'], 'vault', where);
  const mount = vaultPath(required(params, 'e', 'secrets engine mount', 'vault', where), 'mount', where);
  const path = vaultPath(required(params, 'p', 'secret path', 'vault', where), 'path', where);
  const key = required(params, 'k', 'key', 'vault', where);
  const b = params.get('b');
  if (b !== undefined && b !== 'true' && b !== 'false') throw invalid(`${where}: the vault reference's b must be true or false`, { where, engine: 'vault' });
  return { engine: 'vault', mount, path, key, base64: b === 'true' };
}

function kubernetesLocation(params: Map<string, string>, where: string): SecretLocation {
  checkKnown(params, ['n', 'k', 'ns'], 'k8s', where);
  const name = required(params, 'n', 'Secret name', 'k8s', where);
  if (name.length > DNS_SUBDOMAIN_MAX || !DNS_SUBDOMAIN.test(name)) {
    throw invalid(`${where}: the k8s reference's Secret name "${name}" is not a valid object name (lower case DNS subdomain)`, { where, engine: 'k8s' });
  }
  const key = required(params, 'k', 'key', 'k8s', where);
  if (!SECRET_DATA_KEY.test(key)) {
    throw invalid(`${where}: the k8s reference's key "${key}" is not a valid Secret data key (letters, digits, '-', '_', '.')`, { where, engine: 'k8s' });
  }
  const namespace = params.get('ns');
  if (namespace !== undefined && (namespace.length > DNS_LABEL_MAX || !DNS_LABEL.test(namespace))) {
    throw invalid(`${where}: the k8s reference's namespace "${namespace}" is not a valid namespace name (lower case DNS label)`, { where, engine: 'k8s' });
  }
  return namespace === undefined ? { engine: 'k8s', name, key } : { engine: 'k8s', name, key, namespace };
}

/** The canonical spelling of a reference. */
export function formatSecretReference(form: SecretReference['form'], location: SecretLocation): string {
  const prefix = form === 'value' ? ENCRYPTED_PREFIX : ENCRYPTED_FILE_PREFIX;
  if (location.engine === 'vault') return `${prefix}vault!e:${location.mount}!p:${location.path}!k:${location.key}${location.base64 ? '!b:true' : ''}`;
  return `${prefix}k8s!n:${location.name}!k:${location.key}${location.namespace === undefined ? '' : `!ns:${location.namespace}`}`;
}
