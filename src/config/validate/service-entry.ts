// ServiceEntry and WorkloadEntry specs: services outside the registry and the workloads behind them.
// Rules follow Istio's ValidateServiceEntry / validateWorkloadEntry.
import type { Protocol, ServiceEntrySpec, ServicePort, WorkloadEntrySpec } from '../types.js';
import { fqdnProblem, isDns1123Label, isDns1123Subdomain, isIpAddress, isIpOrCidr, readExportTo, readLabels, readPort, wildcardDomainProblem } from './common.js';
import { fields, type Fields } from './fields.js';
import { describeValue, type Issues, type Path } from './issues.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

export const SERVICE_ENTRY_SPEC = {
  hosts: 'strings',
  addresses: 'strings',
  ports: 'objects',
  location: 'string',
  resolution: 'string',
  endpoints: 'objects',
  workloadSelector: 'object',
  exportTo: 'strings',
  subjectAltNames: 'strings',
} as const satisfies SpecShape;
/** A WorkloadEntry's spec, also the shape of each ServiceEntry endpoint. */
export const WORKLOAD_ENTRY_SPEC = {
  address: 'string',
  ports: 'integerMap',
  labels: 'stringMap',
  network: 'string',
  locality: 'string',
  weight: 'integer',
  serviceAccount: 'string',
} as const satisfies SpecShape;
const SE_FIELDS = specFieldNames(SERVICE_ENTRY_SPEC);
const WE_FIELDS = specFieldNames(WORKLOAD_ENTRY_SPEC);
const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'TCP', 'TLS', 'MONGO', 'REDIS', 'MYSQL', 'UDP'];
const RESOLUTIONS = ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'] as const;
const LOCATIONS = ['MESH_EXTERNAL', 'MESH_INTERNAL'] as const;
const UNIX_PREFIX = 'unix://';

export function validateServiceEntry(issues: Issues, spec: unknown, path: Path): ServiceEntrySpec | undefined {
  const f = fields(issues, spec, path, SE_FIELDS);
  if (!f) return undefined;
  const before = issues.size;

  const hosts = f.strList('hosts', { nonEmpty: true }) ?? [];
  hosts.forEach((h, i) => {
    const problem = h === '*' ? 'host "*" is not allowed in a service entry' : wildcardDomainProblem(h);
    if (problem) issues.add('WEFT_E_INVALID_VALUE', [...f.at('hosts'), i], problem);
  });

  const addresses = f.strList('addresses') ?? [];
  addresses.forEach((a, i) => {
    if (!isIpOrCidr(a)) issues.add('WEFT_E_INVALID_VALUE', [...f.at('addresses'), i], `must be an IP address or CIDR block, got ${describeValue(a)}`);
  });

  const ports = readServicePorts(f);
  const portNames = new Set(ports.map((p) => p.name));
  const resolution = f.has('resolution') ? f.oneOf('resolution', RESOLUTIONS) : 'NONE';
  const location = f.has('location') ? f.oneOf('location', LOCATIONS) : 'MESH_EXTERNAL';

  if (addresses.some((a) => a.includes('/')) && resolution !== 'NONE' && resolution !== 'STATIC') {
    issues.add('WEFT_E_CONFLICT', f.at('addresses'), 'CIDR addresses are allowed only with resolution NONE or STATIC');
  }

  const endpointItems = f.list('endpoints');
  const endpoints: WorkloadEntrySpec[] = [];
  for (const { value, path: p } of endpointItems ?? []) {
    const we = readWorkloadEntry(issues, value, p, { servicePorts: portNames, allowFqdn: resolution !== 'STATIC' });
    if (we) endpoints.push(we);
  }

  const ws = f.sub('workloadSelector', ['labels']);
  const selectorLabels = ws ? (readLabels(ws, 'labels') ?? {}) : undefined;
  if (ws && endpointItems) issues.add('WEFT_E_CONFLICT', f.at('workloadSelector'), 'cannot be combined with endpoints');

  const nEndpoints = endpointItems?.length ?? 0;
  switch (resolution) {
    case 'NONE':
      if (nEndpoints > 0) issues.add('WEFT_E_CONFLICT', f.at('endpoints'), 'no endpoints may be given with resolution NONE');
      break;
    case 'STATIC':
      if (nEndpoints === 0 && !ws) issues.add('WEFT_E_REQUIRED_FIELD', f.at('endpoints'), 'resolution STATIC needs endpoints or a workloadSelector');
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (nEndpoints === 0) {
        // The hosts themselves are resolved, so they must be plain names (their syntax was checked above).
        hosts.forEach((h, i) => {
          if (h.includes('*')) issues.add('WEFT_E_INVALID_VALUE', [...f.at('hosts'), i], `wildcard host ${JSON.stringify(h)} cannot be resolved by DNS (resolution ${resolution} without endpoints)`);
        });
      }
      if (resolution === 'DNS_ROUND_ROBIN' && nEndpoints > 1) {
        issues.add('WEFT_E_INVALID_VALUE', f.at('endpoints'), 'resolution DNS_ROUND_ROBIN allows at most one endpoint');
      }
      break;
  }

  const exportTo = readExportTo(f, { allowNone: true });
  f.strList('subjectAltNames');

  if (issues.size !== before || !resolution || !location) return undefined;
  const out: ServiceEntrySpec = { hosts, addresses, ports, location, resolution, endpoints };
  if (selectorLabels) out.workloadSelector = { labels: selectorLabels };
  if (exportTo) out.exportTo = exportTo;
  return out;
}

