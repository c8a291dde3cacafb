import { Errors, ScaleAgentError, errorMessage } from './errors.ts';

/** Where a part was told to listen, and the names of the settings that said so (as the operator writes them). */
export interface ListenSetting {
  /** The setting of the port: a configuration key (`server.port`) or a flag (`--sim-port`). */
  portKey: string;
  port: number;
  /** The setting of the address (`server.host`, `--host`). */
  hostKey: string;
  host: string;
}

/** The listen failures an operator fixes by changing a setting (or stopping whatever holds the port). */
const LISTEN_ERRNOS = ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'] as const;
type ListenErrno = (typeof LISTEN_ERRNOS)[number];

/** The lowest port that needs no privilege on Unix (CAP_NET_BIND_SERVICE below it). */
const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * Which listen failure `err` is: Node's `code` (net, http, Fastify), or the errno grpc-js only quotes in
 * its message ("No address added out of total 1 resolved errors: [listen EADDRINUSE: …]").
 */
function listenErrno(err: unknown): ListenErrno | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && (LISTEN_ERRNOS as readonly string[]).includes(code)) return code as ListenErrno;
  const quoted = /\blisten (EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(errorMessage(err));
  return quoted?.[1] as ListenErrno | undefined;
}

function explain(errno: ListenErrno, s: ListenSetting): string {
  switch (errno) {
    case 'EADDRINUSE':
      return `${s.portKey} ${s.port} is in use on ${s.host}: another process listens there; stop it, or set ${s.portKey} to a free port`;
    case 'EACCES':
      return s.port > 0 && s.port < FIRST_UNPRIVILEGED_PORT
        ? `${s.portKey} ${s.port} cannot be opened on ${s.host}: ports below ${FIRST_UNPRIVILEGED_PORT} need privileges (root or CAP_NET_BIND_SERVICE); set ${s.portKey} to ${FIRST_UNPRIVILEGED_PORT} or above`
        : `${s.portKey} ${s.port} cannot be opened on ${s.host}: permission denied; set ${s.portKey} to another port`;
    case 'EADDRNOTAVAIL':
      return `${s.hostKey} ${s.host} is not an address of this machine (${s.portKey} ${s.port}); set ${s.hostKey} to one of its addresses, or 0.0.0.0 for all`;
  }
}

/**
 * A listen that failed because of its setting (the port is in use or not permitted, the host is not
 * this machine's) as a ScaleAgentError (PORT_UNAVAILABLE) whose message names the setting and its value,
 * so that the CLI prints one line an operator can act on instead of Node's stack. Undefined for any
 * other failure, which the caller reports as it would have. Use around every listen a part makes:
 *
 *   await server.listen({ host, port }).catch((err: unknown) => {
 *     throw portUnavailable(err, { portKey: 'server.port', port, hostKey: 'server.host', host }) ?? err;
 *   });
 */
export function portUnavailable(err: unknown, setting: ListenSetting): ScaleAgentError | undefined {
  const errno = listenErrno(err);
  if (errno === undefined) return undefined;
  return new ScaleAgentError(
    Errors.PORT_UNAVAILABLE,
    explain(errno, setting),
    { key: errno === 'EADDRNOTAVAIL' ? setting.hostKey : setting.portKey, host: setting.host, port: setting.port, errno },
    { cause: err },
  );
}
