import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Errors, errorMessage, ScaleAgentError, type ErrorCode } from '../../common/errors.ts';
import { certificateIdentity, type CertificateIdentity } from '../../common/pki.ts';
import type { IdentityConfig, SecretRef } from '../config.ts';

/** What an agent's call proves about it: a verified client certificate, a bearer token, or nothing. */
export interface PeerCredentials {
  /** Present only when the TLS handshake verified it against grpc.tls.clientCaFile. */
  certificate?: CertificateIdentity;
  token?: string;
}

/** Who an agent is, once authenticated: the identities it matched (none when admitted by allowAnyIdentity). */
export interface AgentIdentity {
  /** Names of the matched `identities[]` entries, sorted. Empty: anonymous, admitted by grpc.allowAnyIdentity. */
  names: string[];
  /** For logs: the certificate subject and SANs, whether a token came. Never the token. */
  certificate?: { subject: string; sans: string[]; serialNumber: string };
  token: boolean;
}

export type Authentication = { ok: true; identity: AgentIdentity } | { ok: false; code: ErrorCode; message: string };

/** The credentials on a server call: the verified peer certificate and the `authorization: Bearer …` metadata. */
export function peerCredentials(call: Pick<ServerDuplexStream<unknown, unknown>, 'getAuthContext' | 'metadata'>): PeerCredentials {
  const out: PeerCredentials = {};
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  if (raw !== undefined) out.certificate = certificateIdentity(raw);
  const header = call.metadata.get('authorization')[0];
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match) out.token = match[1]!.trim();
  }
  return out;
}

/** Authenticates a call from the credentials it came with; unreadable credentials are a refusal, not a throw. */
export function authenticateCall(
  authorizer: Pick<IdentityAuthorizer, 'authenticate'>,
  call: Pick<ServerDuplexStream<unknown, unknown>, 'getAuthContext' | 'metadata'>,
): Authentication {
  try {
    return authorizer.authenticate(peerCredentials(call));
  } catch (err) {
    return { ok: false, code: Errors.AGENT_UNAUTHENTICATED.code, message: `the agent's credentials cannot be read: ${errorMessage(err)}` };
  }
}

/** `*` matches any run of characters (dots and slashes included); everything else is literal. Case-sensitive. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

function sansOf(certificate: CertificateIdentity): string[] {
  return [...certificate.dnsNames, ...certificate.uris, ...certificate.ipAddresses, ...certificate.emails];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

interface CompiledIdentity {
  name: string;
  subject?: RegExp;
  san?: RegExp;
  /** The expected token's digest, read when needed (a file is re-read when it changes). */
  token?: () => Buffer | undefined;
  accounts: RegExp[];
  accountPatterns: string[];
}

/**
 * Decides who an agent is and which account names it may register, from `identities` and
 * `grpc.allowAnyIdentity` (docs/security.md "Identities"):
 *
 * - an identity matches when every field of its `match` does (subject, SAN, token); an agent may match
 *   several and may then register what any of them allows;
 * - a bearer token that matches no identity's token is refused (AGENT_TOKEN_INVALID) when some identity
 *   checks tokens: a wrong credential is not taken for no credential;
 * - an agent that matches nothing is admitted only with grpc.allowAnyIdentity (then for any account),
 *   else refused (AGENT_UNAUTHENTICATED).
 */
export class IdentityAuthorizer {
  private readonly identities: CompiledIdentity[];

  constructor(
    identities: readonly IdentityConfig[],
    private readonly allowAnyIdentity: boolean,
  ) {
    this.identities = identities.map((identity, i) => ({
      name: identity.name,
      ...(identity.match.subject === undefined ? {} : { subject: globToRegExp(identity.match.subject) }),
      ...(identity.match.san === undefined ? {} : { san: globToRegExp(identity.match.san) }),
      ...(identity.match.token === undefined ? {} : { token: tokenReader(identity.match.token, `identities[${i}].match.token`) }),
      accounts: identity.accounts.map(globToRegExp),
      accountPatterns: identity.accounts,
    }));
  }

