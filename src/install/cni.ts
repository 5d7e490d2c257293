// `--cni`: the node agent DaemonSet that puts the weft-cni plugin on every node and chains it after
// the cluster's network plugin (as istio-cni's install-cni does), and the plugin's config entry.
// The entry's fields are the capture settings `weft iptables` takes, so pods need no init container.
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { RawCaptureSettings } from '../capture/settings.js';
import { ANNOTATIONS_CAPABILITY } from '../cni/config.js';
import { CNI_NAME, partOf, type InstallOptions, type K8sObject } from './manifest.js';

export const CNI_PLUGIN_TYPE = 'weft-cni';

/** The plugin's entry in the chained conflist: the fields weft-cni reads (src/cni/config.ts; it
 * refuses any other), documented in docs/install.md and docs/capture.md. */
export interface CniPluginConf {
  type: typeof CNI_PLUGIN_TYPE;
  /** Pods in these namespaces are never captured (Istio's exclude_namespaces). */
  excludeNamespaces: string[];
  /** Capture defaults by `weft iptables`'s flag names; a pod's traffic.sidecar.istio.io/* annotations override them. */
  capture: RawCaptureSettings;
  /** containerd hands the pod's annotations to the plugin (opt-out and overrides) only when asked. */
  capabilities: { [ANNOTATIONS_CAPABILITY]: true };
}

export const DEFAULT_CNI_PLUGIN_CONF: CniPluginConf = {
  type: CNI_PLUGIN_TYPE,
  excludeNamespaces: ['kube-system'],
  // Istio's istio-cni defaults: the proxy's health (15020, 15021) and metrics (15090) ports stay uncaptured.
  capture: { proxyUid: 1337, proxyGid: 1337, outboundPort: 15001, inboundPort: 15006, includeInboundPorts: '*', excludeInboundPorts: [15020, 15021, 15090] },
  capabilities: { [ANNOTATIONS_CAPABILITY]: true },
};

/** Host paths of the node's CNI setup (kubelet/containerd defaults) and where the agent mounts them. */
export const CNI_HOST_PATHS = { binDir: '/opt/cni/bin', netDir: '/etc/cni/net.d', libDir: '/opt/weft' } as const;
export const HOST_MOUNT = '/host';
const CONF_DIR = '/etc/weft/cni';
export const CNI_CONF_FILE = 'plugin.json';

export function cniObjects(o: InstallOptions, plugin: CniPluginConf = DEFAULT_CNI_PLUGIN_CONF): K8sObject[] {
  const labels = partOf(CNI_NAME);
  const meta = { name: CNI_NAME, namespace: o.namespace, labels };
  const selector = { 'app.kubernetes.io/name': CNI_NAME };
  const hostVolumes = Object.entries(CNI_HOST_PATHS).map(([name, path]) => ({ name, path }));
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta } satisfies IServiceAccount,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { [CNI_CONF_FILE]: `${JSON.stringify(plugin, null, 2)}\n` } } satisfies IConfigMap,
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta,
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels, annotations: { 'sidecar.istio.io/inject': 'false' } },
          spec: {
            serviceAccountName: CNI_NAME,
            // Host network: the agent must start on a node whose CNI chain names a plugin not there yet.
            hostNetwork: true,
            // Every node, tainted ones included: a pod scheduled where the plugin is missing goes uncaptured.
            tolerations: [{ operator: 'Exists' }],
            priorityClassName: 'system-node-critical',
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'install-cni',
                image: o.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['weft'],
                args: ['cni-node', `--host-root=${HOST_MOUNT}`, ...hostVolumes.map((v) => `--${kebab(v.name)}=${v.path}`), `--plugin-config=${CONF_DIR}/${CNI_CONF_FILE}`],
                resources: { requests: { cpu: '10m', memory: '64Mi' } },
                // Root, as the owner of the host's CNI dirs; no capability (it only writes its own files there).
                securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  ...hostVolumes.map((v) => ({ name: `host-${kebab(v.name)}`, mountPath: `${HOST_MOUNT}${v.path}` })),
                  { name: 'plugin-config', mountPath: CONF_DIR, readOnly: true },
                ],
              },
            ],
            volumes: [
              ...hostVolumes.map((v) => ({ name: `host-${kebab(v.name)}`, hostPath: { path: v.path, type: 'DirectoryOrCreate' as const } })),
              { name: 'plugin-config', configMap: { name: CNI_NAME } },
            ],
          },
        },
      },
    } satisfies IDaemonSet,
  ];
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
