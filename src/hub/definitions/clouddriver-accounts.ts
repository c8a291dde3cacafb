import { formatPath, isPlainObject } from '../../common/config.ts';
import { Errors, ScaleAgentError } from '../../common/errors.ts';

/*
 * Kubernetes accounts as Clouddriver holds them, turned into submissions for the definitions: its
 * Account Management bodies (`{"@type": "kubernetes", "name": …}`, what POST /credentials takes), the
 * rows of its `accounts` table (`{id, type, body}`, what Account Management stores), and its YAML
 * (`kubernetes.accounts`, Halyard's `providers.kubernetes.accounts`).
 */

/** Clouddriver's provider id for Kubernetes: the `@type` of its account definitions. */
export const KUBERNETES_TYPE = 'kubernetes';
/** Jackson's type property on Clouddriver's CredentialsDefinition. */
const TYPE_PROPERTY = '@type';

/** At most this many accounts per import, as one agent may declare in its hello (grpc MAX_ACCOUNTS_PER_HELLO). */
export const MAX_IMPORTED_ACCOUNTS = 5_000;

/** One account found in an import: its submission, or why it cannot be one. */
export interface ImportCandidate {
  /** Where it was found, for the report (`kubernetes.accounts[3]`, `[0].body`). */
  source: string;
  /** Its name, when it has one. */
  name?: string;
  account?: Record<string, unknown>;
  refused?: { code: string; message: string };
}

function unsupportedType(type: unknown, where: string): ScaleAgentError {
  return new ScaleAgentError(
    Errors.ACCOUNT_TYPE_UNSUPPORTED,
    `${where}: only Kubernetes accounts (${TYPE_PROPERTY}: ${KUBERNETES_TYPE}) can be served by agents; this one is ${JSON.stringify(type)}`,
    { type: typeof type === 'string' ? type : String(type) },
  );
}

/**
 * The account keys of a Clouddriver Account Management body (POST/PUT /credentials): `@type` must be
 * `kubernetes` (ACCOUNT_TYPE_UNSUPPORTED otherwise, ACCOUNT_DEFINITION_INVALID when it is missing).
 */
export function accountFromManagementBody(body: unknown, where = '(body)'): Record<string, unknown> {
  if (!isPlainObject(body)) throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_INVALID, `${where}: an account definition is a JSON object`);
  const { [TYPE_PROPERTY]: type, ...account } = body;
  if (type === undefined) {
    throw new ScaleAgentError(
      Errors.ACCOUNT_DEFINITION_INVALID,
      `${where}: ${TYPE_PROPERTY} is missing (Clouddriver Account Management names the provider: "${TYPE_PROPERTY}": "${KUBERNETES_TYPE}")`,
      {
        field: TYPE_PROPERTY,
      },
    );
  }
  if (type !== KUBERNETES_TYPE) throw unsupportedType(type, where);
  return account;
}

function candidate(source: string, entry: unknown): ImportCandidate {
  // A row of the accounts table is named by its id.
  const named = isPlainObject(entry) ? (entry.name ?? entry.id) : undefined;
  const name = typeof named === 'string' ? named : undefined;
  try {
    if (isPlainObject(entry) && 'body' in entry && ('id' in entry || 'type' in entry)) return fromAccountsRow(source, entry);
    const account = isPlainObject(entry) && TYPE_PROPERTY in entry ? accountFromManagementBody(entry, source) : entry;
    if (!isPlainObject(account)) return { source, refused: { code: Errors.ACCOUNT_DEFINITION_INVALID.code, message: `${source}: an account is an object` } };
    return { source, ...(name !== undefined ? { name } : {}), account };
  } catch (err) {
    if (!(err instanceof ScaleAgentError)) throw err;
    return { source, ...(name !== undefined ? { name } : {}), refused: { code: err.code, message: err.message } };
  }
}

