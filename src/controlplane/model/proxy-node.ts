// The identity and shape of one connected proxy, read from its xDS node metadata. Translation takes
// this (never the raw Struct) as its second input. Nothing here is trusted: a node's claims are
// checked field by field and bounded in size, so one malformed registration is refused for that
// stream and never reaches the snapshot every sidecar's EDS is built from.
import { isIP } from 'node:net';
import { fromStruct, type Json, type NodeWire, type StructWire } from '../../api/envoy.js';
import { istioNodeId, nodeClientOf, type NodeClient } from './client-kind.js';
import { ADMIN_ADDRESS_METADATA } from '../../api/mesh-names.js';

export interface ProxyPort {
  /** The port clients name (`reviews:9080`). */
  servicePort: number;
  /** Where other sidecars send traffic for this workload (the inbound listener in explicit mode; the
   * app port itself under transparent capture, which redirects it to the inbound capture port). */
  endpointPort: number;
  /** Where the local app listens. */
  appPort: number;
  protocol: string;
}

/** How traffic reaches the proxy (Istio's node metadata INTERCEPTION_MODE): NONE — the app sends to
 * the proxy's explicit ports (Weft's default, and what a node without the key gets); REDIRECT — every
 * connection is captured (iptables REDIRECT, CNI or eBPF) and the proxy runs Istio's transparent
 * listener layout (virtualOutbound/virtualInbound with original destinations). */
export type InterceptionMode = 'NONE' | 'REDIRECT';

export interface ProxyNode {
  id: string;
  /** Which kind of client (client-kind.ts): it picks the composition the node is served. Parsed
   * nodes always carry it; absent (hand-built nodes in tests and tools) means a Weft proxy. */
  client?: NodeClient;
  /** '' for an Envoy or a proxyless gRPC client that names no service (it is then not registered). */
  service: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  address: string;
  workloadName: string;
  ports: ProxyPort[];
  outboundPort: number;
  inboundPort: number;
  interceptionMode: InterceptionMode;
  /** node.locality as "region/zone/subzone"; absent when the proxy sent none. */
  locality?: string;
  /** The proxy's build version (node.user_agent_version), for metrics only; absent when not sent. */
  version?: string;
  /** Where the proxy's admin listens (node.metadata.WEFT_ADMIN_ADDRESS, a loopback HOST:PORT), shown in
   * /debug/syncz for `weft proxy-config`; absent when not sent. Never used to reach the proxy. */
  adminAddress?: string;
  /** The merged telemetry port (node.metadata.WEFT_TELEMETRY_PORT) the control plane scrapes for its
   * dashboard; absent when the proxy serves none. Monitoring only: no config depends on it. */
  telemetryPort?: number;
}

export type NodeParse = { ok: true; node: ProxyNode } | { ok: false; errors: string[] };

/** Size bounds of what a node may claim (Envoy node ids are ~100 bytes, Istio's metadata a few KiB). */
export const NODE_LIMITS = {
  idChars: 512,
  metadataBytes: 64 * 1024,
  metadataDepth: 16,
  labels: 64,
  ports: 32,
} as const;

const PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'HTTPS', 'TCP', 'TLS']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Kubernetes label syntax: an optional DNS-subdomain prefix, a name of at most 63, a value of at most 63.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function validLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  if (slash < 0) return LABEL_NAME.test(k);
  return DNS_SUBDOMAIN.test(k.slice(0, slash)) && LABEL_NAME.test(k.slice(slash + 1));
}

/** An endpoint address: an IP a peer can send to (not 0.0.0.0, ::, or a multicast group). */
function endpointIpProblem(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'is not an IP address';
  if (ip === '0.0.0.0' || /^[0:]+$/.test(ip)) return 'is the unspecified address';
  if (family === 4 ? /^(22[4-9]|23\d)\./.test(ip) : /^ff/i.test(ip)) return 'is a multicast address';
  return undefined;
}

/** Approximate encoded size and depth of a Struct, walked without recursion and stopped at the limits
 * (a deeply nested Struct must not overflow the stack before it is refused). */
function structProblem(s: StructWire | null | undefined): string | undefined {
  let bytes = 0;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: s, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    // Each level of JSON nesting is three levels of the wire form (Struct → fields → Value).
    if (depth > NODE_LIMITS.metadataDepth * 3 + 2) return `nested deeper than ${NODE_LIMITS.metadataDepth} levels`;
    if (typeof v === 'string') bytes += v.length;
    else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        bytes += k.length + 2;
        stack.push({ v: child, depth: depth + 1 });
      }
    } else bytes += 8;
    if (bytes > NODE_LIMITS.metadataBytes) return `larger than ${NODE_LIMITS.metadataBytes} bytes`;
  }
  return undefined;
}

