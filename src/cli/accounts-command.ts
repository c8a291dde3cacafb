import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import { isPlainObject } from '../common/config.ts';
import { Errors, ScaleAgentError, errorMessage } from '../common/errors.ts';
import { HTTP_ACCEPTED, HTTP_CONFLICT, HTTP_CREATED, HTTP_NO_CONTENT, HTTP_OK } from '../common/http-status.ts';
import { HubRestClient, hubError, withHubConnection, type HubConnectionFlags } from './hub-rest-client.ts';

/*
 * `scale-agent accounts`: the hub's accounts as an operator manages them, through its REST API
 * (docs/operations.md, "Dynamic accounts"): list and read them with their status, apply definitions
 * from a file, delete them, import a Clouddriver's Kubernetes accounts, and release a name.
 */

type Json = Record<string, unknown>;

/** Where the commands write, and how they fail without an error of their own; a test passes its own. */
export interface CommandOutput {
  out: (text: string) => void;
  /** The process's exit code once the command is done (an import that refused some accounts). */
  exitCode: (code: number) => void;
}

const STDOUT: CommandOutput = {
  out: (text) => process.stdout.write(text),
  exitCode: (code) => {
    process.exitCode = code;
  },
};

const OUTPUTS = ['table', 'json', 'yaml'] as const;
type OutputFormat = (typeof OUTPUTS)[number];

interface OutputFlags {
  output: OutputFormat;
}

const ACCOUNT_DEFINITION_EXISTS = Errors.ACCOUNT_DEFINITION_EXISTS.code;

function readText(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScaleAgentError(Errors.CONFIG_FILE_UNREADABLE, `cannot read ${file}: ${errorMessage(err)}`, { path: file });
  }
}