/** A row of Clouddriver's `accounts` table: `type` names the provider, `body` is the definition (JSON text or object). */
function fromAccountsRow(source: string, row: Record<string, unknown>): ImportCandidate {
  const id = typeof row.id === 'string' ? row.id : undefined;
  if (row.type !== undefined && row.type !== KUBERNETES_TYPE) throw unsupportedType(row.type, source);
  let body = row.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch (err) {
      throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_INVALID, `${source}.body: not JSON: ${(err as Error).message}`);
    }
  }
  const account = isPlainObject(body) && TYPE_PROPERTY in body ? accountFromManagementBody(body, `${source}.body`) : body;
  if (!isPlainObject(account)) throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_INVALID, `${source}.body: an account is an object`);
  // The row's id is the account's name; the body normally repeats it.
  const named = account.name === undefined && id !== undefined ? { ...account, name: id } : account;
  return { source, ...(typeof named.name === 'string' ? { name: named.name } : {}), account: named };
}

/** Where Clouddriver-style documents keep their Kubernetes accounts, tried in order. */
const ACCOUNT_LISTS: ReadonlyArray<readonly string[]> = [['kubernetes', 'accounts'], ['providers', 'kubernetes', 'accounts'], ['accounts']];

function listAt(document: Record<string, unknown>, path: readonly string[]): unknown[] | undefined {
  let current: unknown = document;
  for (const segment of path) current = isPlainObject(current) ? current[segment] : undefined;
  return Array.isArray(current) ? current : undefined;
}

/**
 * The accounts of an import's documents: an array of Account Management bodies or `accounts` rows, or
 * a YAML/JSON document with `kubernetes.accounts` (Clouddriver's, or an agent's configuration),
 * `providers.kubernetes.accounts` (Halyard's, also under each `deploymentConfigurations[]`) or `accounts`.
 * Throws ACCOUNT_DEFINITION_INVALID when a document holds none, REQUEST_TOO_COMPLEX beyond MAX_IMPORTED_ACCOUNTS.
 */
export function importCandidates(documents: readonly unknown[]): ImportCandidate[] {
  const out: ImportCandidate[] = [];
  const add = (prefix: string, entries: readonly unknown[]) => {
    if (out.length + entries.length > MAX_IMPORTED_ACCOUNTS) {
      throw new ScaleAgentError(Errors.REQUEST_TOO_COMPLEX, `the import holds more than ${MAX_IMPORTED_ACCOUNTS} accounts; import them in parts`, {
        limit: MAX_IMPORTED_ACCOUNTS,
      });
    }
    entries.forEach((entry, i) => out.push(candidate(`${prefix}[${i}]`, entry)));
  };
  documents.forEach((document, d) => {
    const prefix = documents.length > 1 ? `(document ${d + 1}) ` : '';
    if (Array.isArray(document)) return add(prefix, document);
    if (!isPlainObject(document)) {
      throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_INVALID, `${prefix}the import is neither a list of accounts nor a document with kubernetes.accounts`);
    }
    const halyard = Array.isArray(document.deploymentConfigurations) ? document.deploymentConfigurations : [];
    const places: Array<{ at: string; list: unknown[] }> = [];
    for (const path of ACCOUNT_LISTS) {
      const list = listAt(document, path);
      if (list !== undefined) {
        places.push({ at: formatPath(path), list });
        break;
      }
    }
    halyard.forEach((configuration, i) => {
      const list = isPlainObject(configuration) ? listAt(configuration, ['providers', 'kubernetes', 'accounts']) : undefined;
      if (list !== undefined) places.push({ at: formatPath(['deploymentConfigurations', i, 'providers', 'kubernetes', 'accounts']), list });
    });
    if (places.length === 0) {
      throw new ScaleAgentError(
        Errors.ACCOUNT_DEFINITION_INVALID,
        `${prefix}no Kubernetes accounts found: expected kubernetes.accounts (Clouddriver), providers.kubernetes.accounts (Halyard) or a list of Account Management bodies`,
      );
    }
    for (const place of places) add(`${prefix}${place.at}`, place.list);
  });
  return out;
}
