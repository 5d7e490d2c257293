// The control plane in the cluster: ServiceAccount, RBAC for what it reads, the Deployment and the
// Service proxies and the API server (injection webhook) reach it by. Its config source is a
// directory today, so the config is a ConfigMap mounted as that directory (the file store skips the
// ConfigMap's `..data` internals and sees updates as the kubelet swaps them in); the Kubernetes
// store of a later issue will read the CRDs directly, and its RBAC rules go here then.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ControlPlaneFlags } from '../cli/control-plane.js';
import { CA_SECRET, CONTROL_PLANE_NAME, partOf, type InstallOptions, type K8sObject } from './manifest.js';

/** Istio's control-plane ports (istiod), one per role. */
export const CONTROL_PLANE_PORTS = [
  { name: 'grpc-xds', port: 15010, role: 'plaintext xDS (bootstrap only)' },
  { name: 'grpc-xds-tls', port: 15012, role: 'xDS over mTLS and the CA' },
  { name: 'http-monitoring', port: 15014, role: 'monitoring: /ready, /metrics, /debug/*' },
  { name: 'https-webhook', port: 15017, role: 'sidecar injection webhook (/inject)' },
] as const;

const port = (name: (typeof CONTROL_PLANE_PORTS)[number]['name']): number => CONTROL_PLANE_PORTS.find((p) => p.name === name)!.port;

export const CONFIG_MAP = 'weft-config';
const CONFIG_DIR = '/etc/weft/config';
const CA_DIR = '/etc/weft/ca';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The container's flags, typed by the command's own flag set: a renamed flag fails to compile. */
export function controlPlaneArgs(o: Pick<InstallOptions, 'trustDomain' | 'namespace'>): string[] {
  const flags: { [K in keyof ControlPlaneFlags]?: string } = {
    configDir: CONFIG_DIR,
    xdsAddress: `0.0.0.0:${port('grpc-xds')}`,
    monitorAddress: `0.0.0.0:${port('http-monitoring')}`,
    caDir: CA_DIR,
    secureXdsPort: String(port('grpc-xds-tls')),
    trustDomain: o.trustDomain,
    // The names proxies and the API server (webhook) dial: the serving certificate must carry them.
    servingDnsNames: serviceDnsNames(o.namespace).join(','),
    // Pods prove who they are with their projected service-account token, checked by the API server.
    kubeApiServer: 'https://kubernetes.default.svc',
    kubeCaFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
    kubeTokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
  };
  return ['control-plane', ...Object.entries(flags).map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${v}`)];
}

/** The control plane's Service as cluster DNS names it (the default cluster domain). */
export const serviceDnsNames = (namespace: string): string[] => [`${CONTROL_PLANE_NAME}.${namespace}.svc`, `${CONTROL_PLANE_NAME}.${namespace}.svc.cluster.local`];

export function controlPlaneObjects(o: InstallOptions): K8sObject[] {
  const labels = partOf(CONTROL_PLANE_NAME);
  const meta = { name: CONTROL_PLANE_NAME, namespace: o.namespace, labels };
  const selector = { 'app.kubernetes.io/name': CONTROL_PLANE_NAME };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta } satisfies IServiceAccount,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CONTROL_PLANE_NAME, labels },
      // Only what it calls today: TokenReview for the CA's service-account credentials.
      rules: [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }],
    } satisfies IClusterRole,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CONTROL_PLANE_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROL_PLANE_NAME },
      subjects: [{ kind: 'ServiceAccount', name: CONTROL_PLANE_NAME, namespace: o.namespace }],
    } satisfies IClusterRoleBinding,
    deployment(o, meta, selector),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { selector, ports: CONTROL_PLANE_PORTS.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })) },
    } satisfies IService,
  ];
}

function deployment(o: InstallOptions, meta: K8sObject['metadata'], selector: Record<string, string>): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta,
    spec: {
      // One replica: the registry lives in the process until the etcd/Kubernetes registry lands.
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: meta.labels,
          annotations: {
            // Never inject the control plane (it is what injection needs).
            'sidecar.istio.io/inject': 'false',
            // istiod's scrape annotations: its metrics are on the monitoring port.
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(port('http-monitoring')),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          serviceAccountName: CONTROL_PLANE_NAME,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'control-plane',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['weft'],
              args: controlPlaneArgs(o),
              ports: CONTROL_PLANE_PORTS.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
              readinessProbe: { httpGet: { path: '/ready', port: port('http-monitoring') }, periodSeconds: 3, timeoutSeconds: 2 },
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
              // UID 0 with no capabilities: the CA refuses a key file that group or others can read,
              // and a Secret volume is root-owned 0400, or group-readable once fsGroup is set.
              securityContext: {
                runAsUser: 0,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'ca', mountPath: CA_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            // Optional: with no ConfigMap yet the mesh runs with no config (the store sees an empty dir).
            { name: 'config', configMap: { name: CONFIG_MAP, optional: true } },
            { name: 'ca', secret: { secretName: CA_SECRET, defaultMode: 0o400 } },
          ],
        },
      },
    },
  } satisfies IDeployment;
}
