import type { Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/**
 * HTTP/2 flow-control windows of the hub's gRPC connections: how much an agent may send on one Sync
 * stream, and on its whole connection, before it waits for the hub's WINDOW_UPDATE. grpc-js leaves the
 * server at HTTP/2's 64 KiB for both, so an agent streaming an initial sync could have 64 KiB — a few
 * dozen objects — on the way while the hub committed; both sides then sat idle half the time, taking
 * turns (docs/performance.md, "scale"). The agent bounds what it has unacknowledged across all its
 * streams (its send window, 4 MiB by default), so these windows need not be much larger than that: the
 * session's is eight times as large, a stream's as large.
 */
export const GRPC_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const GRPC_SESSION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Widens the windows of every connection `server` accepts from now on. grpc-js has no option for this on
 * the server side, so its HTTP/2 servers are reached through its internals (server.js keeps them in
 * `http2Servers`); should they change, the windows stay at HTTP/2's defaults and a warning says so.
 */
export function widenFlowControlWindows(server: Server, warn: (message: string) => void): void {
  const servers = (server as unknown as { http2Servers?: Map<{ on: (event: 'session', listener: (session: Http2Session) => void) => void }, unknown> })
    .http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    warn("cannot reach the gRPC server's HTTP/2 sessions: flow-control windows stay at 64 KiB, which slows initial syncs");
    return;
  }
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session) => {
      try {
        session.settings({ initialWindowSize: GRPC_STREAM_WINDOW_BYTES });
        session.setLocalWindowSize(GRPC_SESSION_WINDOW_BYTES);
      } catch (err) {
        warn(`cannot widen an agent connection's flow-control window: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }
}
