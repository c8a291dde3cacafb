import { createHash } from 'node:crypto';
import type { AccountDefinitionRecord } from '../store/types.ts';

/*
 * Which dynamic account definitions an agent serves: the active ones pinned to its zone, and those
 * pinned to none. Pure, so that every replica computes the same set for the same agent.
 */

/** An agent as the assignment sees it: its hello's zone, and which account names its identity may register. */
export interface DefinitionAgent {
  zoneId: string;
  /** Whether its identity allows the account name (a name it may not register would only be refused). */
  allows(account: string): boolean;
}

/** One definition as an agent receives it (AccountDefinition on the wire). */
export interface AssignedDefinition {
  name: string;
  definitionJson: string;
  /** Changes whenever the definition's content does (the agent restarts the account on a new one). */
  revision: string;
}

/** Hex digits of the content hash kept as the revision sent to agents: collisions are out of reach. */
const REVISION_HEX_DIGITS = 16;

/**
 * The revision an agent sees: a hash of the definition's content, not the stored counter, so that a
 * definition removed and created again (the counter back at 1) never looks unchanged to an agent that
 * missed the removal, and a change of zone or state alone restarts nothing.
 */
export function contentRevision(definitionJson: string): string {
  return createHash('sha256').update(definitionJson).digest('hex').slice(0, REVISION_HEX_DIGITS);
}

/** Whether a definition goes to agents at all, and to those of which zone (null: every agent). */
export function isServed(definition: AccountDefinitionRecord): boolean {
  return definition.desiredState === 'active';
}

/** A definition ready to be assigned: what agents receive (revision computed once), and where it goes. */
export interface AssignableDefinition extends AssignedDefinition {
  zoneId: string | null;
  served: boolean;
}

/**
 * The definitions as read, ready to be assigned to every agent: each revision (a hash of the content)
 * computed once per read, not once per agent.
 */
export function assignable(definitions: readonly AccountDefinitionRecord[]): AssignableDefinition[] {
  return definitions
    .map((d) => ({ name: d.name, definitionJson: d.definition, revision: contentRevision(d.definition), zoneId: d.zoneId, served: isServed(d) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The complete set of definitions `agent` serves, by name. */
export function definitionsFor(agent: DefinitionAgent, definitions: readonly AssignableDefinition[]): AssignedDefinition[] {
  return definitions
    .filter((d) => d.served && (d.zoneId === null || d.zoneId === agent.zoneId) && agent.allows(d.name))
    .map(({ name, definitionJson, revision }) => ({ name, definitionJson, revision }));
}

/** Identifies a set as sent: equal sets, equal fingerprints (so an unchanged set is not sent again). */
export function setFingerprint(set: readonly AssignedDefinition[]): string {
  return set.map((d) => `${d.name}\u0000${d.revision}`).join('\u0001');
}
