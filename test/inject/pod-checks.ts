// What a test asserts of an injected workload, written apart from src/inject/validate.ts so the
// output is judged by rules of its own: the Pod API's uniqueness rules and the sidecar's shape.
import assert from 'node:assert/strict';
import { findTemplates, getAt } from '../../src/inject/workloads.js';
import type { Container, PodTemplate } from '../../src/inject/types.js';

export function templatesOf(doc: unknown): PodTemplate[] {
  return findTemplates(doc).map((t) => getAt(doc, t.path) as PodTemplate);
}

/** The API server's rules that injection could break, and the sidecar being there exactly once. */
export function assertValidInjectedPod(pod: PodTemplate, where: string): void {
  const spec = pod.spec;
  const all: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  const names = all.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, `${where}: container names unique: ${names.join(',')}`);
  for (const c of all) {
    assert.ok(typeof c.name === 'string' && c.name.length > 0, `${where}: a container has a name`);
    assert.ok(typeof c.image === 'string' && c.image.length > 0, `${where}: ${c.name} has an image`);
  }
  const served = [...spec.containers, ...(spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  const ports = served.flatMap((c) => (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`));
  assert.equal(new Set(ports).size, ports.length, `${where}: ports unique: ${ports.join(',')}`);
  const volumes = (spec.volumes ?? []).map((v) => v.name);
  assert.equal(new Set(volumes).size, volumes.length, `${where}: volume names unique`);
  for (const c of all) for (const m of c.volumeMounts ?? []) assert.ok(volumes.includes(m.name), `${where}: ${c.name} mounts ${m.name}, which exists`);
  assert.equal(names.filter((n) => n === 'weft-proxy').length, 1, `${where}: exactly one weft-proxy`);
  const proxy = all.find((c) => c.name === 'weft-proxy')!;
  assert.equal(proxy.securityContext?.runAsUser, 1337, `${where}: the proxy runs as 1337`);
  assert.equal(proxy.securityContext?.runAsNonRoot, true);
  assert.deepEqual(proxy.securityContext?.capabilities, { drop: ['ALL'] }, `${where}: the proxy has no capability`);
  const init = all.find((c) => c.name === 'weft-init');
  if (init) assert.deepEqual((init.securityContext?.capabilities as { add: string[] }).add, ['NET_ADMIN', 'NET_RAW'], `${where}: the init container has NET_ADMIN and NET_RAW only`);
  const token = (spec.volumes ?? []).find((v) => v.name === 'weft-token') as { projected?: { sources: { serviceAccountToken?: { audience: string } }[] } } | undefined;
  assert.equal(token?.projected?.sources[0].serviceAccountToken?.audience, 'istio-ca', `${where}: a projected token for the mesh audience`);
}
