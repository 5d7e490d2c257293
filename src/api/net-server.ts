// Listening, reading the bound port and closing, for the HTTP(S) servers of the proxy and the control
// plane (admin, status, webhook): one place for the bind-or-reject and close-everything steps.
import type net from 'node:net';

/** Bind host:port (0: any free port); rejects with the bind error. */
export function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function boundPort(server: net.Server): number {
  const a = server.address();
  return a && typeof a === 'object' ? a.port : 0;
}

/** Stop accepting and drop every open connection (idle or not). */
export function closeNow(server: net.Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