  get checksTokens(): boolean {
    return this.identities.some((i) => i.token !== undefined);
  }

  authenticate(peer: PeerCredentials): Authentication {
    const presented = peer.token === undefined ? undefined : digest(peer.token);
    const tokenMatches = (identity: CompiledIdentity): boolean => {
      if (presented === undefined) return false;
      const expected = identity.token?.();
      return expected !== undefined && timingSafeEqual(expected, presented);
    };
    const certificate = peer.certificate;
    const matched = this.identities.filter((identity) => {
      if (identity.subject !== undefined) {
        if (certificate === undefined) return false;
        const byCn = certificate.commonName !== undefined && identity.subject.test(certificate.commonName);
        if (!byCn && !identity.subject.test(certificate.subject)) return false;
      }
      if (identity.san !== undefined && (certificate === undefined || !sansOf(certificate).some((san) => identity.san!.test(san)))) return false;
      if (identity.token !== undefined && !tokenMatches(identity)) return false;
      return true;
    });
    if (presented !== undefined && this.checksTokens && !this.identities.some(tokenMatches)) {
      return { ok: false, code: Errors.AGENT_TOKEN_INVALID.code, message: 'the bearer token matches no identity on this hub' };
    }
    const described = {
      ...(certificate === undefined
        ? {}
        : { certificate: { subject: certificate.subject, sans: sansOf(certificate), serialNumber: certificate.serialNumber } }),
      token: peer.token !== undefined,
    };
    if (matched.length > 0) {
      const names = matched.map((m) => m.name).sort();
      return { ok: true, identity: { names, ...described } };
    }
    if (this.allowAnyIdentity) return { ok: true, identity: { names: [], ...described } };
    const what =
      certificate === undefined && peer.token === undefined
        ? 'the agent presented neither a client certificate nor a bearer token'
        : `the agent's ${[certificate === undefined ? undefined : `client certificate (${certificate.subject}${sansOf(certificate).length > 0 ? `; SANs ${sansOf(certificate).join(', ')}` : ''})`, peer.token === undefined ? undefined : 'bearer token'].filter(Boolean).join(' and ')} match no identity`;
    return { ok: false, code: Errors.AGENT_UNAUTHENTICATED.code, message: `${what}, and grpc.allowAnyIdentity is false` };
  }

  /** Whether the identity may register the account name. */
  allows(identity: AgentIdentity, account: string): boolean {
    if (identity.names.length === 0) return this.allowAnyIdentity;
    return this.identities.some((i) => identity.names.includes(i.name) && i.accounts.some((re) => re.test(account)));
  }

  /** The account patterns an identity may register, for refusal messages. */
  allowance(identity: AgentIdentity): string[] {
    return this.identities.filter((i) => identity.names.includes(i.name)).flatMap((i) => i.accountPatterns);
  }
}

/** The identity's token digest: a literal, an environment variable (read now), or a file (re-read when it changes). */
function tokenReader(ref: SecretRef, key: string): () => Buffer | undefined {
  if (typeof ref === 'string' || 'value' in ref) {
    const value = digest(typeof ref === 'string' ? ref : ref.value);
    return () => value;
  }
  if ('env' in ref) {
    const value = process.env[ref.env]?.trim();
    if (value === undefined || value === '') {
      throw new ScaleAgentError(Errors.CONFIG_INVALID, `${key}: environment variable ${ref.env} is not set or empty`, { key });
    }
    const d = digest(value);
    return () => d;
  }
  const read = (): string => readFileSync(ref.file, 'utf8').trim();
  let last: { text: string; digest: Buffer } | undefined;
  try {
    const text = read();
    if (text === '') throw new Error('the file is empty');
    last = { text, digest: digest(text) };
  } catch (err) {
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `${key}: cannot read the token file ${ref.file}: ${(err as Error).message}`, { key });
  }
  return () => {
    try {
      const text = read();
      if (text === '') return undefined;
      if (last?.text !== text) last = { text, digest: digest(text) };
      return last.digest;
    } catch {
      // Gone or unreadable now: this identity's token matches nothing until the file is back.
      return undefined;
    }
  };
}
