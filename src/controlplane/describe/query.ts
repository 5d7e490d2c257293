// One entry for every describe question, as URL query parameters, so the control plane's monitor
// (/debug/describe) and the offline CLI (--config-dir) answer through the same code:
//   service=NAME[.NS] [namespace=NS] [path=/x] [method=GET] [header=k=v]… [port=N] [from=PROXY]
//   workload=PROXY
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { describeService, withOfflinePlaceholder } from './describe-service.js';
import { describeWorkload } from './describe-workload.js';
import type { TraceRequest } from './route-trace.js';

export interface DescribeAnswer {
  status: number;
  body: unknown;
}

/** A proxy by its node id, or by a unique prefix / `service-version` workload name. */
export function findProxy(proxies: readonly ProxyNode[], name: string): ProxyNode | ProxyNode[] | undefined {
  const exact = proxies.find((p) => p.id === name);
  if (exact) return exact;
  const hits = proxies.filter((p) => p.id.startsWith(name) || p.workloadName === name || `${p.workloadName}.${p.namespace}` === name);
  return hits.length === 1 ? hits[0] : hits.length > 1 ? hits : undefined;
}

function traceRequestOf(q: URLSearchParams): TraceRequest | string | undefined {
  const path = q.get('path');
  const headers: Record<string, string> = {};
  for (const h of q.getAll('header')) {
    const i = h.search(/[=:]/);
    if (i <= 0) return `header "${h}": expected NAME=VALUE`;
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const method = q.get('method');
  const port = q.get('port');
  if (path === null && !Object.keys(headers).length && method === null && port === null) return undefined;
  if (port !== null && !/^\d{1,5}$/.test(port)) return `port "${port}": expected a number`;
  return { path: path ?? '/', headers, ...(method ? { method } : {}), ...(port !== null ? { port: Number(port) } : {}) };
}

export function answerDescribe(snap: MeshSnapshot | undefined, proxies: readonly ProxyNode[], q: URLSearchParams, registry: boolean): DescribeAnswer {
  if (!snap) return { status: 503, body: { error: 'no snapshot yet' } };
  const pick = (name: string): ProxyNode | DescribeAnswer => {
    const p = findProxy(proxies, name);
    if (!p) return { status: 404, body: { error: registry ? `no connected proxy ${name}` : `no proxy ${name}: offline (--config-dir) there is no registry; describe workload needs the running control plane` } };
    if (Array.isArray(p)) return { status: 400, body: { error: `${name} names ${p.length} proxies: ${p.map((x) => x.id).join(', ')}` } };
    return p;
  };
  const workload = q.get('workload');
  if (workload) {
    const p = pick(workload);
    return 'status' in p ? p : { status: 200, body: describeWorkload(snap, p) };
  }
  const service = q.get('service');
  if (!service) return { status: 400, body: { error: 'give service=NAME[.NS] or workload=PROXY' } };
  const request = traceRequestOf(q);
  if (typeof request === 'string') return { status: 400, body: { error: request } };
  let client: ProxyNode | undefined;
  const from = q.get('from');
  if (from) {
    const p = pick(from);
    if ('status' in p) return p;
    client = p;
  }
  const dots = service.split('.');
  const ns = q.get('namespace') ?? (dots.length === 2 ? dots[1] : 'default');
  const view = registry ? snap : withOfflinePlaceholder(snap, service, ns, request?.port ?? 80);
  const r = describeService(view, service, ns, { registry, findingsSnapshot: snap, ...(client ? { client } : {}), ...(request ? { request } : {}) });
  return r.ok ? { status: 200, body: r.description } : { status: 404, body: { error: r.error } };
}
