import { create } from '@bufbuild/protobuf';
import { formatPath } from '../../common/config.ts';
import { errorMessage } from '../../common/errors.ts';
import { AccountInfoSchema, type AccountDefinition, type AccountInfo } from '../../protocol/index.ts';
import { accountSchema, type AccountConfig } from '../config.ts';

export interface ParsedDefinitions {
  /** Definitions this agent can run. */
  accepted: AccountConfig[];
  /** Those it cannot, each as the declaration that tells the hub why. */
  invalid: Array<{ account: AccountInfo }>;
}

/** JSON.parse without the keys that would reach an object's prototype. */
function parseJsonObject(text: string): unknown {
  return JSON.parse(text, (key: string, value: unknown) => (key === '__proto__' || key === 'constructor' ? undefined : value));
}

/**
 * The hub's dynamic account definitions as account configurations, validated by the same schema as the
 * configuration file's accounts. The hub validated them too, but against its own version: a definition
 * using a key this agent does not know yet is reported, not guessed at.
 */
export function parseAccountDefinitions(definitions: readonly AccountDefinition[]): ParsedDefinitions {
  const out: ParsedDefinitions = { accepted: [], invalid: [] };
  const seen = new Set<string>();
  for (const definition of definitions) {
    const refuse = (reason: string) =>
      out.invalid.push({
        account: create(AccountInfoSchema, { name: definition.name, unreachableReason: `the dynamic account definition is invalid: ${reason}` }),
      });
    if (definition.name === '' || seen.has(definition.name)) continue;
    seen.add(definition.name);
    let raw: unknown;
    try {
      raw = parseJsonObject(definition.definitionJson);
    } catch (err) {
      refuse(`not JSON: ${errorMessage(err)}`);
      continue;
    }
    const result = accountSchema.safeParse(raw);
    if (!result.success) {
      refuse(result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; '));
      continue;
    }
    if (result.data.name !== definition.name) {
      refuse(`it names account ${result.data.name}, not ${definition.name}`);
      continue;
    }
    out.accepted.push(result.data);
  }
  return out;
}
