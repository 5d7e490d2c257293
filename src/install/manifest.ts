// The Kubernetes object as `weft install` prints it, and the names and labels its parts share.
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../api/spiffe.js';

/** One Kubernetes object; the parts build plain data, printed as YAML or a JSON List. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface InstallOptions {
  /** The control plane's namespace (weft-system). */
  namespace: string;
  image: string;
  /** PEM of the CA root (root-cert.pem of --ca-dir): the webhook's caBundle. Absent: none yet. */
  caRootPem?: string;
  /** SPIFFE trust domain (the control plane's --trust-domain). */
  trustDomain: string;
  cni: boolean;
  /** Leave the CRDs out (a cluster that has Istio's own, or applies them separately). */
  skipCrds: boolean;
}

/** Also the service account in the control plane's SPIFFE ID, which proxies verify. */
export const CONTROL_PLANE_NAME = CONTROL_PLANE_SERVICE_ACCOUNT;
export const CNI_NAME = 'weft-cni-node';
/** The Secret holding the CA directory, in Istio's plug-in CA file names. */
export const CA_SECRET = 'weft-ca';

/** Labels on everything `weft install` makes (`kubectl get all -l app.kubernetes.io/part-of=weft`). */
export const partOf = (component: string): Record<string, string> => ({
  'app.kubernetes.io/name': component,
  'app.kubernetes.io/part-of': 'weft',
});