/** Istio's INTERCEPTION_MODE values; TPROXY (which keeps the source address) is not implemented. */
function interceptionModeOf(v: Json | undefined, errors: string[]): InterceptionMode {
  if (v === undefined || v === 'NONE') return 'NONE';
  if (v === 'REDIRECT') return 'REDIRECT';
  errors.push(
    v === 'TPROXY'
      ? 'node.metadata.INTERCEPTION_MODE: TPROXY is not supported (use REDIRECT, or NONE for explicit mode)'
      : `node.metadata.INTERCEPTION_MODE: expected REDIRECT or NONE, got ${JSON.stringify(v)}`,
  );
  return 'NONE';
}

/** Validate a DiscoveryRequest.node into a ProxyNode, collecting every problem with its field path. */
export function parseProxyNode(node: NodeWire | null | undefined): NodeParse {
  const errors: string[] = [];
  if (!node?.id) return { ok: false, errors: ['node.id: required on the first request of a stream'] };
  if (node.id.length > NODE_LIMITS.idChars)
    return { ok: false, errors: [`node.id: ${node.id.length} characters, more than the limit of ${NODE_LIMITS.idChars}`] };
  if (/[\u0000-\u001f\u007f]/.test(node.id)) return { ok: false, errors: ['node.id: contains control characters'] };
  const tooBig = structProblem(node.metadata);
  if (tooBig) return { ok: false, errors: [`node.metadata: ${tooBig}`] };
  const md = fromStruct(node.metadata);
  const str = (key: string, fallback?: string, pattern?: { re: RegExp; what: string }): string => {
    const v = Object.hasOwn(md, key) ? md[key] : undefined;
    if (typeof v === 'string' && v !== '') {
      if (pattern && !pattern.re.test(v)) {
        errors.push(`node.metadata.${key}: ${JSON.stringify(v.slice(0, 80))} is not ${pattern.what}`);
        return '';
      }
      return v;
    }
    if (v === undefined && fallback !== undefined) return fallback;
    errors.push(`node.metadata.${key}: expected a non-empty string, got ${JSON.stringify(v ?? null)}`);
    return '';
  };
  const dnsLabel = { re: DNS_LABEL, what: 'a DNS label (lower-case letters, digits, "-"; at most 63)' };
  const name = { re: /^[A-Za-z0-9][-A-Za-z0-9_.]{0,252}$/, what: 'a name (letters, digits, "-_."; at most 253)' };
  const port = (key: string, v: Json | undefined, fallback?: number): number => {
    if (v === undefined && fallback !== undefined) return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536) return n;
    errors.push(`node.metadata.${key}: expected a port 1..65535, got ${JSON.stringify(v ?? null)}`);
    return 0;
  };
  const labels: Record<string, string> = {};
  const rawLabels = md.LABELS;
  if (rawLabels !== undefined && (rawLabels === null || typeof rawLabels !== 'object' || Array.isArray(rawLabels))) {
    errors.push('node.metadata.LABELS: expected an object of strings');
  } else if (rawLabels) {
    const entries = Object.entries(rawLabels);
    if (entries.length > NODE_LIMITS.labels) errors.push(`node.metadata.LABELS: ${entries.length} labels, more than the limit of ${NODE_LIMITS.labels}`);
    else
      for (const [k, v] of entries) {
        if (!validLabelKey(k)) errors.push(`node.metadata.LABELS: ${JSON.stringify(k.slice(0, 80))} is not a label key`);
        else if (typeof v !== 'string' || !LABEL_VALUE.test(v)) errors.push(`node.metadata.LABELS.${k}: expected a string label value (at most 63 of letters, digits, "-_.")`);
        else labels[k] = v;
      }
  }
  const interceptionMode = interceptionModeOf(Object.hasOwn(md, 'INTERCEPTION_MODE') ? md.INTERCEPTION_MODE : undefined, errors);
  const ports: ProxyPort[] = [];
  const rawPorts = md.WEFT_PORTS ?? [];
  if (!Array.isArray(rawPorts)) errors.push('node.metadata.WEFT_PORTS: expected a list');
  else if (rawPorts.length > NODE_LIMITS.ports) errors.push(`node.metadata.WEFT_PORTS: ${rawPorts.length} ports, more than the limit of ${NODE_LIMITS.ports}`);
  else
    rawPorts.forEach((p, i) => {
      if (p === null || typeof p !== 'object' || Array.isArray(p)) {
        errors.push(`node.metadata.WEFT_PORTS[${i}]: expected an object`);
        return;
      }
      const servicePort = port(`WEFT_PORTS[${i}].service_port`, p.service_port);
      const protocol = p.protocol === undefined ? 'HTTP' : typeof p.protocol === 'string' ? p.protocol.toUpperCase() : '';
      if (!PROTOCOLS.has(protocol)) errors.push(`node.metadata.WEFT_PORTS[${i}].protocol: expected one of ${[...PROTOCOLS].join(', ')}`);
      if (ports.some((q) => q.servicePort === servicePort)) errors.push(`node.metadata.WEFT_PORTS[${i}].service_port: ${servicePort} is listed twice`);
      const appPort = port(`WEFT_PORTS[${i}].app_port`, p.app_port, servicePort);
      // Captured: peers send to the app's own port and the capture hands it to the inbound listener,
      // which forwards to that same original destination — another endpoint port would reach no app.
      const endpointPort = port(`WEFT_PORTS[${i}].endpoint_port`, p.endpoint_port, interceptionMode === 'REDIRECT' ? appPort : servicePort);
      if (interceptionMode === 'REDIRECT' && endpointPort !== appPort && endpointPort !== 0 && appPort !== 0)
        errors.push(`node.metadata.WEFT_PORTS[${i}].endpoint_port: ${endpointPort} differs from app_port ${appPort}; under INTERCEPTION_MODE REDIRECT peers reach the app on its own port`);
      ports.push({ servicePort, endpointPort, appPort, protocol });
    });
  // The service name becomes part of a hostname: a dot in it would let a node name another namespace's service.
  // Without WEFT_SERVICE, node.cluster names the service; Istio's bootstrap writes it `<service>.<namespace>`.
  const [clusterService, clusterNamespace] = /^[a-z0-9-]+\.[a-z0-9-]+$/.test(node.cluster ?? '') ? node.cluster!.split('.') : [node.cluster, undefined];
  // An Envoy or a proxyless gRPC client need not carry Weft's metadata: Istio's keys (with or
  // without the ISTIO_META_ prefix of the bootstrap's environment) and its node id form stand in.
  const client = nodeClientOf(node, md);
  const lenient = client !== 'weft';
  const istioId = istioNodeId(node.id);
  const istio = (key: string): string | undefined => {
    const v = Object.hasOwn(md, `ISTIO_META_${key}`) ? md[`ISTIO_META_${key}`] : undefined;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const appLabel = typeof labels.app === 'string' && DNS_LABEL.test(labels.app) ? labels.app : undefined;
  const service = str('WEFT_SERVICE', clusterService || (lenient ? (appLabel ?? '') : undefined), dnsLabel);
  // Every address a node lists must be an IP: one hostname would make every sidecar NACK the EDS it lands in.
  const ips = str('INSTANCE_IPS', istio('INSTANCE_IPS') ?? (lenient && istioId && isIP(istioId.ip) ? istioId.ip : '127.0.0.1')).split(',').map((ip) => ip.trim());
  ips.forEach((ip, i) => {
    const problem = endpointIpProblem(ip);
    if (problem) errors.push(`node.metadata.INSTANCE_IPS[${i}]: ${JSON.stringify(ip.slice(0, 80))} ${problem}`);
  });
  const parsed: ProxyNode = {
    id: node.id,
    client,
    service,
    namespace: str('NAMESPACE', clusterNamespace ?? istio('NAMESPACE') ?? istioId?.namespace ?? 'default', dnsLabel),
    labels,
    serviceAccount: str('SERVICE_ACCOUNT', 'default', name),
    address: ips[0],
    workloadName: str('WORKLOAD_NAME', service, name),
    ports,
    outboundPort: port('WEFT_OUTBOUND_PORT', md.WEFT_OUTBOUND_PORT, 15001),
    inboundPort: port('WEFT_INBOUND_PORT', md.WEFT_INBOUND_PORT, 15006),
    interceptionMode,
  };
  const admin = Object.hasOwn(md, ADMIN_ADDRESS_METADATA) ? md[ADMIN_ADDRESS_METADATA] : undefined;
  if (admin !== undefined) {
    if (typeof admin === 'string' && /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):\d{1,5}$/.test(admin)) parsed.adminAddress = admin;
    else errors.push(`node.metadata.${ADMIN_ADDRESS_METADATA}: expected a loopback HOST:PORT, got ${JSON.stringify(typeof admin === 'string' ? admin.slice(0, 80) : admin)}`);
  }
  if (md.WEFT_TELEMETRY_PORT !== undefined) parsed.telemetryPort = port('WEFT_TELEMETRY_PORT', md.WEFT_TELEMETRY_PORT);
  if (typeof node.user_agent_version === 'string' && /^[\w.+-]{1,64}$/.test(node.user_agent_version)) parsed.version = node.user_agent_version;
  const loc = node.locality;
  if (loc && (loc.region || loc.zone || loc.sub_zone)) parsed.locality = `${loc.region ?? ''}/${loc.zone ?? ''}/${loc.sub_zone ?? ''}`;
  return errors.length ? { ok: false, errors } : { ok: true, node: parsed };
}
