// The merged telemetry port (Istio's 15020): a plain HTTP server that asks each mounted handler in
// turn whether it takes the request (`/stats/prometheus` here; kubelet probe forwarding can mount
// beside it). It binds 0.0.0.0 as Istio does, because Prometheus scrapes it from elsewhere: nothing
// secret or mutating may be mounted here (config and shutdown stay on the loopback admin port).
import http from 'node:http';

/** Takes the request (and answers it) or returns false to let the next handler look. */
export type TelemetryHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export class TelemetryServer {
  private readonly server: http.Server;
  private readonly handlers: TelemetryHandler[] = [];

  constructor() {
    this.server = http.createServer((req, res) => {
      try {
        for (const h of this.handlers) if (h(req, res)) return;
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no handler for ${req.method} ${req.url}\n`);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`telemetry error: ${(err as Error).message}\n`);
      }
    });
  }

  mount(h: TelemetryHandler): void {
    this.handlers.push(h);
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  destroy(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
