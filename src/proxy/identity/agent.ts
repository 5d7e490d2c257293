// The proxy's identity agent (Istio's pilot-agent SDS side): makes the workload key, sends a CSR to
// the CA over TLS (trusting only --ca-root-file, and only a server whose certificate carries the
// control plane's SPIFFE ID), presents the workload token, and puts the certificate with its key and
// the trust bundle into the SecretStore under Istio's names (`default`, `ROOTCA`). It renews at half
// the certificate's lifetime and retries a failed fetch with jittered exponential backoff; the old
// certificate serves until the new one arrives. It also gives the xDS client its mTLS credentials.
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { istioCertificateService, type IstioCertificateResponseWire } from '../../api/istio-ca.js';
import { uriSans } from '../../api/spiffe.js';
import { splitPemCertificates } from '../../api/pem.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET, type SecretStore } from '../tls/secret-store.js';
import type { ChannelAuth } from '../xds/xds-client-base.js';
import { newWorkloadKey } from './csr.js';

/** setTimeout's ceiling (~24.8 days); a longer wait fires at once. A long-lived certificate is then
 * renewed early, which is harmless. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface IdentityAgentOptions {
  /** host:port of the CA service (the control plane's secure xDS port). */
  caAddress: string;
  /** PEM trust bundle that verifies the control plane at bootstrap (--ca-root-file). */
  rootCaPem: string;
  /** The file it came from: watched, so that a root rotation (weft ca rotate) reaches the proxy — a
   * changed bundle goes into ROOTCA and the certificate is re-issued at once (Istio's agent likewise
   * watches the mounted istio-ca-root-cert). */
  rootCaFile?: string;
  /** The workload token (--token-file), sent as `authorization: Bearer …`. */
  token?: string;
  /** This workload's SPIFFE ID, `spiffe://<td>/ns/<ns>/sa/<sa>`. */
  spiffeId: string;
  /** The control plane's SPIFFE ID its serving certificate must carry. */
  controlPlaneId: string;
  secrets: SecretStore;
  /** Lifetime to ask for (0: the CA's default). */
  certTtlSeconds?: number;
  /** Retry after a failed fetch: from initialMs doubling to maxMs, jittered. */
  retry?: { initialMs?: number; maxMs?: number };
  random?: () => number;
  log: (msg: string) => void;
}