function readServicePorts(f: Fields): ServicePort[] {
  const out: ServicePort[] = [];
  const names = new Set<string>();
  const numbers = new Set<number>();
  for (const { value, path } of f.list('ports') ?? []) {
    const p = fields(f.issues, value, path, ['number', 'name', 'protocol', 'targetPort']);
    if (!p) continue;
    const number = readPort(p, 'number', { required: true });
    const name = p.str('name', { required: true });
    if (name !== undefined) {
      if (!isDns1123Label(name)) p.issues.add('WEFT_E_INVALID_VALUE', p.at('name'), `invalid port name ${JSON.stringify(name)} (lowercase letters, digits and '-')`);
      if (names.has(name)) p.issues.add('WEFT_E_DUPLICATE_VALUE', p.at('name'), `port name ${JSON.stringify(name)} is already defined`);
      names.add(name);
    }
    if (number !== undefined) {
      if (numbers.has(number)) p.issues.add('WEFT_E_DUPLICATE_VALUE', p.at('number'), `port ${number} is already defined`);
      numbers.add(number);
    }
    const protocol = p.has('protocol') ? p.oneOf('protocol', PROTOCOLS, { caseInsensitive: true }) : protocolFromPortName(name ?? '');
    const targetPort = readPort(p, 'targetPort');
    if (number === undefined || name === undefined || protocol === undefined) continue;
    const sp: ServicePort = { number, name, protocol };
    if (targetPort !== undefined) sp.targetPort = targetPort;
    out.push(sp);
  }
  return out;
}

/**
 * Without an explicit protocol, Istio reads it from the port name's prefix (`http`, `http-web`,
 * `grpc-api`, ...); anything else is left to protocol sniffing, which Weft calls UNKNOWN.
 */
export function protocolFromPortName(name: string): Protocol {
  const prefix = name.toLowerCase().split('-')[0];
  if (prefix === 'grpc' && name.toLowerCase().startsWith('grpc-web')) return 'GRPC-WEB';
  const found = PROTOCOLS.find((p) => p.toLowerCase() === prefix);
  return found ?? 'UNKNOWN';
}

export function validateWorkloadEntrySpec(issues: Issues, spec: unknown, path: Path): WorkloadEntrySpec | undefined {
  return readWorkloadEntry(issues, spec, path, { allowFqdn: true });
}

function readWorkloadEntry(
  issues: Issues,
  v: unknown,
  path: Path,
  opts: { servicePorts?: ReadonlySet<string>; allowFqdn: boolean },
): WorkloadEntrySpec | undefined {
  const f = fields(issues, v, path, WE_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const network = f.str('network');
  // Istio allows an empty address only for workloads on another network (reached via its gateway).
  const address = f.str('address', { required: !network }) ?? '';
  let hasPorts = false;
  if (address.startsWith(UNIX_PREFIX)) {
    if (address.length === UNIX_PREFIX.length) issues.add('WEFT_E_INVALID_VALUE', f.at('address'), 'unix address needs a path');
  } else if (address !== '' && !isIpAddress(address)) {
    const problem = opts.allowFqdn ? fqdnProblem(address) : 'must be an IP address with resolution STATIC';
    if (problem) issues.add('WEFT_E_INVALID_VALUE', f.at('address'), `endpoint address ${JSON.stringify(address)} is not a valid IP address or DNS name: ${problem}`);
  }
  const ports: Record<string, number> = {};
  for (const { key, value, path: p } of f.map('ports') ?? []) {
    hasPorts = true;
    if (!isDns1123Label(key)) issues.add('WEFT_E_INVALID_VALUE', p, `invalid port name ${JSON.stringify(key)}`);
    if (opts.servicePorts && !opts.servicePorts.has(key)) issues.add('WEFT_E_INVALID_VALUE', p, `port ${JSON.stringify(key)} is not defined by the service entry`);
    if (typeof value !== 'number' || !Number.isInteger(value)) issues.add('WEFT_E_TYPE', p, `must be an integer 1..65535, got ${describeValue(value)}`);
    else if (value < 1 || value > 65535) issues.add('WEFT_E_INVALID_VALUE', p, `must be an integer 1..65535, got ${value}`);
    else ports[key] = value;
  }
  if (address.startsWith(UNIX_PREFIX) && hasPorts) issues.add('WEFT_E_CONFLICT', f.at('ports'), 'a unix endpoint has no ports');
  const labels = readLabels(f, 'labels') ?? {};
  const locality = f.str('locality');
  const weight = f.int('weight', { min: 0, max: 2 ** 32 - 1 });
  const serviceAccount = f.str('serviceAccount');
  if (serviceAccount !== undefined && serviceAccount !== '' && !isDns1123Subdomain(serviceAccount)) {
    issues.add('WEFT_E_INVALID_VALUE', f.at('serviceAccount'), `invalid service account name ${JSON.stringify(serviceAccount)}`);
  }
  if (issues.size !== before) return undefined;
  const out: WorkloadEntrySpec = { address, ports, labels };
  if (network !== undefined) out.network = network;
  if (locality !== undefined) out.locality = locality;
  if (weight !== undefined) out.weight = weight;
  if (serviceAccount !== undefined) out.serviceAccount = serviceAccount;
  return out;
}
