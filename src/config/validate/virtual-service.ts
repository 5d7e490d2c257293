// VirtualService spec: hosts, gateways, HTTP routes (typed), TCP/TLS routes (kept raw for now).
import type { HTTPRoute, VirtualServiceSpec } from '../types.js';
import { hostsOverlap, isDns1123Label, isIpAddress, readExportTo, wildcardDomainProblem } from './common.js';
import { fields, isObj } from './fields.js';
import { readHttpRoute } from './http-route.js';
import { describeValue, type Issues, type Path } from './issues.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

export const VIRTUAL_SERVICE_SPEC = { hosts: 'strings', gateways: 'strings', http: 'objects', tls: 'objects', tcp: 'objects', exportTo: 'strings' } as const satisfies SpecShape;
const VS_FIELDS = specFieldNames(VIRTUAL_SERVICE_SPEC);

export function validateVirtualService(issues: Issues, spec: unknown, path: Path): VirtualServiceSpec | undefined {
  const f = fields(issues, spec, path, VS_FIELDS);
  if (!f) return undefined;
  const before = issues.size;

  const gateways = f.strList('gateways') ?? [];
  gateways.forEach((g, i) => {
    const problem = gatewayNameProblem(g);
    if (problem) issues.add('WEFT_E_INVALID_VALUE', [...f.at('gateways'), i], problem);
  });
  // No gateways, or the reserved name "mesh", means the rule applies to sidecars.
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');

  const hosts = f.strList('hosts', { nonEmpty: true }) ?? [];
  let hostsValid = true;
  hosts.forEach((h, i) => {
    const p = [...f.at('hosts'), i];
    const problem = wildcardDomainProblem(h);
    if (problem && !isIpAddress(h)) {
      issues.add('WEFT_E_INVALID_VALUE', p, problem);
      hostsValid = false;
    } else if (h === '*' && appliesToMesh) {
      issues.add('WEFT_E_INVALID_VALUE', p, 'wildcard host "*" is not allowed for virtual services bound to the mesh (set gateways)');
      hostsValid = false;
    }
  });
  if (hostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostsOverlap(hosts[i], hosts[j])) {
          issues.add('WEFT_E_DUPLICATE_VALUE', [...f.at('hosts'), j], `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
        }
      }
    }
  }

  const httpItems = f.list('http') ?? [];
  const http: HTTPRoute[] = [];
  for (const { value, path: p } of httpItems) {
    const r = readHttpRoute(issues, value, p);
    if (r) http.push(r);
  }
  const tcp = rawRoutes(issues, f.raw('tcp'), f.at('tcp'));
  const tls = rawRoutes(issues, f.raw('tls'), f.at('tls'));
  if (httpItems.length === 0 && !tcp?.length && !tls?.length) {
    issues.add('WEFT_E_REQUIRED_FIELD', f.at('http'), 'a virtual service needs http, tcp or tls routes');
  }
  const exportTo = readExportTo(f);

  if (issues.size !== before) return undefined;
  const out: VirtualServiceSpec = { hosts, gateways, http };
  if (exportTo) out.exportTo = exportTo;
  if (tcp) out.tcp = tcp;
  if (tls) out.tls = tls;
  return out;
}

/** TCP/TLS routes are not interpreted yet; only their outer shape (a list of objects) is checked. */
function rawRoutes(issues: Issues, v: unknown, path: Path): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    issues.add('WEFT_E_TYPE', path, `must be a list, got ${describeValue(v)}`);
    return undefined;
  }
  v.forEach((r, i) => {
    if (!isObj(r)) issues.add('WEFT_E_TYPE', [...path, i], `must be an object, got ${describeValue(r)}`);
  });
  return v;
}

/** Gateways are named `mesh`, `<name>` (same namespace), `<namespace>/<name>` or a legacy FQDN. */
function gatewayNameProblem(g: string): string | undefined {
  if (g === 'mesh') return undefined;
  const slash = g.indexOf('/');
  if (slash < 0) return wildcardDomainProblem(g) ? `invalid gateway name ${JSON.stringify(g)}` : undefined;
  const ns = g.slice(0, slash);
  const name = g.slice(slash + 1);
  if (!isDns1123Label(ns)) return `invalid gateway namespace ${JSON.stringify(ns)} in ${JSON.stringify(g)}`;
  if (!isDns1123Label(name)) return `invalid gateway name ${JSON.stringify(name)} in ${JSON.stringify(g)}`;
  return undefined;
}
