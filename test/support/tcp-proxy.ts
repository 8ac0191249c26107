import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real service, so a test can cut the service off (and bring
 * it back) without stopping the machine's shared server.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private partitioned = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = this.port): Promise<number> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      // Not pipe(): during a partition the bytes are read and dropped, in both directions.
      client.on('data', (chunk: Buffer) => {
        if (!this.partitioned) upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!this.partitioned) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /**
   * A silent partition: every byte either way is dropped, no FIN, no RST; new connections are
   * accepted and hear nothing. The connections open now stay open, their in-flight exchanges lost.
   */
  partition(): void {
    this.partitioned = true;
  }

  /** The network heals: bytes flow again (what was dropped stays lost). */
  heal(): void {
    this.partitioned = false;
  }

  /** Refuses new connections and drops the open ones, as a crashed server would. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server = undefined;
  }
}
