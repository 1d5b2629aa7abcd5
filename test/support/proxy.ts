/**
 * A loopback TCP proxy in front of a real service (PostgreSQL, Redis, Neo4j) that a test can take
 * "down" — every open connection cut, new ones reset — and bring back up, like a network partition.
 */
import net from 'node:net';

export class TcpProxy {
  #server: net.Server | null = null;
  readonly #sockets = new Set<net.Socket>();
  #down = false;

  protected constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    return TcpProxy.listen(new TcpProxy(target.host, target.port));
  }

  protected static async listen<P extends TcpProxy>(proxy: P): Promise<P> {
    proxy.#server = net.createServer((client) => proxy.#accept(client));
    await new Promise<void>((resolve) => proxy.#server!.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server!.address() as net.AddressInfo).port;
  }

  /** Cuts every open connection and resets new ones, like a service that went away. */
  down(): void {
    this.#down = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  up(): void {
    this.#down = false;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    if (this.#down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
