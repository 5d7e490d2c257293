// The control plane's security side, built once at start from --ca-dir: the CA, the token verifier,
// the authenticator both doors share, the secure xDS port's serving certificate, and the CA service.
import type * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { istioCertificateService } from '../../api/istio-ca.js';
import type { StreamAdmission } from '../xds/server.js';
import { Authenticator, type CallerView } from './authenticate.js';
import { CertificateAuthority } from './authority.js';
import { caServiceHandlers } from './ca-service.js';
import { servingCertificate, type ServingCertificate } from './serving.js';
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
  log: (msg: string) => void;
}

export const NINETY_DAYS_MS = 90 * 24 * 3600 * 1000;

export class MeshCa {
  private constructor(
    readonly authority: CertificateAuthority,
    readonly admit: (call: CallerView) => Promise<StreamAdmission>,
    readonly caService: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation],
    private readonly serving: ServingCertificate,
  ) {}

  static async start(o: MeshCaOptions): Promise<MeshCa> {
    const authority = await CertificateAuthority.open({ dir: o.dir, trustDomain: o.trustDomain, log: o.log });
    const authenticator = new Authenticator({ trustDomain: o.trustDomain, tokens: TokenAuthority.open(o.dir, o.trustDomain) });
    const handlers = caServiceHandlers({
      authority,
      authenticator,
      defaultTtlMs: o.workloadCertTtlMs,
      maxTtlMs: Math.max(o.maxWorkloadCertTtlMs ?? NINETY_DAYS_MS, o.workloadCertTtlMs),
      log: o.log,
    });
    const ips = ['127.0.0.1', ...(isIP(o.secureHost) && o.secureHost !== '127.0.0.1' ? [o.secureHost] : [])];
    const dnsNames = ['weft-control-plane', 'localhost', ...(isIP(o.secureHost) ? [] : [o.secureHost])];
    const serving = await servingCertificate({ authority, ttlMs: o.workloadCertTtlMs, dnsNames, ips, log: o.log });
    if (o.insecureRegistration) o.log('registration is insecure (--insecure-registration): proxies without a credential may register as any identity');
    return new MeshCa(authority, xdsAdmission({ authenticator, insecureRegistration: o.insecureRegistration }), [istioCertificateService().service, handlers], serving);
  }

  get servingCredentials(): grpc.ServerCredentials {
    return this.serving.credentials;
  }

  close(): void {
    this.serving.close();
  }
}