export interface CurrentCertificate {
  chainPem: string;
  privateKeyPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export class IdentityAgent implements ChannelAuth {
  private current: CurrentCertificate | undefined;
  private gen = 0;
  /** Counts fetches started; a fetch whose number is no longer the latest drops its answer. */
  private fetchSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private rootCaPem: string;
  private readonly readyWaiters: Array<() => void> = [];
  renewals = 0;

  constructor(private readonly o: IdentityAgentOptions) {
    this.rootCaPem = o.rootCaPem;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  get certificate(): CurrentCertificate | undefined {
    return this.current;
  }

  whenReady(): Promise<void> {
    return this.current ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  start(): void {
    void this.fetch();
    const file = this.o.rootCaFile;
    if (file) fs.watchFile(file, { interval: 250 }, () => this.rootFileChanged(file));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.o.rootCaFile) fs.unwatchFile(this.o.rootCaFile);
  }

  private rootFileChanged(file: string): void {
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      return this.o.log(`identity: cannot read ${file} (${(err as NodeJS.ErrnoException).code}); keeping the trust bundle`);
    }
    if (splitPemCertificates(pem).length === 0) return this.o.log(`identity: ${file} holds no certificate; keeping the trust bundle`);
    this.rootCaPem = pem;
    this.o.log(`identity: trust bundle ${file} changed (${splitPemCertificates(pem).length} root(s)); re-issuing the certificate`);
    // Trust the new bundle now, not once the re-issue returns: during a rotation a peer may present a
    // certificate under the new root while our CA call is still in flight (seen under CPU contention:
    // CERTIFICATE_VERIFY_FAILED for new handshakes in that window).
    if (this.current) this.publishRoots(this.current.chainPem);
    this.failures = 0;
    this.schedule(0);
  }

  /** ROOTCA: the watched bundle, plus the root our own chain ends in (it must verify our peers' too). */
  private publishRoots(chainPem: string): void {
    const chain = splitPemCertificates(chainPem);
    const roots = new Set([...splitPemCertificates(this.rootCaPem), ...chain.slice(-1)]);
    this.o.secrets.set(ROOT_CA_SECRET, { kind: 'validation_context', trustedCa: [...roots].join('') });
  }

  generation(): number {
    return this.gen;
  }

  /** TLS to the control plane: its root, our certificate (once we have one), its SPIFFE ID checked. */
  credentials(): grpc.ChannelCredentials {
    const c = this.current;
    return grpc.credentials.createSsl(Buffer.from(this.rootCaPem), c ? Buffer.from(c.privateKeyPem) : null, c ? Buffer.from(c.chainPem) : null, {
      checkServerIdentity: (_host, cert) => {
        const uris = uriSans(cert.subjectaltname);
        return uris.includes(this.o.controlPlaneId)
          ? undefined
          : new Error(`control plane certificate (serial ${cert.serialNumber}) is for ${uris.join(', ') || 'no SPIFFE ID'}, not ${this.o.controlPlaneId}`);
      },
    });
  }

  metadata(): grpc.Metadata {
    const m = new grpc.Metadata();
    if (this.o.token) m.set('authorization', `Bearer ${this.o.token}`);
    return m;
  }

  private async fetch(): Promise<void> {
    if (this.closed) return;
    // A renewal may be in flight when the bundle changes and a re-issue starts: only the latest fetch
    // counts, or an older answer (from the old signer) landing last would replace the new certificate
    // while the CA already records this workload as re-issued, and the old root would be removed under it.
    const seq = ++this.fetchSeq;
    try {
      const key = await newWorkloadKey(this.o.spiffeId);
      const chain = await this.createCertificate(key.csrPem);
      if (seq !== this.fetchSeq || this.closed) return;
      const leaf = new crypto.X509Certificate(chain[0]);
      this.current = { chainPem: chain.join(''), privateKeyPem: key.privateKeyPem, serial: leaf.serialNumber, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
      this.gen++;
      this.failures = 0;
      if (this.gen > 1) this.renewals++;
      this.o.secrets.set(WORKLOAD_SECRET, { kind: 'tls_certificate', certificateChain: this.current.chainPem, privateKey: key.privateKeyPem });
      this.publishRoots(this.current.chainPem);
      const lifetime = this.current.notAfter.getTime() - this.current.notBefore.getTime();
      const renewIn = Math.max(0, this.current.notBefore.getTime() + lifetime / 2 - Date.now());
      this.o.log(`identity: certificate serial ${leaf.serialNumber} for ${this.o.spiffeId}, until ${this.current.notAfter.toISOString()}; renewing in ${Math.round(renewIn / 1000)} s`);
      for (const w of this.readyWaiters.splice(0)) w();
      this.schedule(renewIn);
    } catch (err) {
      if (seq !== this.fetchSeq) return; // superseded: the newer fetch retries for itself
      // At bootstrap the control plane may still be starting: begin as quickly as the xDS stream does.
      const { initialMs = 100, maxMs = 30_000 } = this.o.retry ?? {};
      const ceiling = Math.min(maxMs, initialMs * 2 ** this.failures++);
      const delay = ceiling * (0.5 + 0.5 * (this.o.random ?? Math.random)());
      this.o.log(`identity: certificate request failed (${(err as Error).message}); retrying in ${Math.round(delay)} ms`);
      this.schedule(delay);
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), Math.min(ms, MAX_TIMER_MS));
    this.timer.unref();
  }

  private createCertificate(csr: string): Promise<string[]> {
    const Client = istioCertificateService();
    const client = new Client(this.o.caAddress, this.credentials());
    return new Promise<string[]>((resolve, reject) => {
      const request = { csr, validity_duration: this.o.certTtlSeconds ?? 0 };
      const call = client as unknown as {
        CreateCertificate(r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: IstioCertificateResponseWire) => void): void;
      };
      call.CreateCertificate(request, this.metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
        client.close();
        if (err) return reject(new Error(`${grpc.status[err.code]}: ${err.details}`));
        if (!res || res.cert_chain.length === 0) return reject(new Error('the CA answered an empty cert_chain'));
        resolve(res.cert_chain);
      });
    });
  }
}
