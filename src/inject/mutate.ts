// The one mutation (linkerd2's pkg/inject): a pod template in, the injected pod template out. Both
// doors use it: `weft inject` (manifest.ts, on YAML) and the admission webhook (a JSON Patch of the
// difference). Pure: no I/O, the input is never modified.
import { TLS_MODE_LABEL } from '../api/mesh-names.js';
import { ANNOTATIONS, readPodSettings } from './annotations.js';
import { captureInitContainer } from './capture.js';
import { InjectError } from './errors.js';
import { CA_ROOT_ANNOTATION, CA_ROOT_VOLUME, INIT_NAME, PROXY_NAME, TOKEN_AUDIENCE, TOKEN_VOLUME, type InjectOptions } from './options.js';
import { rewriteProbes, type AppProbeSpec } from './probes.js';
import { proxyContainer } from './sidecar.js';
import type { PodTemplate, Volume } from './types.js';
import { checkPod, checkShape } from './validate.js';

export const STATUS_ANNOTATION = ANNOTATIONS.status[0];
const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';
/** A projected token lives 12 h; the kubelet refreshes it at 80 % of that. */
const TOKEN_TTL_SECONDS = 43_200;

export type InjectResult = { injected: true; pod: PodTemplate } | { injected: false; reason: string };

export interface InjectContext {
  /** The workload's name when the template belongs to a Deployment, Job, … */
  workloadName?: string;
}

/** Inject one pod template, or say why not; bad annotations or a pod that cannot take the sidecar throw InjectError. */
export function injectPod(value: unknown, options: InjectOptions, ctx: InjectContext = {}): InjectResult {
  const shape = checkShape(value);
  if (shape.length > 0) throw new InjectError(shape);
  const input = value as PodTemplate;
  const skip = skipReason(input);
  if (skip) return { injected: false, reason: skip };
  const { settings, problems } = readPodSettings(input.metadata, 'metadata');
  if (settings.inject === false) return { injected: false, reason: 'the pod opts out (sidecar.istio.io/inject: "false")' };
  if (problems.length > 0) throw new InjectError(problems);

  const pod = structuredClone(input);
  const spec = pod.spec;
  for (const [field, list] of [['spec.containers', spec.containers], ['spec.initContainers', spec.initContainers ?? []]] as const)
    for (const [i, c] of list.entries())
      if (c?.name === INIT_NAME) problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field: `${field}[${i}].name`, message: `${INIT_NAME} is the name of Weft's capture container` });
  for (const [i, v] of (spec.volumes ?? []).entries())
    if (v?.name === TOKEN_VOLUME || v?.name === CA_ROOT_VOLUME) problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field: `spec.volumes[${i}].name`, message: `${v.name} is the name of a volume Weft adds` });

  const probers: Record<string, AppProbeSpec> = {};
  if (settings.rewriteProbes) for (const [i, c] of spec.containers.entries()) Object.assign(probers, rewriteProbes(c, `spec.containers[${i}]`, problems));

  const native = settings.nativeSidecar ?? options.nativeSidecar;
  const image = settings.image ?? options.image;
  const proxy = proxyContainer(
    { pod: input, workloadName: ctx.workloadName, settings, options, image, native, holdApplication: settings.proxy.holdApplicationUntilProxyStarts ?? true, probers },
    problems,
  );
  const init = captureInitContainer(settings, options, image);
  if (problems.length > 0) throw new InjectError(problems);

  const appInit = spec.initContainers ?? [];
  // The proxy goes before the app's own init containers, so they reach the network through it.
  if (native) spec.initContainers = [...(init ? [init] : []), proxy, ...appInit];
  else {
    if (init || appInit.length > 0) spec.initContainers = [...(init ? [init] : []), ...appInit];
    spec.containers = [proxy, ...spec.containers];
  }
  spec.volumes = [...(spec.volumes ?? []), ...volumes(options)];

  const meta = (pod.metadata ??= {});
  meta.labels = { ...meta.labels, [TLS_MODE_LABEL]: 'istio' };
  const apps = input.spec.containers.map((c) => c.name);
  meta.annotations = {
    ...meta.annotations,
    ...(meta.annotations?.[DEFAULT_CONTAINER_ANNOTATION] ? {} : { [DEFAULT_CONTAINER_ANNOTATION]: apps[0] }),
    ...('pem' in options.caRoot ? { [CA_ROOT_ANNOTATION]: options.caRoot.pem } : {}),
    [STATUS_ANNOTATION]: JSON.stringify({
      initContainers: [...(init ? [INIT_NAME] : []), ...(native ? [PROXY_NAME] : [])],
      containers: native ? [] : [PROXY_NAME],
      volumes: [TOKEN_VOLUME, CA_ROOT_VOLUME],
      nativeSidecar: native,
      capture: options.cni ? 'cni' : 'init-container',
    }),
  };
  const output = checkPod(pod);
  if (output.length > 0) throw new InjectError(output);
  return { injected: true, pod };
}

/** Pods Weft leaves alone whatever they ask: injected already (by Weft or Istio), or on the host network. */
function skipReason(pod: PodTemplate): string | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  for (const key of ANNOTATIONS.status) if (annotations[key] !== undefined) return `already injected (${key})`;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  if (all.some((c) => c?.name === PROXY_NAME || c?.name === 'istio-proxy')) return 'already has a sidecar';
  if (pod.spec?.hostNetwork === true) return 'runs in the host network (capture would take the node\'s traffic)';
  return undefined;
}

function volumes(o: InjectOptions): Volume[] {
  return [
    { name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: TOKEN_TTL_SECONDS, path: 'istio-token' } }] } },
    'configMap' in o.caRoot
      ? { name: CA_ROOT_VOLUME, configMap: { name: o.caRoot.configMap } }
      : { name: CA_ROOT_VOLUME, downwardAPI: { items: [{ path: 'root-cert.pem', fieldRef: { fieldPath: `metadata.annotations['${CA_ROOT_ANNOTATION}']` } }] } },
  ];
}

