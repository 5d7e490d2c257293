// What the injector itself is told (flags of `weft inject` and of the control plane's webhook), as
// opposed to what each pod asks for in its annotations (annotations.ts). Read once, at the edge.
import { CAPTURE_DEFAULTS } from '../capture/settings.js';

export interface InjectOptions {
  /** The Weft image: the proxy and the capture init container run it (`weft proxy`, `weft iptables`). */
  image: string;
  /** The control plane's secure xDS address as pods reach it (Istio's istiod.istio-system.svc:15012). */
  xdsAddress: string;
  /** The sidecar as an init container with restartPolicy: Always (Kubernetes >= 1.29). */
  nativeSidecar: boolean;
  /** The CNI plugin (weft-cni) sets up capture: no privileged init container. */
  cni: boolean;
  trustDomain: string;
  /** Where the proxy finds the mesh root (root-cert.pem): a ConfigMap in the pod's namespace (Istio's
   * istio-ca-root-cert shape), or the PEM itself, carried in the pod (annotation weft.dev/ca-root,
   * mounted through the downward API) where no such ConfigMap is published. */
  caRoot: { configMap: string } | { pem: string };
}

/** The proxy's UID and GID, which capture exempts (weft iptables --proxy-uid/--proxy-gid). */
export const PROXY_UID = CAPTURE_DEFAULTS.proxyUid;
export const PROXY_NAME = 'weft-proxy';
export const INIT_NAME = 'weft-init';
export const TOKEN_VOLUME = 'weft-token';
export const CA_ROOT_VOLUME = 'weft-ca-root';
/** Istio's paths, so tools that look for them find them. */
export const TOKEN_DIR = '/var/run/secrets/tokens';
export const TOKEN_PATH = `${TOKEN_DIR}/istio-token`;
export const CA_ROOT_DIR = '/var/run/secrets/weft';
export const CA_ROOT_ANNOTATION = 'weft.dev/ca-root';
/** Weft's mesh audience, the one the CA's TokenReview asks for (src/cli/control-plane.ts). */
export const TOKEN_AUDIENCE = 'istio-ca';

export const defaultInjectOptions: InjectOptions = Object.freeze({
  image: 'weft/weft:0.1.0',
  xdsAddress: 'weft-control-plane.weft-system.svc:15012',
  nativeSidecar: true,
  cni: false,
  trustDomain: 'cluster.local',
  caRoot: { configMap: 'weft-ca-root-cert' },
});
