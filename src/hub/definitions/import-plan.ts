import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { AccountDefinitionRecord, AccountDefinitionWrite, AccountRecord } from '../store/types.ts';
import type { ImportCandidate } from './clouddriver-accounts.ts';
import { parseDefinition, type RequestedState } from './definition-input.ts';

/*
 * What an import would do to each account, decided before anything is written (and all that a dry run
 * does): create a definition, update one, leave one unchanged, or refuse the account with the reason.
 */

export type ImportAction = 'create' | 'update' | 'unchanged' | 'refused';

export interface ImportPlanEntry {
  /** The account's name; null when it has none. */
  name: string | null;
  /** Where the account was found in the import. */
  source: string;
  action: ImportAction;
  /** Why it is refused (action refused), with the error code it would meet through the API. */
  code?: string;
  reason?: string;
  /** For an update: what changes (the definition's top-level keys, `zoneId`, `state`). */
  changes?: string[];
  /** Clouddriver-only keys left out, each with why they mean nothing here. */
  ignored?: Record<string, string>;
  /** What is written (create, update). */
  write?: AccountDefinitionWrite;
  /** The revision the update was planned against (it is applied only while the definition still has it). */
  expectRevision?: number;
}

export interface ImportOptions {
  /** The zone of every imported account that names none (an existing definition keeps its own otherwise). */
  zoneId?: string | null;
  /** The state of every imported account that names none: new ones are ACTIVE, existing ones keep theirs otherwise. */
  desiredState?: RequestedState;
}

/** What the import finds in place: definitions and registered accounts, by name. */
export interface ImportContext {
  definitions: ReadonlyMap<string, AccountDefinitionRecord>;
  accounts: ReadonlyMap<string, AccountRecord>;
}

function changedKeys(before: AccountDefinitionRecord, after: AccountDefinitionWrite): string[] {
  const a = JSON.parse(before.definition) as Record<string, unknown>;
  const b = JSON.parse(after.definition) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changed = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  if (before.zoneId !== after.zoneId) changed.push('zoneId');
  if (before.desiredState !== after.desiredState) changed.push('state');
  return changed;
}

function refused(candidate: ImportCandidate, code: string, reason: string): ImportPlanEntry {
  return { name: candidate.name ?? null, source: candidate.source, action: 'refused', code, reason };
}

/** The plan, one entry per candidate in order. Pure. */
export function planImport(candidates: readonly ImportCandidate[], context: ImportContext, options: ImportOptions = {}): ImportPlanEntry[] {
  const seen = new Map<string, string>();
  return candidates.map((candidate) => {
    if (candidate.refused !== undefined) return refused(candidate, candidate.refused.code, candidate.refused.message);
    const existing = candidate.name === undefined ? undefined : context.definitions.get(candidate.name);
    let parsed;
    try {
      parsed = parseDefinition(candidate.account, {
        fallback: {
          zoneId: options.zoneId !== undefined ? options.zoneId : (existing?.zoneId ?? null),
          desiredState: options.desiredState ?? (existing?.desiredState === 'inactive' ? 'inactive' : 'active'),
        },
      });
    } catch (err) {
      if (!(err instanceof ScaleAgentError)) throw err;
      return refused(candidate, err.code, err.message);
    }
    const { write, ignored } = parsed;
    const extra = Object.keys(ignored).length > 0 ? { ignored } : {};
    const base = { name: write.name, source: candidate.source, ...extra };
    const first = seen.get(write.name);
    if (first !== undefined) {
      return {
        ...base,
        action: 'refused',
        code: Errors.ACCOUNT_DEFINITION_INVALID.code,
        reason: `account ${write.name} appears twice in the import (first at ${first})`,
      };
    }
    seen.set(write.name, candidate.source);
    if (existing?.desiredState === 'deleting') {
      return {
        ...base,
        action: 'refused',
        code: Errors.ACCOUNT_DEFINITION_CONFLICT.code,
        reason: `account ${write.name} is being deleted; import it again once it is gone`,
      };
    }
    if (existing === undefined) {
      const account = context.accounts.get(write.name);
      if (account?.status === 'connected') {
        return {
          ...base,
          action: 'refused',
          code: Errors.ACCOUNT_NOT_DYNAMIC.code,
          reason: `account ${write.name} is served by agent ${account.agentId ?? '(unknown)'} from its own configuration; remove it there first`,
        };
      }
      return { ...base, action: 'create', write };
    }
    const changes = changedKeys(existing, write);
    if (changes.length === 0) return { ...base, action: 'unchanged' };
    return { ...base, action: 'update', changes, write, expectRevision: existing.revision };
  });
}
