// The identity and shape of one connected proxy, read from its xDS node metadata. Translation takes
// this (never the raw Struct) as its second input.
import { fromStruct, type Json, type NodeWire } from '../../api/envoy.js';

export interface ProxyPort {
  /** The port clients name (`reviews:9080`). */
  servicePort: number;
  /** Where other sidecars send traffic for this workload (the inbound listener in explicit mode). */
  endpointPort: number;
  /** Where the local app listens. */
  appPort: number;
  protocol: string;
}

export interface ProxyNode {
  id: string;
  service: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  address: string;
  workloadName: string;
  ports: ProxyPort[];
  outboundPort: number;
  inboundPort: number;
  /** node.locality as "region/zone/subzone"; absent when the proxy sent none. */
  locality?: string;
}

export type NodeParse = { ok: true; node: ProxyNode } | { ok: false; errors: string[] };

/** Validate a DiscoveryRequest.node into a ProxyNode, collecting every problem with its field path. */
export function parseProxyNode(node: NodeWire | null | undefined): NodeParse {
  const errors: string[] = [];
  if (!node?.id) return { ok: false, errors: ['node.id: required on the first request of a stream'] };
  const md = fromStruct(node.metadata);
  const str = (key: string, fallback?: string): string => {
    const v = md[key];
    if (typeof v === 'string' && v !== '') return v;
    if (v === undefined && fallback !== undefined) return fallback;
    errors.push(`node.metadata.${key}: expected a non-empty string, got ${JSON.stringify(v ?? null)}`);
    return '';
  };
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
    for (const [k, v] of Object.entries(rawLabels)) {
      if (typeof v === 'string') labels[k] = v;
      else errors.push(`node.metadata.LABELS.${k}: expected a string`);
    }
  }
  const ports: ProxyPort[] = [];
  const rawPorts = md.WEFT_PORTS ?? [];
  if (!Array.isArray(rawPorts)) errors.push('node.metadata.WEFT_PORTS: expected a list');
  else
    rawPorts.forEach((p, i) => {
      if (p === null || typeof p !== 'object' || Array.isArray(p)) {
        errors.push(`node.metadata.WEFT_PORTS[${i}]: expected an object`);
        return;
      }
      const servicePort = port(`WEFT_PORTS[${i}].service_port`, p.service_port);
      ports.push({
        servicePort,
        endpointPort: port(`WEFT_PORTS[${i}].endpoint_port`, p.endpoint_port, servicePort),
        appPort: port(`WEFT_PORTS[${i}].app_port`, p.app_port, servicePort),
        protocol: typeof p.protocol === 'string' ? p.protocol.toUpperCase() : 'HTTP',
      });
    });
  const service = str('WEFT_SERVICE', node.cluster || undefined);
  const parsed: ProxyNode = {
    id: node.id,
    service,
    namespace: str('NAMESPACE', 'default'),
    labels,
    serviceAccount: str('SERVICE_ACCOUNT', 'default'),
    address: str('INSTANCE_IPS', '127.0.0.1').split(',')[0].trim(),
    workloadName: str('WORKLOAD_NAME', service),
    ports,
    outboundPort: port('WEFT_OUTBOUND_PORT', md.WEFT_OUTBOUND_PORT, 15001),
    inboundPort: port('WEFT_INBOUND_PORT', md.WEFT_INBOUND_PORT, 15006),
  };
  const loc = node.locality;
  if (loc && (loc.region || loc.zone || loc.sub_zone)) parsed.locality = `${loc.region ?? ''}/${loc.zone ?? ''}/${loc.sub_zone ?? ''}`;
  return errors.length ? { ok: false, errors } : { ok: true, node: parsed };
}
