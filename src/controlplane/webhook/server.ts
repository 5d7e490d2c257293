// The injection webhook's HTTPS server (Istio's 15017): POST /inject with an AdmissionReview, over TLS
// with a certificate the mesh CA issues to the control plane for its service's DNS names (renewed with
// the CA's other certificates; the API server checks it against the caBundle of the
// MutatingWebhookConfiguration). Never crashes on what it is sent: a body over the limit gets 413, one
// that is no AdmissionReview 400, every review an AdmissionReview answer.
import https from 'node:https';
import type http from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { InjectOptions } from '../../inject/options.js';
import { boundPort, closeNow, listenOn } from '../../api/net-server.js';
import { answerReview } from './admission.js';

export const WEBHOOK_PATH = '/inject';
/** The API server sends at most ~3 MiB objects (its request limit); a review carries one, plus headroom. */
export const DEFAULT_MAX_BODY_BYTES = 4 << 20;

export interface WebhookOptions {
  host: string;
  port: number;
  /** Read per review: the CA's root may change (rotation). */
  inject: () => InjectOptions;
  maxBodyBytes?: number;
  log: (msg: string) => void;
  /** Issues the serving certificate and each renewal (MeshCa.certificate). */
  certificate: (apply: (context: SecureContextOptions) => void) => Promise<void>;
  /** Told how each request ended (the sidecar_injection_* metrics). */
  onOutcome?: (outcome: WebhookOutcome) => void;
}

/** injected / skipped / denied: answered reviews; rejected: not a review, or too large; error: a bug. */
export type WebhookOutcome = 'injected' | 'skipped' | 'denied' | 'rejected' | 'error';

export class InjectionWebhook {
  readonly counts = { injected: 0, skipped: 0, denied: 0, rejected: 0 };

  private constructor(private readonly server: https.Server) {}

  static async start(o: WebhookOptions): Promise<InjectionWebhook> {
    let server: https.Server | undefined;
    let first: SecureContextOptions | undefined;
    await o.certificate((context) => {
      if (server) server.setSecureContext(context);
      else first = context;
    });
    server = https.createServer({ ...first, minVersion: 'TLSv1.2' });
    const hook = new InjectionWebhook(server);
    server.on('request', (req, res) => hook.handle(req, res, o));
    server.requestTimeout = 30_000;
    await listenOn(server, o.host, o.port);
    return hook;
  }

  get port(): number {
    return boundPort(this.server);
  }

  close(): Promise<void> {
    return closeNow(this.server);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, o: WebhookOptions): void {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (url.pathname !== WEBHOOK_PATH) return reply(res, 404, `unknown path ${url.pathname}; the injection webhook serves POST ${WEBHOOK_PATH}\n`);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reply(res, 405, `${WEBHOOK_PATH} takes POST\n`);
    }
    const limit = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => {
      this.counts.rejected++;
      o.onOutcome?.('rejected');
      res.setHeader('connection', 'close');
      reply(res, 413, `the body is over the webhook's limit of ${limit} bytes [WEFT_E_WEBHOOK_REVIEW]\n`);
      req.destroy();
    };
    if (declared > limit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (size > limit || res.headersSent) return;
      let answer: ReturnType<typeof answerReview>;
      try {
        answer = answerReview(Buffer.concat(chunks).toString('utf8'), o.inject());
      } catch (err) {
        // A bug, not the caller's fault: answered, logged, never a crash.
        o.log(`webhook: answering a review failed: ${(err as Error).stack ?? err}`);
        o.onOutcome?.('error');
        return reply(res, 500, `the injection webhook failed: ${(err as Error).message}\n`);
      }
      if (answer.http === 400) {
        this.counts.rejected++;
        o.onOutcome?.('rejected');
        return reply(res, 400, `${answer.message}\n`);
      }
      this.counts[answer.outcome]++;
      o.onOutcome?.(answer.outcome);
      if (answer.outcome === 'denied') o.log(`webhook: ${answer.review.response.status?.message}`);
      const body = JSON.stringify(answer.review);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
