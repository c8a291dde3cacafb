import { create, toBinary } from '@bufbuild/protobuf';
import type { Logger } from '../../common/logger.ts';
import { assignable, definitionsFor, setFingerprint, type AssignableDefinition } from '../definitions/definition-assignment.ts';
import { HubMessageSchema, MAX_OPERATION_MESSAGE_BYTES, preEncoded } from '../../protocol/index.ts';
import type { AccountDefinitionRecord } from '../store/types.ts';
import type { AgentSession } from './agent-session.ts';
import type { IdentityAuthorizer } from './identities.ts';

/** Beyond this many definitions in a set, the log line counts them instead of naming them. */
const MAX_LOGGED_NAMES = 50;

/** What the session handler tells about its sessions' lives, for whoever sends them more than the welcome. */
export interface SessionLifecycle {
  /** The session's welcome went out: from now on it may be sent anything. */
  sessionStarted(session: AgentSession): void;
  sessionEnded(session: AgentSession): void;
}

export interface DefinitionPushOptions {
  /** Which account names each agent's identity may register: a definition it may not is not sent to it. */
  authorizer?: Pick<IdentityAuthorizer, 'allows'>;
  logger: Logger;
}

/**
 * Sends each of this replica's agent sessions that takes dynamic accounts (its hello said so) the
 * complete set of definitions it serves (AccountDefinitions): right after its welcome, and again
 * whenever the set changes (the definition watch reports every change, at any replica). A set equal
 * to the one last sent to the session is not sent again.
 */
export class DefinitionPush implements SessionLifecycle {
  private definitions: readonly AssignableDefinition[] | undefined;
  /** Sessions past their welcome, with the fingerprint of the set last sent (undefined before the first). */
  private readonly started = new Map<AgentSession, string | undefined>();

  constructor(private readonly options: DefinitionPushOptions) {}

  /** The definitions changed (or were read for the first time): every started session gets its new set. */
  update(definitions: readonly AccountDefinitionRecord[]): void {
    this.definitions = assignable(definitions);
    for (const session of this.started.keys()) this.send(session);
  }

  sessionStarted(session: AgentSession): void {
    if (!session.dynamicAccounts) return;
    this.started.set(session, undefined);
    this.send(session);
  }

  sessionEnded(session: AgentSession): void {
    this.started.delete(session);
  }

  /** How many sessions of this replica take dynamic accounts. */
  get sessions(): number {
    return this.started.size;
  }

  private send(session: AgentSession): void {
    const { logger, authorizer } = this.options;
    // Before the first read of the definitions nothing is known to send: update() sends it.
    if (this.definitions === undefined) return;
    if (session.isClosed) {
      this.started.delete(session);
      return;
    }
    const identity = session.identity;
    const set = definitionsFor(
      { zoneId: session.zoneId, allows: (name) => authorizer === undefined || identity === undefined || authorizer.allows(identity, name) },
      this.definitions,
    );
    const fingerprint = setFingerprint(set);
    if (this.started.get(session) === fingerprint) return;
    const bytes = toBinary(HubMessageSchema, create(HubMessageSchema, { kind: { case: 'accountDefinitions', value: { definitions: set } } }));
    if (bytes.length > MAX_OPERATION_MESSAGE_BYTES) {
      // The agent keeps the set it has; sending this one would end the session (and every account with it).
      logger.error(
        { agentId: session.agentId, sessionId: session.id, definitions: set.length, bytes, limit: MAX_OPERATION_MESSAGE_BYTES },
        'the dynamic account definitions of this agent do not fit in one message; not sent (pin some to other zones)',
      );
      return;
    }
    if (!session.send(preEncoded(HubMessageSchema, bytes))) return;
    this.started.set(session, fingerprint);
    logger.info(
      {
        agentId: session.agentId,
        sessionId: session.id,
        zoneId: session.zoneId,
        ...(set.length <= MAX_LOGGED_NAMES ? { accounts: set.map((d) => d.name) } : {}),
      },
      `sent the agent its ${set.length} dynamic account definition(s)`,
    );
  }
}
