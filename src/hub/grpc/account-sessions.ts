import { create } from '@bufbuild/protobuf';
import { Errors } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { AccountAcceptanceSchema, HubMessageSchema } from '../../protocol/index.ts';
import type { AccountSessions, ServingSession } from '../replicas/account-release.ts';
import type { CachingLeases } from '../replicas/caching-leases.ts';
import type { AgentSession } from './agent-session.ts';
import type { SessionRegistry } from './session-registry.ts';

export interface RegistryAccountSessionsOptions {
  hubId: string;
  registry: SessionRegistry;
  /** The caching leases of this replica (absent in tests of a lone replica without them). */
  leases?: CachingLeases;
  logger: Logger;
}

/**
 * This replica's agent sessions as an account release asks them (replicas/account-release.ts): which
 * serve an account, and ending their hold on it. A detached session's agent is told the account is
 * refused (ACCOUNT_RELEASED) in an account update reply, as any refusal: it stops caching it, and
 * declares it again after its refusal backoff, when the name is registered anew for whichever cluster
 * declares it first.
 */
export class RegistryAccountSessions implements AccountSessions {
  constructor(private readonly options: RegistryAccountSessionsOptions) {}

  serving(account: string): ServingSession[] {
    return this.holding(account).map((session) => this.ref(session));
  }

  async detach(account: string, reason: string): Promise<ServingSession[]> {
    const { registry, leases, logger } = this.options;
    const sessions = this.holding(account);
    for (const session of sessions) {
      session.unreachable.delete(account);
      // Every session serving the account is detached, so a successor the registry names here is detached in turn.
      registry.detach(session, account);
      await leases?.release(account, session.id);
      session.send(
        create(HubMessageSchema, {
          kind: {
            case: 'accountUpdateReply',
            value: {
              accounts: [create(AccountAcceptanceSchema, { account, accepted: false, refusalCode: Errors.ACCOUNT_RELEASED.code, refusalMessage: reason })],
            },
          },
        }),
      );
      logger.warn({ account, agentId: session.agentId, sessionId: session.id, code: Errors.ACCOUNT_RELEASED.code }, `told the agent: ${reason}`);
    }
    return sessions.map((session) => this.ref(session));
  }

  /** The live sessions that serve the account here: declared it (caching or standing by), or declared it unreachable. */
  private holding(account: string): AgentSession[] {
    return this.options.registry.all().filter((s) => !s.isClosed && (s.accounts.has(account) || s.unreachable.has(account)));
  }

  private ref(session: AgentSession): ServingSession {
    return { hubId: this.options.hubId, agentId: session.agentId, sessionId: session.id };
  }
}
