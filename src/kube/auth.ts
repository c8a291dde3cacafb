import type { ClusterAuth } from './credentials.ts';
import { ExecCredentialSource } from './exec-credential.ts';
import { TokenFileSource } from './token-file.ts';

export interface TlsIdentity {
  certPem: string;
  keyPem: string;
}

/** What one request presents: a bearer header and/or a TLS client certificate. */
export interface RequestIdentity {
  authorization?: string;
  tls?: TlsIdentity;
}

/** Produces the identity for each request and forgets cached credentials when the server rejects them. */
export interface AuthSource {
  identity(): Promise<RequestIdentity>;
  /** The server answered 401: drop cached credentials. True when fetching them again might help (worth one retry). */
  invalidate(): boolean;
}

export function createAuthSource(auth: ClusterAuth, now: () => number = Date.now): AuthSource {
  switch (auth.type) {
    case 'none':
      return { identity: async () => ({}), invalidate: () => false };
    case 'token': {
      const identity: RequestIdentity = { authorization: `Bearer ${auth.token}` };
      return { identity: async () => identity, invalidate: () => false };
    }
    case 'clientCertificate': {
      const identity: RequestIdentity = { tls: { certPem: auth.certPem, keyPem: auth.keyPem } };
      return { identity: async () => identity, invalidate: () => false };
    }
    case 'tokenFile': {
      const source = new TokenFileSource(auth.path, now);
      return {
        identity: async () => ({ authorization: `Bearer ${await source.get()}` }),
        invalidate: () => {
          source.invalidate();
          return true;
        },
      };
    }
    case 'exec': {
      const source = new ExecCredentialSource(auth, now);
      return {
        identity: async () => {
          const cred = await source.get();
          const identity: RequestIdentity = {};
          if (cred.token !== undefined) identity.authorization = `Bearer ${cred.token}`;
          if (cred.clientCertificate !== undefined) identity.tls = cred.clientCertificate;
          return identity;
        },
        invalidate: () => {
          source.invalidate();
          return true;
        },
      };
    }
  }
}
