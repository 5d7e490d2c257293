// The output check every injected pod passes: what the API server would refuse (a container without
// name or image, two containers of one name, one port twice, two volumes of one name, a mount of a
// volume that is not there). Also run on the input's shape before injection starts.
import type { InjectProblem } from './errors.js';
import { quantityValue } from './quantity.js';
import type { PodTemplate } from './types.js';

export function checkPod(pod: PodTemplate): InjectProblem[] {
  const problems: InjectProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ code: 'WEFT_E_INJECT_OUTPUT', field, message });
  const spec = pod.spec;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    bad('spec.containers', 'must list at least one container');
    return problems;
  }
  const names = new Map<string, string>();
  const ports = new Map<string, string>();
  const volumeNames = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (volumeNames.has(v.name)) bad(`spec.volumes[${i}].name`, `volume ${v.name} is defined twice`);
    volumeNames.add(v.name);
  }
  for (const [list, field] of [[spec.initContainers ?? [], 'spec.initContainers'], [spec.containers, 'spec.containers']] as const)
    for (const [i, c] of list.entries()) {
      const at = `${field}[${i}]`;
      if (!c.name) bad(`${at}.name`, 'is missing');
      if (!c.image) bad(`${at}.image`, 'is missing');
      const before = names.get(c.name);
      if (before) bad(`${at}.name`, `${c.name} is also ${before}`);
      names.set(c.name, at);
      // Ports of init containers that are not sidecars are never served; the kubelet checks only the rest.
      const serving = field === 'spec.containers' || c.restartPolicy === 'Always';
      for (const [j, p] of (serving ? c.ports ?? [] : []).entries()) {
        const key = `${p.containerPort}/${p.protocol ?? 'TCP'}`;
        const other = ports.get(key);
        if (other) bad(`${at}.ports[${j}]`, `port ${key} is also ${other}`);
        ports.set(key, `${at}.ports[${j}]`);
      }
      for (const [res, request] of Object.entries(c.resources?.requests ?? {})) {
        const limit = c.resources?.limits?.[res];
        const [r, l] = [quantityValue(String(request)), limit === undefined ? undefined : quantityValue(String(limit))];
        if (r !== undefined && l !== undefined && r > l) bad(`${at}.resources.requests.${res}`, `${request} is above its limit ${limit}`);
      }
      for (const [j, m] of (c.volumeMounts ?? []).entries()) if (!volumeNames.has(m.name)) bad(`${at}.volumeMounts[${j}]`, `mounts volume ${m.name}, which spec.volumes does not define`);
    }
  return problems;
}

/** Before injection: the template has the shape the mutation reads (so it never trips on a typo). */
export function checkShape(v: unknown): InjectProblem[] {
  const problems: InjectProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field, message });
  const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isMap(v)) return [{ code: 'WEFT_E_INJECT_WORKLOAD', field: '', message: 'the pod template must be a mapping with metadata and spec' }];
  if (v.metadata !== undefined && !isMap(v.metadata)) bad('metadata', 'must be a mapping');
  else if (isMap(v.metadata))
    for (const key of ['labels', 'annotations'] as const) {
      const m = v.metadata[key];
      if (m === undefined || m === null) continue;
      if (!isMap(m)) bad(`metadata.${key}`, 'must be a mapping of strings');
      else for (const [k, x] of Object.entries(m)) if (typeof x !== 'string') bad(`metadata.${key}['${k}']`, `must be a string, got ${JSON.stringify(x)}`);
    }
  if (!isMap(v.spec)) {
    bad('spec', 'is missing (a pod template needs spec.containers)');
    return problems;
  }
  for (const key of ['containers', 'initContainers'] as const) {
    const list = v.spec[key];
    if (list === undefined && key === 'initContainers') continue;
    if (!Array.isArray(list) || (key === 'containers' && list.length === 0)) {
      bad(`spec.${key}`, 'must be a list of containers');
      continue;
    }
    for (const [i, c] of list.entries()) {
      if (!isMap(c)) bad(`spec.${key}[${i}]`, 'must be a mapping');
      else if (typeof c.name !== 'string' || c.name === '') bad(`spec.${key}[${i}].name`, 'is missing');
      else if (c.ports !== undefined && (!Array.isArray(c.ports) || c.ports.some((p) => !isMap(p) || typeof p.containerPort !== 'number')))
        bad(`spec.${key}[${i}].ports`, 'must be a list of {containerPort: number}');
    }
  }
  if (v.spec.volumes !== undefined && (!Array.isArray(v.spec.volumes) || v.spec.volumes.some((x) => !isMap(x) || typeof x.name !== 'string')))
    bad('spec.volumes', 'must be a list of named volumes');
  return problems;
}
