// Kubernetes service-account tokens as workload credentials (istiod's way on Kubernetes): the
// control plane does not verify the JWT itself but asks the API server, with a TokenReview
// (authentication.k8s.io/v1), whether the token is valid for the audiences it expects and whom it
// names. `system:serviceaccount:<namespace>:<name>` is the proven identity. Bounded: one request
// with a timeout and a cap on the answer's size.
import https from 'node:https';
import type { SpiffeIdentity } from '../../api/spiffe.js';

export interface TokenReviewOptions {
  /** The API server, e.g. https://kubernetes.default.svc (https only). */
  apiServer: string;
  /** PEM that verifies the API server (the cluster CA). */
  ca: string;
  /** The control plane's own bearer token (a service account allowed to create TokenReviews). */
  reviewerToken: string;
  /** Audiences the token must be valid for (Istio: istio-ca). */
  audiences: readonly string[];
  trustDomain: string;
  timeoutMs?: number;
}

export type TokenReviewResult = { ok: true; identity: SpiffeIdentity } | { ok: false; message: string };

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?):([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;
const MAX_ANSWER_BYTES = 64 * 1024;

export class KubernetesTokenReviewer {
  private readonly url: URL;

  constructor(private readonly o: TokenReviewOptions) {
    this.url = new URL('/apis/authentication.k8s.io/v1/tokenreviews', o.apiServer);
    if (this.url.protocol !== 'https:') throw new Error(`TokenReview: the API server must be https, got ${o.apiServer}`);
  }

  async verify(token: string): Promise<TokenReviewResult> {
    const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...this.o.audiences] } };
    let answer: { status: number; body: string };
    try {
      answer = await this.post(JSON.stringify(review));
    } catch (err) {
      return { ok: false, message: `TokenReview failed: ${(err as Error).message}` };
    }
    if (answer.status !== 201 && answer.status !== 200) return { ok: false, message: `TokenReview answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}` };
    let status: { authenticated?: boolean; error?: string; user?: { username?: string }; audiences?: string[] } | undefined;
    try {
      status = (JSON.parse(answer.body) as { status?: typeof status }).status;
    } catch {
      return { ok: false, message: 'TokenReview answer is not JSON' };
    }
    if (!status?.authenticated) return { ok: false, message: `token not valid: ${status?.error || 'the API server did not authenticate it'}` };
    // An API server that ignores spec.audiences answers without status.audiences: then it did not
    // check them, and the token is refused (a token for another audience must not pass).
    const audiences = status.audiences ?? [];
    if (!this.o.audiences.some((a) => audiences.includes(a))) return { ok: false, message: `token is not valid for audience ${this.o.audiences.join(', ')} (the API server vouched for ${audiences.join(', ') || 'none'})` };
    const m = SERVICE_ACCOUNT_USER.exec(status.user?.username ?? '');
    if (!m) return { ok: false, message: `token names ${JSON.stringify(status.user?.username)}, not system:serviceaccount:<namespace>:<service-account>` };
    return { ok: true, identity: { trustDomain: this.o.trustDomain, namespace: m[1], serviceAccount: m[3] } };
  }

  private post(body: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        this.url,
        {
          method: 'POST',
          ca: this.o.ca,
          headers: { authorization: `Bearer ${this.o.reviewerToken}`, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.o.timeoutMs ?? 5000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 5000} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
