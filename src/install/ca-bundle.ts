// `weft install --ca-dir DIR`: the CA the cluster's control plane will run with. The flag means what
// it means for `weft control-plane` and `weft token create`: the files there, or a self-signed root
// (and token key) created there on first use by the same code, so no cert-manager is needed. The
// private keys stay in DIR (they go into a Secret with kubectl, never into the printed manifests).
import { CertificateAuthority } from '../controlplane/ca/authority.js';
import { TokenAuthority } from '../controlplane/ca/tokens.js';
import { InstallError } from './errors.js';

/** The root PEM (the webhook's caBundle) of the CA in `dir`, creating the CA when `dir` has none. */
export async function loadCaRoot(dir: string, trustDomain: string, log: (msg: string) => void): Promise<string> {
  try {
    const ca = await CertificateAuthority.open({ dir, trustDomain, log });
    TokenAuthority.open(dir, trustDomain);
    // root-cert.pem: every root proxies trust (several mid-rotation), so the API server trusts them too.
    return ca.rootsPem;
  } catch (err) {
    throw new InstallError('WEFT_E_INSTALL_CA', `--ca-dir ${dir}: ${(err as Error).message}`);
  }
}
