// The proxy container: `weft proxy --mode transparent` with its identity (projected service-account
// token, the mesh root certificate), the pod's own facts through the downward API, the app probers,
// resources, and a security context that runs it as UID 1337 with nothing else.
import type { PodSettings } from './annotations.js';
import type { InjectProblem } from './errors.js';
import { CA_ROOT_DIR, CA_ROOT_VOLUME, PROXY_NAME, PROXY_UID, TOKEN_DIR, TOKEN_PATH, TOKEN_VOLUME, type InjectOptions } from './options.js';
import { quantityValue } from './quantity.js';
import { APP_PROBERS_ENV, STATUS_PORT, type AppProbeSpec } from './probes.js';
import type { Container, EnvVar, PodTemplate } from './types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The proxy's readiness on its status port (served by `weft proxy --status-port`). */
export const READY_PATH = '/healthz/ready';

export interface SidecarInput {
  pod: PodTemplate;
  /** The workload's own name (Deployment…), when injection sees the workload rather than a Pod. */
  workloadName?: string;
  settings: PodSettings;
  options: InjectOptions;
  image: string;
  native: boolean;
  holdApplication: boolean;
  probers: Record<string, AppProbeSpec>;
}

export function proxyContainer(i: SidecarInput, problems: InjectProblem[]): Container {
  const { pod, settings } = i;
  const labels = pod.metadata?.labels ?? {};
  const service = serviceName(i, problems);
  const appPort = firstAppPort(pod);
  const args = [
    'proxy',
    '--mode', 'transparent',
    '--xds-address', settings.proxy.discoveryAddress ?? i.options.xdsAddress,
    '--ca-root-file', `${CA_ROOT_DIR}/root-cert.pem`,
    '--token-file', TOKEN_PATH,
    '--service', service,
    // $(VAR) is expanded by the kubelet from the env below (the downward API).
    '--namespace', '$(POD_NAMESPACE)',
    '--service-account', '$(SERVICE_ACCOUNT)',
    '--address', '$(INSTANCE_IP)',
    '--status-port', String(STATUS_PORT),
  ];
  const labelList = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  if (labelList) args.push('--labels', labelList);
  if (appPort !== undefined) args.push('--app-port', String(appPort));
  if (i.options.trustDomain !== 'cluster.local') args.push('--trust-domain', i.options.trustDomain);
  if (settings.proxy.terminationDrainMs !== undefined) args.push('--drain-period-ms', String(settings.proxy.terminationDrainMs));
  const fieldRef = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env: EnvVar[] = [
    fieldRef('POD_NAME', 'metadata.name'),
    fieldRef('POD_NAMESPACE', 'metadata.namespace'),
    fieldRef('INSTANCE_IP', 'status.podIP'),
    fieldRef('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    ...Object.entries(settings.proxy.proxyMetadata).map(([name, value]) => ({ name, value })),
  ];
  if (Object.keys(i.probers).length > 0) env.push({ name: APP_PROBERS_ENV, value: JSON.stringify(i.probers) });
  const ready = () => ({ httpGet: { path: READY_PATH, port: STATUS_PORT, scheme: 'HTTP' as const } });
  const c: Container = {
    name: PROXY_NAME,
    image: i.image,
    command: ['weft'],
    args,
    env,
    ports: [{ name: 'weft-status', containerPort: STATUS_PORT, protocol: 'TCP' }],
    // A native sidecar holds the app containers until its startup probe passes (the kubelet starts
    // the next container only then); Istio's 1 s x 600.
    ...(i.native ? { restartPolicy: 'Always' as const, startupProbe: { ...ready(), periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 } } : {}),
    readinessProbe: { ...ready(), periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
    resources: resources(settings),
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
      { name: CA_ROOT_VOLUME, mountPath: CA_ROOT_DIR, readOnly: true },
    ],
  };
  // holdApplicationUntilProxyStarts for a plain container: the kubelet runs a postStart hook to its end
  // before it starts the next container, so the proxy goes first and its hook waits until it is ready.
  if (!i.native && i.holdApplication)
    c.lifecycle = { postStart: { exec: { command: ['weft', 'wait', '--url', `http://127.0.0.1:${STATUS_PORT}${READY_PATH}`, '--timeout', '600s'] } } };
  return c;
}

/** Istio's requests by default (100m, 128Mi), its limits (2 CPUs, 1Gi); annotations override. */
function resources(s: PodSettings): NonNullable<Container['resources']> {
  const r = s.resources;
  const requests = { cpu: r.cpu ?? '100m', memory: r.memory ?? '128Mi' };
  // A request above the default limit (proxyCPU: 4000m) raises the limit with it, as the API server
  // refuses a request over its limit; a limit the pod names itself is left for validation to judge.
  const limit = (request: string, given: string | undefined, dflt: string) => given ?? ((quantityValue(request) ?? 0) > (quantityValue(dflt) ?? 0) ? request : dflt);
  return { requests, limits: { cpu: limit(requests.cpu, r.cpuLimit, '2000m'), memory: limit(requests.memory, r.memoryLimit, '1Gi') } };
}

/** The service the proxy registers under: Istio's canonical-name order, then the workload's name. */
function serviceName(i: SidecarInput, problems: InjectProblem[]): string {
  const labels = i.pod.metadata?.labels ?? {};
  // A Deployment's pods are generated as <deployment>-<pod-template-hash>-.
  const hash = labels['pod-template-hash'];
  let generated = i.pod.metadata?.generateName?.replace(/-$/, '');
  if (generated && hash && generated.endsWith(`-${hash}`)) generated = generated.slice(0, -hash.length - 1);
  const candidates: [string, string | undefined][] = [
    ["metadata.labels['service.istio.io/canonical-name']", labels['service.istio.io/canonical-name']],
    ["metadata.labels['app.kubernetes.io/name']", labels['app.kubernetes.io/name']],
    ["metadata.labels['app']", labels.app],
    ['metadata.name (of the workload)', i.workloadName],
    ['metadata.name', i.pod.metadata?.name],
    ['metadata.generateName', generated],
  ];
  for (const [field, v] of candidates) {
    if (!v) continue;
    if (v.length <= 63 && DNS_LABEL.test(v)) return v;
    problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field, message: `is the service name the proxy registers under and must be a DNS label, got ${JSON.stringify(v)}` });
    return v;
  }
  problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field: 'metadata', message: "names no service: set the label app (or app.kubernetes.io/name) or a name" });
  return '';
}

/** The first TCP port an app container declares: what `weft proxy --app-port` names. */
function firstAppPort(pod: PodTemplate): number | undefined {
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if ((p.protocol ?? 'TCP') === 'TCP') return p.containerPort;
  return undefined;
}
