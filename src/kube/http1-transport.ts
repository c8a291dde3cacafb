import http from 'node:http';
import https from 'node:https';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { hostOf, portOf, TCP_KEEPALIVE_MS, type TlsSettings, type Transport, type TransportRequest, type TransportResponse } from './transport.ts';

/**
 * HTTP/1.1 over a keep-alive agent: one socket per concurrent exchange (so one per open watch), reused
 * between requests. Used for plain http:// servers and TLS servers that do not offer h2.
 */
export class Http1Transport implements Transport {
  readonly protocol = 'http/1.1' as const;
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(
    private readonly url: URL,
    tls: TlsSettings | undefined,
  ) {
    this.secure = url.protocol === 'https:';
    const agentOptions: https.AgentOptions = { keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, noDelay: true };
    if (this.secure && tls !== undefined) {
      agentOptions.rejectUnauthorized = tls.rejectUnauthorized;
      if (tls.ca !== undefined) agentOptions.ca = tls.ca;
      if (tls.servername !== undefined) agentOptions.servername = tls.servername;
      if (tls.cert !== undefined) agentOptions.cert = tls.cert;
      if (tls.key !== undefined) agentOptions.key = tls.key;
    }
    this.agent = this.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      if (req.signal.aborted) {
        reject(req.signal.reason);
        return;
      }
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(req.body.length);
      const send = this.secure ? https.request : http.request;
      const outgoing = send({ host: hostOf(this.url), port: portOf(this.url), method: req.method, path: req.path, headers, agent: this.agent });
      let response: http.IncomingMessage | undefined;
      const onAbort = () => {
        outgoing.destroy(req.signal.reason);
        response?.destroy(req.signal.reason);
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      const detach = () => req.signal.removeEventListener('abort', onAbort);
      outgoing.once('response', (res) => {
        response = res;
        res.once('close', detach);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      // `on`, not `once`: a request destroyed after an earlier error may emit again, and an unheard 'error' would crash.
      outgoing.on('error', (err) => {
        detach();
        if (response !== undefined) return; // surfaced through the body stream
        reject(req.signal.aborted ? req.signal.reason : transportError(this.url, err));
      });
      outgoing.end(req.body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

export function transportError(url: URL, err: unknown): ScaleAgentError {
  if (err instanceof ScaleAgentError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new ScaleAgentError(
    Errors.KUBE_TRANSPORT_ERROR,
    `${url.host}: ${(err as Error)?.message ?? String(err)}`,
    code ? { host: url.host, errno: code } : { host: url.host },
    {
      cause: err,
    },
  );
}
