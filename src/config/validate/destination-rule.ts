// DestinationRule spec: host, subsets, traffic policy (load balancing, connection pool, outlier
// detection, client TLS) and its per-port overrides. Rules follow Istio's ValidateDestinationRule.
import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  DestinationRuleSpec,
  OutlierDetection,
  Subset,
  TLSMode,
  TrafficPolicy,
} from '../types.js';
import { isDns1123Label, readExportTo, readLabels, readPortSelector, wildcardDomainProblem } from './common.js';
import { fields, isObj, type Fields } from './fields.js';
import type { Issues, Path } from './issues.js';
import { readLoadBalancer } from './load-balancer.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

export const DESTINATION_RULE_SPEC = { host: 'string', trafficPolicy: 'object', subsets: 'objects', exportTo: 'strings', workloadSelector: 'object' } as const satisfies SpecShape;
const DR_FIELDS = specFieldNames(DESTINATION_RULE_SPEC);
const POLICY_FIELDS = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'] as const;
const TLS_MODES: readonly TLSMode[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];
const TLS_FIELDS = ['mode', 'clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'subjectAltNames', 'sni', 'insecureSkipVerify', 'caCrl'] as const;
const UINT32 = 2 ** 32 - 1;
const INT32 = 2 ** 31 - 1;

export function validateDestinationRule(issues: Issues, spec: unknown, path: Path): DestinationRuleSpec | undefined {
  const f = fields(issues, spec, path, DR_FIELDS);
  if (!f) return undefined;
  const before = issues.size;

  const host = f.str('host', { required: true });
  if (host !== undefined) {
    const problem = wildcardDomainProblem(host);
    if (problem) issues.add('WEFT_E_INVALID_VALUE', f.at('host'), problem);
  }
  const trafficPolicy = f.has('trafficPolicy') ? readTrafficPolicy(issues, f.raw('trafficPolicy'), f.at('trafficPolicy')) : undefined;

  const subsets: Subset[] = [];
  const names = new Set<string>();
  for (const { value, path: p } of f.list('subsets') ?? []) {
    const s = fields(issues, value, p, ['name', 'labels', 'trafficPolicy']);
    if (!s) continue;
    const name = s.str('name', { required: true });
    if (name !== undefined) {
      if (!isDns1123Label(name)) issues.add('WEFT_E_INVALID_VALUE', s.at('name'), `invalid subset name ${JSON.stringify(name)} (lowercase letters, digits and '-')`);
      if (names.has(name)) issues.add('WEFT_E_DUPLICATE_VALUE', s.at('name'), `duplicate subset name ${JSON.stringify(name)}`);
      names.add(name);
    }
    const labels = readLabels(s, 'labels') ?? {};
    const tp = s.has('trafficPolicy') ? readTrafficPolicy(issues, s.raw('trafficPolicy'), s.at('trafficPolicy')) : undefined;
    if (name === undefined) continue;
    const subset: Subset = { name, labels };
    if (tp) subset.trafficPolicy = tp;
    subsets.push(subset);
  }

  const exportTo = readExportTo(f);
  const ws = f.sub('workloadSelector', ['matchLabels']);
  const matchLabels = ws ? readLabels(ws, 'matchLabels') : undefined;

  if (issues.size !== before || host === undefined) return undefined;
  const out: DestinationRuleSpec = { host, subsets };
  if (trafficPolicy) out.trafficPolicy = trafficPolicy;
  if (exportTo) out.exportTo = exportTo;
  if (matchLabels) out.workloadSelector = { matchLabels };
  return out;
}

const PORT_POLICY_FIELDS = [...POLICY_FIELDS.filter((k) => k !== 'portLevelSettings'), 'port'] as const;
type PortTrafficPolicy = NonNullable<TrafficPolicy['portLevelSettings']>[number];

function readTrafficPolicy(issues: Issues, v: unknown, path: Path): TrafficPolicy | undefined {
  const f = fields(issues, v, path, POLICY_FIELDS);
  if (!f) return undefined;
  const out: TrafficPolicy = readPolicyBody(f);
  if (!f.has('portLevelSettings')) return out;
  const pls: PortTrafficPolicy[] = [];
  const seen = new Set<number>();
  for (const { value, path: p } of f.list('portLevelSettings') ?? []) {
    const pf = fields(issues, value, p, PORT_POLICY_FIELDS);
    if (!pf) continue;
    const port = readPortSelector(pf, 'port');
    if (!pf.has('port')) issues.add('WEFT_E_REQUIRED_FIELD', pf.at('port'), 'port-level settings need a port');
    if (port && seen.has(port.number)) issues.add('WEFT_E_DUPLICATE_VALUE', pf.at('port'), `port ${port.number} has settings twice`);
    if (port) seen.add(port.number);
    const body = readPolicyBody(pf);
    if (port) pls.push({ ...body, port });
  }
  out.portLevelSettings = pls;
  return out;
}

/** Everything a policy can set, shared by the top level, subsets and port-level settings. */
function readPolicyBody(f: Fields): Omit<TrafficPolicy, 'portLevelSettings'> {
  // Istio rejects an empty policy: it is almost always a mis-indented block.
  if (!POLICY_FIELDS.some((k) => f.has(k))) {
    f.issues.add('WEFT_E_REQUIRED_FIELD', f.path, 'a traffic policy must set at least one field');
  }
  const out: TrafficPolicy = {};
  const lb = readLoadBalancer(f);
  if (lb) out.loadBalancer = lb;
  const pool = readConnectionPool(f);
  if (pool) out.connectionPool = pool;
  const od = readOutlierDetection(f);
  if (od) out.outlierDetection = od;
  const tls = readClientTls(f);
  if (tls) out.tls = tls;
  for (const k of ['tunnel', 'proxyProtocol'] as const) {
    if (f.has(k) && !isObj(f.raw(k))) f.issues.add('WEFT_E_TYPE', f.at(k), 'must be an object');
  }
  const rb = readRetryBudget(f);
  if (rb) out.retryBudget = rb;
  return out;
}

function readConnectionPool(f: Fields): ConnectionPoolSettings | undefined {
  const cp = f.sub('connectionPool', ['tcp', 'http']);
  if (!cp) return undefined;
  const out: ConnectionPoolSettings = {};
  const tcp = cp.sub('tcp', ['maxConnections', 'connectTimeout', 'tcpKeepalive', 'maxConnectionDuration', 'idleTimeout']);
  if (tcp) {
    const t: NonNullable<ConnectionPoolSettings['tcp']> = {};
    const max = tcp.int('maxConnections', { min: 0, max: INT32 });
    if (max !== undefined) t.maxConnections = max;
    const ct = tcp.durationMs('connectTimeout');
    if (ct !== undefined) t.connectTimeoutMs = ct;
    const ka = tcp.sub('tcpKeepalive', ['probes', 'time', 'interval']);
    if (ka) {
      // Node sets only the idle time before the first probe; the kernel's count and interval stay.
      for (const k of ['probes', 'interval'] as const) if (ka.has(k)) ka.issues.add('WEFT_E_UNSUPPORTED', ka.at(k), `tcpKeepalive.${k} is not supported by Weft yet (only time)`);
      const time = ka.durationMs('time');
      t.tcpKeepalive = time !== undefined ? { timeMs: time } : {};
    }
    if (tcp.durationMs('maxConnectionDuration') !== undefined) tcp.issues.add('WEFT_E_UNSUPPORTED', tcp.at('maxConnectionDuration'), 'tcp.maxConnectionDuration is not supported by Weft yet');
    // Istio applies it to tcp_proxy only; HTTP ports are unaffected, as here (no TCP proxying yet).
    tcp.durationMs('idleTimeout');
    out.tcp = t;
  }
  const http = cp.sub('http', [
    'http1MaxPendingRequests',
    'http2MaxRequests',
    'maxRequestsPerConnection',
    'maxRetries',
    'idleTimeout',
    'h2UpgradePolicy',
    'useClientProtocol',
    'maxConcurrentStreams',
  ]);
  if (http) {
    const h: NonNullable<ConnectionPoolSettings['http']> = {};
    for (const k of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries'] as const) {
      const n = http.int(k, { min: 0, max: INT32 });
      if (n !== undefined) h[k] = n;
    }
    const idle = http.durationMs('idleTimeout');
    if (idle !== undefined) h.idleTimeoutMs = idle;
    const upgrade = http.oneOf('h2UpgradePolicy', ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']);
    if (upgrade !== undefined) h.h2UpgradePolicy = upgrade as 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    const client = http.bool('useClientProtocol');
    if (client !== undefined) h.useClientProtocol = client;
    const streams = http.int('maxConcurrentStreams', { min: 0, max: INT32 });
    if (streams !== undefined) h.maxConcurrentStreams = streams;
    out.http = h;
  }
  return out;
}

function readRetryBudget(f: Fields): TrafficPolicy['retryBudget'] {
  const rb = f.sub('retryBudget', ['percent', 'minRetryConcurrency']);
  if (!rb) return undefined;
  const out: NonNullable<TrafficPolicy['retryBudget']> = {};
  const percent = rb.num('percent', { min: 0, max: 100 });
  if (percent !== undefined) out.percent = percent;
  const min = rb.int('minRetryConcurrency', { min: 0, max: UINT32 });
  if (min !== undefined) out.minRetryConcurrency = min;
  return out;
}

function readOutlierDetection(f: Fields): OutlierDetection | undefined {
  const od = f.sub('outlierDetection', [
    'consecutiveErrors',
    'consecutive5xxErrors',
    'consecutiveGatewayErrors',
    'consecutiveLocalOriginFailures',
    'splitExternalLocalOriginErrors',
    'interval',
    'baseEjectionTime',
    'maxEjectionPercent',
    'minHealthPercent',
  ]);
  if (!od) return undefined;
  const out: OutlierDetection = {};
  const legacy = od.int('consecutiveErrors', { min: 0, max: INT32 });
  if (legacy !== undefined) out.consecutiveErrors = legacy;
  const c5 = od.int('consecutive5xxErrors', { min: 0, max: UINT32 });
  if (c5 !== undefined) out.consecutive5xxErrors = c5;
  const gw = od.int('consecutiveGatewayErrors', { min: 0, max: UINT32 });
  if (gw !== undefined) out.consecutiveGatewayErrors = gw;
  const local = od.int('consecutiveLocalOriginFailures', { min: 0, max: UINT32 });
  if (local !== undefined) out.consecutiveLocalOriginFailures = local;
  const split = od.bool('splitExternalLocalOriginErrors');
  if (split !== undefined) out.splitExternalLocalOriginErrors = split;

  const interval = od.durationMs('interval');
  if (interval !== undefined) out.intervalMs = interval;
  const base = od.durationMs('baseEjectionTime');
  if (base !== undefined) out.baseEjectionTimeMs = base;
  const maxPct = od.int('maxEjectionPercent', { min: 0, max: 100 });
  if (maxPct !== undefined) out.maxEjectionPercent = maxPct;
  const minHealth = od.int('minHealthPercent', { min: 0, max: 100 });
  if (minHealth !== undefined) out.minHealthPercent = minHealth;
  return out;
}

function readClientTls(f: Fields): ClientTLSSettings | undefined {
  const t = f.sub('tls', TLS_FIELDS);
  if (!t) return undefined;
  const mode = t.oneOf('mode', TLS_MODES) ?? (t.has('mode') ? undefined : 'DISABLE');
  const out: ClientTLSSettings = { mode: mode ?? 'DISABLE' };
  for (const k of ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'sni', 'caCrl'] as const) {
    const s = t.str(k);
    if (s !== undefined) out[k] = s;
  }
  const sans = t.strList('subjectAltNames');
  if (sans) out.subjectAltNames = sans;
  const skip = t.bool('insecureSkipVerify');
  if (skip !== undefined) out.insecureSkipVerify = skip;
  // Istio's rules: ISTIO_MUTUAL brings its own certificates; MUTUAL needs them (or a credential).
  if (mode === 'ISTIO_MUTUAL') {
    for (const k of ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const) {
      if (t.has(k)) t.issues.add('WEFT_E_CONFLICT', t.at(k), 'ISTIO_MUTUAL uses the mesh certificates; do not set ' + k);
    }
  }
  // No secret store yet (Kubernetes secrets arrive with issue 16): a credentialName could name nothing,
  // and a CRL is not checked by the proxy. Refused here rather than translated into a dangling SDS name.
  if (t.has('credentialName')) t.issues.add('WEFT_E_UNSUPPORTED', t.at('credentialName'), 'not supported yet (no secret store in universal mode): give clientCertificate, privateKey and caCertificates files');
  if (t.has('caCrl')) t.issues.add('WEFT_E_UNSUPPORTED', t.at('caCrl'), 'not supported yet: certificate revocation lists are not checked');
  if (mode === 'MUTUAL' && !t.has('credentialName')) {
    for (const k of ['clientCertificate', 'privateKey'] as const) {
      if (!t.has(k)) t.issues.add('WEFT_E_REQUIRED_FIELD', t.at(k), 'MUTUAL TLS needs clientCertificate and privateKey (or credentialName)');
    }
  }
  return out;
}
