// The control plane's security side, built once at start from --ca-dir: the CA, the token verifier,
// the authenticator both doors share, the secure xDS port's serving certificate, and the CA service.
import { KubernetesTokenReviewer, type TokenReviewOptions } from './token-review.js';
import type * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import { isIP } from 'node:net';
import { istioCertificateService } from '../../api/istio-ca.js';
import type { StreamAdmission } from '../xds/server.js';
import { Authenticator, type CallerView } from './authenticate.js';
import { CertificateAuthority } from './authority.js';
import { caPath } from './ca-files.js';
import { caServiceHandlers, type CsrOutcome } from './ca-service.js';
import type { SecureContextOptions } from 'node:tls';
import { renewingCertificate, servingCertificate, type ServingCertificate } from './serving.js';
import { TokenAuthority } from './tokens.js';
import { xdsAdmission } from './xds-admission.js';

export interface MeshCaOptions {
  dir: string;
  trustDomain: string;
  /** Default workload certificate lifetime (--workload-cert-ttl; Istio's 24 h). */
  workloadCertTtlMs: number;
  /** Longest lifetime a CSR may ask for (Istio's --max-workload-cert-ttl, 90 days). */
  maxWorkloadCertTtlMs?: number;
  /** Streams without a credential are served as before (--insecure-registration). */
  insecureRegistration: boolean;
  /** Host the secure port binds: its IP (or name) goes into the serving certificate. */
  secureHost: string;
  /** More DNS names for the serving certificate: in a cluster, the control plane's Service names,
   * by which proxies (xDS over mTLS) and the API server (the injection webhook) verify it. */
  servingDnsNames?: readonly string[];
  /** On Kubernetes: verify service-account tokens with the API server (TokenReview). */
  kubernetes?: Omit<TokenReviewOptions, 'trustDomain'>;
  log: (msg: string) => void;
  /** Told how each CSR ended (metrics). */
  onCsrOutcome?: (outcome: CsrOutcome) => void;
}

export const NINETY_DAYS_MS = 90 * 24 * 3600 * 1000;

export class MeshCa {
  private watching = false;
  /** Further certificates of the control plane's identity (the injection webhook's), renewed and reissued with the CA. */
  private readonly others: { reissue(): Promise<void>; close(): void }[] = [];

  private constructor(
    /** The one place the current CA lives: the CA service and the serving certificate read it here. */
    private readonly ca: { current: CertificateAuthority },
    readonly admit: (call: CallerView) => Promise<StreamAdmission>,
    readonly caService: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation],
    private readonly serving: ServingCertificate,
    private readonly o: MeshCaOptions,
  ) {}

  static async start(o: MeshCaOptions): Promise<MeshCa> {
    const holder = { current: await CertificateAuthority.open({ dir: o.dir, trustDomain: o.trustDomain, log: o.log }) };
    const authority = () => holder.current;
    const kubernetes = o.kubernetes ? new KubernetesTokenReviewer({ ...o.kubernetes, trustDomain: o.trustDomain }) : undefined;
    const authenticator = new Authenticator({ trustDomain: o.trustDomain, tokens: TokenAuthority.open(o.dir, o.trustDomain), kubernetes });
    const handlers = caServiceHandlers({
      authority,
      authenticator,
      defaultTtlMs: o.workloadCertTtlMs,
      maxTtlMs: Math.max(o.maxWorkloadCertTtlMs ?? NINETY_DAYS_MS, o.workloadCertTtlMs),
      log: o.log,
      onOutcome: o.onCsrOutcome,
    });
    const ips = ['127.0.0.1', ...(isIP(o.secureHost) && o.secureHost !== '127.0.0.1' ? [o.secureHost] : [])];
    const dnsNames = ['weft-control-plane', 'localhost', ...(isIP(o.secureHost) ? [] : [o.secureHost]), ...(o.servingDnsNames ?? [])];
    const serving = await servingCertificate({ authority, ttlMs: o.workloadCertTtlMs, dnsNames, ips, log: o.log });
    if (o.insecureRegistration) o.log('registration is insecure (--insecure-registration): proxies without a credential may register as any identity');
    const ca = new MeshCa(holder, xdsAdmission({ authenticator, insecureRegistration: o.insecureRegistration }), [istioCertificateService().service, handlers], serving, o);
    ca.watch();
    return ca;
  }

  get servingCredentials(): grpc.ServerCredentials {
    return this.serving.credentials;
  }

  /** A TLS certificate of the control plane for another port (the injection webhook), with these
   * names: each issue and renewal goes to `apply`, the first before this resolves. */
  async certificate(o: { purpose: string; dnsNames: string[]; ips: string[] }, apply: (context: SecureContextOptions) => void): Promise<void> {
    this.others.push(await renewingCertificate({ ...o, authority: () => this.ca.current, ttlMs: this.o.workloadCertTtlMs, log: this.o.log }, apply));
  }

  /** The trust bundle (every root, several during a rotation). */
  get rootsPem(): string {
    return this.ca.current.rootsPem;
  }

  /** What /debug/ca shows: roots, the signing certificate and the latest certificate per identity. */
  describe(): ReturnType<CertificateAuthority['describe']> {
    return this.ca.current.describe();
  }

  /** Istio's istiod reloads plugged-in CA files when they change; so does this, for rotation (weft ca
   * rotate): a new trust bundle (root-cert.pem) or signing certificate (ca-cert.pem, written after its
   * key) is loaded and checked; if it does not load, the current CA keeps signing and the error is logged. */
  private watch(): void {
    this.watching = true;
    for (const f of ['rootCert', 'caCert'] as const) fs.watchFile(caPath(this.o.dir, f), { interval: 250 }, () => void this.reload());
  }

  private async reload(): Promise<void> {
    try {
      const next = await CertificateAuthority.open({ dir: this.o.dir, trustDomain: this.o.trustDomain, log: this.o.log });
      next.issued = this.ca.current.issued;
      this.ca.current = next;
      await this.serving.reissue();
      for (const c of this.others) await c.reissue();
      this.o.log(`ca: reloaded from ${this.o.dir}: ${next.describe().roots.length} root(s) in the trust bundle`);
    } catch (err) {
      this.o.log(`ca: reloading ${this.o.dir} failed, the current CA keeps signing: ${(err as Error).message}`);
    }
  }

  close(): void {
    if (this.watching) for (const f of ['rootCert', 'caCert'] as const) fs.unwatchFile(caPath(this.o.dir, f));
    this.serving.close();
    for (const c of this.others) c.close();
  }
}
