// The proxy's status port (Istio's 15020, `weft proxy --status-port`): what the kubelet reaches on the
// pod IP, past inbound capture (the injector excludes the port): GET /healthz/ready for the sidecar's
// own probes, GET /app-health/<container>/<kind> for the app probes the injector rewrote.
import http from 'node:http';
import { boundPort, closeNow, listenOn } from '../../api/net-server.js';
import { runProbe, type AppProber } from './app-prober.js';

export class StatusServer {
  private readonly server: http.Server;

  constructor(private readonly o: { ready: () => boolean; probers: Map<string, AppProber> }) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  listen(host: string, port: number): Promise<void> {
    return listenOn(this.server, host, port);
  }

  get port(): number {
    return boundPort(this.server);
  }

  close(): Promise<void> {
    return closeNow(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://status').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'the status port answers GET\n');
    if (path === '/healthz/ready') return this.o.ready() ? text(res, 200, 'LIVE\n') : text(res, 503, 'not ready: waiting for the certificate and the first config\n');
    const prober = this.o.probers.get(path);
    if (!prober) return text(res, 404, path.startsWith('/app-health/') ? `no app probe is configured for ${path}\n` : `unknown path ${path}\n`);
    const outcome = await runProbe(prober);
    text(res, outcome.status, `${outcome.detail}\n`);
  }
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
