import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy whose link can be cut, to make a server unreachable for a while. */
export interface TcpProxy {
  /** The proxy's own port: point the client here. */
  port: number;
  /** Drops every open connection and refuses new ones for `ms`, then accepts again. */
  cut(ms: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a proxy on a random loopback port that forwards to `127.0.0.1:targetPort`.
 * @returns the proxy
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        const address = s.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!server) resolve();
      else server.close(() => resolve());
      server = undefined;
    });
  const port = await listen(0);
  return {
    port,
    async cut(ms: number) {
      await stopListening();
      await new Promise((resolve) => setTimeout(resolve, ms));
      await listen(port);
    },
    close: stopListening,
  };
}
