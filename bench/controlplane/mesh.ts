// The simulated mesh of one control-plane step. Every step has the same size (1,000 services,
// 10,000 endpoints); only the number of connected proxies changes. Proxies register themselves:
// P/4 services with 4 instances each, P endpoints. The rest are ServiceEntries (MESH_INTERNAL,
// resolution STATIC, inline `endpoints`) in the config dir, which the control plane serves over EDS
// like registered services. No traffic is ever sent to any of these addresses.
import fs from 'node:fs';
import path from 'node:path';
import type { SimIdentity } from './sim-proxy.js';

export interface MeshPlan {
  proxies: number;
  meshServices: number;
  entryServices: number;
  entryEndpoints: number;
  /** Total services and endpoints the control plane should see. */
  services: number;
  endpoints: number;
}

export const SERVICE_PORT = 8080;
export const NAMESPACE = 'default';

export function planMesh(proxies: number, services: number, endpoints: number): MeshPlan {
  const meshServices = Math.max(1, Math.min(services - 1, Math.floor(proxies / 4)));
  const entryServices = services - meshServices;
  const entryEndpoints = Math.max(entryServices, endpoints - proxies);
  return { proxies, meshServices, entryServices, entryEndpoints, services, endpoints: proxies + entryEndpoints };
}

/** 127.a.b.c from a counter; `block` keeps proxies and ServiceEntry endpoints apart. */
function loopbackIp(block: number, n: number): string {
  const v = block * 65536 + n;
  return `127.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`;
}

/** The services the config changes edit (one VirtualService each, see writeConfigChange). */
export function editedHosts(plan: MeshPlan, changes: number): string[] {
  return [...new Set(Array.from({ length: changes }, (_, n) => changedService(plan, n)))];
}

const changedService = (plan: MeshPlan, n: number): string => `svc-${n % plan.meshServices}`;

/** Service names of the whole mesh: registered `svc-*` and ServiceEntry `ext-*`. */
function serviceName(plan: MeshPlan, k: number): string {
  return k < plan.meshServices ? `svc-${k}` : `ext-${k - plan.meshServices}`;
}

/** `calls`: the hosts (`service:port`) this proxy's app calls (Delta proxies ask for their virtual
 * hosts on demand): every service in `edited`, plus `others` more picked at random (seeded by index). */
export function proxyIdentity(plan: MeshPlan, index: number, edited: string[] = [], others = 9): SimIdentity {
  let seed = index * 2654435761 + 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const calls = new Set(edited);
  while (calls.size < Math.min(edited.length + others, plan.services)) calls.add(serviceName(plan, Math.floor(random() * plan.services)));
  return {
    index,
    service: `svc-${index % plan.meshServices}`,
    namespace: NAMESPACE,
    ip: loopbackIp(1, index + 1),
    servicePort: SERVICE_PORT,
    calls: [...calls].map((s) => `${s}:${SERVICE_PORT}`),
  };
}

export function writeMeshConfig(dir: string, plan: MeshPlan): void {
  fs.mkdirSync(dir, { recursive: true });
  const docs: string[] = [];
  let ep = 0;
  for (let s = 0; s < plan.entryServices; s++) {
    // Spread the endpoints evenly; the first services take the remainder.
    const n = Math.floor(plan.entryEndpoints / plan.entryServices) + (s < plan.entryEndpoints % plan.entryServices ? 1 : 0);
    const eps: string[] = [];
    for (let i = 0; i < n; i++) eps.push(`  - address: ${loopbackIp(2, ++ep)}`);
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ext-${s}
  namespace: ${NAMESPACE}
spec:
  hosts:
  - ext-${s}.${NAMESPACE}.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: ${SERVICE_PORT}
    name: http
    protocol: HTTP
  endpoints:
${eps.join('\n')}
`);
  }
  fs.writeFileSync(path.join(dir, 'service-entries.yaml'), docs.join('---\n'));
}

/** Write the n-th config change: a new VirtualService on one registered service (atomically). */
export function writeConfigChange(dir: string, plan: MeshPlan, n: number): string {
  const host = changedService(plan, n);
  const file = path.join(dir, `bench-change-${n}.yaml`);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(
    tmp,
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bench-change-${n}
  namespace: ${NAMESPACE}
spec:
  hosts:
  - ${host}
  http:
  - match:
    - headers:
        x-bench-change:
          exact: "${n}"
    route:
    - destination:
        host: ${host}
  - route:
    - destination:
        host: ${host}
`,
  );
  fs.renameSync(tmp, file);
  return file;
}