/** The accounts of a definitions file: one per document, or a list in a document. */
function accountsOf(file: string, text: string): Json[] {
  const documents = parseAllDocuments(text);
  const out: Json[] = [];
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    if (document.errors.length > 0) {
      throw new ScaleAgentError(Errors.CONFIG_INVALID, `${file} is not valid YAML or JSON: ${document.errors[0]!.message}`, { path: file });
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    for (const entry of Array.isArray(value) ? value : [value]) {
      if (!isPlainObject(entry) || typeof entry.name !== 'string') {
        throw new ScaleAgentError(Errors.CONFIG_INVALID, `${file}: every account definition is an object with a name`, { path: file });
      }
      out.push(entry);
    }
  }
  if (out.length === 0) throw new ScaleAgentError(Errors.CONFIG_INVALID, `${file} holds no account definition`, { path: file });
  return out;
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function show(output: CommandOutput, format: OutputFormat, value: unknown, asTable: () => string): void {
  if (format === 'json') output.out(`${JSON.stringify(value, null, 2)}\n`);
  else if (format === 'yaml') output.out(toYaml(value));
  else output.out(asTable());
}

const text = (value: unknown): string => (value === undefined || value === null ? '-' : String(value));

function accountsTable(accounts: Json[]): string {
  const rows = accounts.map((a) => {
    const agent = a.agent as Json | undefined;
    return [text(a.name), a.dynamic === true ? 'dynamic' : 'static', text(a.status), text(a.zoneId), text(agent?.id), text(a.statusReason ?? '')];
  });
  return table([['NAME', 'SOURCE', 'STATUS', 'ZONE', 'AGENT', 'REASON'], ...rows]);
}

function importTable(report: Json): string {
  const accounts = (report.accounts as Json[]) ?? [];
  const rows = accounts.map((a) => {
    const detail = a.reason ?? (Array.isArray(a.changes) ? `changes: ${(a.changes as string[]).join(', ')}` : '');
    const ignored = isPlainObject(a.ignored) ? ` (ignored: ${Object.keys(a.ignored).join(', ')})` : '';
    return [text(a.action), text(a.name), text(a.source), `${String(detail)}${ignored}`];
  });
  const summary = report.summary as Json;
  const verb = report.dryRun === true ? 'would' : 'did';
  return (
    table([['ACTION', 'NAME', 'SOURCE', 'DETAIL'], ...rows]) +
    `${report.dryRun === true ? 'dry run: ' : ''}${verb} create ${text(summary.create)}, update ${text(summary.update)}, leave ${text(summary.unchanged)} unchanged; ${text(summary.refused)} refused\n`
  );
}

function outputFormat(value: string): OutputFormat {
  if (!(OUTPUTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${OUTPUTS.join(', ')}`);
  return value as OutputFormat;
}

const outputOption = () => new Option('-o, --output <format>', `${OUTPUTS.join(', ')}`).default('table').argParser(outputFormat);

const path = (name: string) => `/admin/accounts/${encodeURIComponent(name)}`;

/** Creates the account's definition, or replaces it when it exists; says which (or that nothing changed). */
async function applyOne(client: HubRestClient, account: Json): Promise<string> {
  const name = account.name as string;
  const created = await client.call('POST', '/admin/accounts', account);
  if (created.status === HTTP_CREATED) return `account ${name} created`;
  const code = (created.body as Json | undefined)?.code;
  if (created.status !== HTTP_CONFLICT || code !== ACCOUNT_DEFINITION_EXISTS) {
    throw hubError('POST', '/admin/accounts', created);
  }
  const before = (await client.expect('GET', path(name), undefined, HTTP_OK)).body as Json;
  const after = (await client.expect('PUT', path(name), account, HTTP_OK)).body as Json;
  return after.revision === before.revision ? `account ${name} unchanged` : `account ${name} updated (revision ${text(after.revision)})`;
}

export function registerAccountsCommand(program: Command, output: CommandOutput = STDOUT): void {
  const accounts = program
    .command('accounts')
    .description('Manage the hub\'s accounts: dynamic definitions, their status, imports from Clouddriver (docs/operations.md, "Dynamic accounts")');
  const client = (command: Command) => new HubRestClient(command.opts<HubConnectionFlags>());

  withHubConnection(accounts.command('list').description('every account, dynamic or from an agent configuration, with its status'))
    .addOption(outputOption())
    .action(async (flags: OutputFlags, command: Command) => {
      const listed = (await client(command).expect('GET', '/admin/accounts', undefined, HTTP_OK)).body as Json[];
      show(output, flags.output, listed, () => accountsTable(listed));
    });

  withHubConnection(accounts.command('get').argument('<name>').description('one account: its definition, status and registration'))
    .addOption(outputOption().default('yaml'))
    .action(async (name: string, flags: OutputFlags, command: Command) => {
      const account = (await client(command).expect('GET', path(name), undefined, HTTP_OK)).body as Json;
      show(output, flags.output, account, () => accountsTable([account]));
    });

  withHubConnection(accounts.command('apply').description('create or update dynamic account definitions from a YAML or JSON file (- for stdin)'))
    .requiredOption('-f, --file <file>', 'the definitions: one per document, or a list')
    .action(async (flags: { file: string }, command: Command) => {
      const hub = client(command);
      for (const account of accountsOf(flags.file, readText(flags.file))) output.out(`${await applyOne(hub, account)}\n`);
    });

  withHubConnection(
    accounts.command('delete').argument('<name>').description('withdraw a dynamic account from its agents; its row and cache go once they stopped it'),
  ).action(async (name: string, _flags: unknown, command: Command) => {
    const answer = await client(command).expect('DELETE', path(name), undefined, HTTP_ACCEPTED, HTTP_NO_CONTENT);
    output.out(answer.status === HTTP_NO_CONTENT ? `account ${name} deleted\n` : `account ${name} deleting: ${text((answer.body as Json).statusReason)}\n`);
  });

  withHubConnection(
    accounts
      .command('import')
      .description("import a Clouddriver's Kubernetes accounts (its YAML, or a JSON list of Account Management bodies or accounts rows)"),
  )
    .requiredOption('-f, --file <file>', 'clouddriver.yml, a Halyard config, or a JSON export (- for stdin)')
    .option('--dry-run', 'show what would change, write nothing', false)
    .option('--zone <id>', 'the zone of every imported account that names none')
    .option('--state <state>', 'ACTIVE or INACTIVE for every imported account that names none (new ones default to ACTIVE)')
    .addOption(outputOption())
    .action(async (flags: OutputFlags & { file: string; dryRun: boolean; zone?: string; state?: string }, command: Command) => {
      const query = new URLSearchParams({ dryRun: String(flags.dryRun) });
      if (flags.zone !== undefined) query.set('zoneId', flags.zone);
      if (flags.state !== undefined) query.set('state', flags.state);
      const report = (await client(command).expect('POST', `/admin/accounts/import?${query}`, readText(flags.file), HTTP_OK)).body as Json;
      show(output, flags.output, report, () => importTable(report));
      // A script learns that some accounts were not imported.
      if (Number((report.summary as Json | undefined)?.refused ?? 0) > 0) output.exitCode(1);
    });

  withHubConnection(
    accounts
      .command('release')
      .argument('<name>')
      .description("remove an account name's registration and cache from the hub, so another cluster or definition may take it"),
  )
    .option('--force', 'even while an agent still serves it', false)
    .action(async (name: string, flags: { force: boolean }, command: Command) => {
      const answer = await client(command).expect(
        'POST',
        `${path(name)}/release${flags.force ? '?force=true' : ''}`,
        undefined,
        HTTP_OK,
        HTTP_ACCEPTED,
        HTTP_NO_CONTENT,
      );
      output.out(answer.body === undefined ? `account ${name} released\n` : `${JSON.stringify(answer.body, null, 2)}\n`);
    });
}
