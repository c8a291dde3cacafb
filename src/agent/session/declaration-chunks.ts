import { toBinary } from '@bufbuild/protobuf';
import { AccountInfoSchema, GRPC_MAX_MESSAGE_BYTES, MAX_ACCOUNTS_PER_HELLO, SESSION_MESSAGE_MAX_ELEMENTS, type AccountInfo } from '../../protocol/index.ts';

/*
 * The agent's account declarations cut into messages the hub takes: a hello declares at most
 * MAX_ACCOUNTS_PER_HELLO accounts within the hub's decode budget and gRPC's message size, and the
 * accounts beyond follow in account updates. Without this an agent the hub assigned thousands of
 * dynamic accounts (or whose accounts have many kinds each) would be refused at its next hello, and
 * with it every account it serves.
 */

export interface DeclarationLimits {
  maxAccounts: number;
  /** Elements as the hub's decode budget counts them (protocol/message-budget.ts). */
  maxElements: number;
  /** Encoded bytes of the accounts. */
  maxBytes: number;
}

/** Half the hub's element budget and of gRPC's message size: the rest is room for the envelope. */
const SHARE_OF_MESSAGE_BOUNDS = 2;

export const DECLARATION_LIMITS: DeclarationLimits = {
  maxAccounts: MAX_ACCOUNTS_PER_HELLO,
  maxElements: SESSION_MESSAGE_MAX_ELEMENTS / SHARE_OF_MESSAGE_BOUNDS,
  maxBytes: GRPC_MAX_MESSAGE_BYTES / SHARE_OF_MESSAGE_BOUNDS,
};

/** What one declaration counts against the hub's budget: its entry, its cluster, and each kind, namespace, permission, role and property. */
export function declarationElements(info: AccountInfo): number {
  const roles = info.permissions.reduce((sum, p) => sum + p.roles.length, 0);
  return 1 + (info.cluster ? 1 : 0) + info.kinds.length + info.namespaces.length + info.permissions.length + roles + Object.keys(info.properties).length;
}

/** The declarations in order, cut into as few messages as the limits allow (a declaration alone past them is a message of its own). */
export function declarationChunks(accounts: readonly AccountInfo[], limits: DeclarationLimits = DECLARATION_LIMITS): AccountInfo[][] {
  const chunks: AccountInfo[][] = [];
  let current: AccountInfo[] = [];
  let elements = 0;
  let bytes = 0;
  for (const info of accounts) {
    const e = declarationElements(info);
    const b = toBinary(AccountInfoSchema, info).length;
    if (current.length > 0 && (current.length >= limits.maxAccounts || elements + e > limits.maxElements || bytes + b > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      elements = 0;
      bytes = 0;
    }
    current.push(info);
    elements += e;
    bytes += b;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
