// The proxy's status port (Istio's 15020, `weft proxy --status-port`): what the kubelet reaches on the
// pod IP, past inbound capture (the injector excludes the port): GET /healthz/ready for the sidecar's
// own probes, GET /app-health/<container>/<kind> for the app probes the injector rewrote, and POST
// /quitquitquit from inside the pod (Istio's agent serves it here; a Job's app calls it when done).
// The port listens on every address, so /quitquitquit takes loopback peers only, and it passes the
// admin port's guard against requests made by web pages (mutation-guard.ts).
import http from 'node:http';
import { boundPort, closeNow, listenOn } from '../../api/net-server.js';
import { checkMutation } from '../admin/mutation-guard.js';
import { runProbe, type AppProber } from './app-prober.js';

export class StatusServer {
  private readonly server: http.Server;

  constructor(private readonly o: { ready: () => boolean; probers: Map<string, AppProber>; shutdown: () => void }) {
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
    if (path === '/quitquitquit') return this.quit(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'the status port answers GET\n');
    if (path === '/healthz/ready') return this.o.ready() ? text(res, 200, 'LIVE\n') : text(res, 503, 'not ready: waiting for the certificate and the first config\n');
    const prober = this.o.probers.get(path);
    if (!prober) return text(res, 404, path.startsWith('/app-health/') ? `no app probe is configured for ${path}\n` : `unknown path ${path}\n`);
    const outcome = await runProbe(prober);
    text(res, outcome.status, `${outcome.detail}\n`);
  }

  private quit(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!isLoopbackPeer(req.socket.remoteAddress)) return text(res, 403, `/quitquitquit: only from inside the pod (loopback), not ${req.socket.remoteAddress}\n`);
    const verdict = checkMutation(req, '127.0.0.1');
    if (!verdict.ok) return text(res, verdict.status, `/quitquitquit: ${verdict.reason}\n`);
    text(res, 200, 'OK\n');
    setImmediate(() => this.o.shutdown());
  }
}

export function isLoopbackPeer(address: string | undefined): boolean {
  return !!address && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
