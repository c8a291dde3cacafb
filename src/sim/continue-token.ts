import { badRequest } from './status.ts';

/**
 * The opaque `continue` token of a paged list, in the real API server's format: base64 of
 * `{"v":"meta.k8s.io/v1","rv":<list resourceVersion>,"start":"<key to continue after>"}`.
 */
export interface ContinueToken {
  resourceVersion: number;
  /** The key of the last object returned; the next page starts after it. */
  after: string;
}

const TOKEN_VERSION = 'meta.k8s.io/v1';

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, rv: token.resourceVersion, start: token.after })).toString('base64url');
}

export function decodeContinue(text: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data or JSON');
  }
  const p = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (p?.v !== TOKEN_VERSION || typeof p.rv !== 'number' || !Number.isInteger(p.rv) || p.rv <= 0 || typeof p.start !== 'string') {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { resourceVersion: p.rv, after: p.start };
}
