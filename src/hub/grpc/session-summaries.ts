import { clampText } from '../store/rows.ts';
import { UNREACHABLE_REASON_MAX_LENGTH } from '../store/types.ts';
import type { SessionRegistry } from './session-registry.ts';

/** One agent session of this replica as the status page shows it (plain data: the REST side never sees a session). */
export interface SessionSummary {
  sessionId: string;
  agentId: string;
  agentVersion: string;
  /** The wire protocol version the session speaks (negotiated in the hello). */
  protocolVersion: number;
  /** The agent's address as gRPC saw it. */
  peer: string;
  zoneId: string;
  connectedAt: number;
  /** Its last message (a ping at the least every keep-alive interval): the agent's heartbeat. */
  lastMessageAt: number;
  /** Accounts it serves here, sorted; `caching` those it caches (the rest it stands by for). */
  accounts: string[];
  caching: string[];
  /** Accounts it is configured for but cannot reach, with the reason it gave (cut as the store cuts it). */
  unreachable: Array<{ account: string; reason: string }>;
  /** Accounts this hub refused it, with the refusal's code and message. */
  refused: Array<{ account: string; code: string; message: string }>;
  /** Operations sent to it and not answered yet. */
  pendingOperations: number;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The live sessions of this replica, oldest first. */
export function sessionSummaries(registry: SessionRegistry): SessionSummary[] {
  return registry
    .all()
    .filter((s) => !s.isClosed)
    .sort((a, b) => a.connectedAt - b.connectedAt)
    .map((s) => {
      const accounts = [...s.accounts].sort(byName);
      return {
        sessionId: s.id,
        agentId: s.agentId,
        agentVersion: s.agentVersion,
        protocolVersion: s.protocolVersion,
        peer: s.peer,
        zoneId: s.zoneId,
        connectedAt: s.connectedAt,
        lastMessageAt: s.lastMessageAt,
        accounts,
        caching: accounts.filter((a) => registry.cachingSession(a) === s),
        unreachable: [...s.unreachable.entries()]
          .sort(([a], [b]) => byName(a, b))
          .map(([account, info]) => ({ account, reason: clampText(info.unreachableReason, UNREACHABLE_REASON_MAX_LENGTH) })),
        refused: [...s.refused.entries()].sort(([a], [b]) => byName(a, b)).map(([account, r]) => ({ account, code: r.code, message: r.message })),
        pendingOperations: s.pendingOperations,
      };
    });
}
