/**
 * A TCP proxy on 127.0.0.1 in front of a server (a database), so a test can cut every connection
 * through it at once, as a network failure or a database failover would: both ends see the connection
 * drop, and new connections go through again at once.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private cuts = 0;
  private listeningPort = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the proxy has no port');
    proxy.listeningPort = address.port;
    return proxy;
  }

  get port(): number {
    return this.listeningPort;
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // A cut or a peer's reset: the other side goes too (below), as behind a broken network.
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Drops every open connection through the proxy (both ends); returns how many sockets it closed. */
  cut(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    this.cuts++;
    return count;
  }

  /** How many cuts so far. */
  get cutCount(): number {
    return this.cuts;
  }

  /** The same URL, pointing at the proxy instead of the server. */
  proxied(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
